//! Several replicas on one PostgreSQL database (CONTRACT §9), webhooks spread across them as a
//! load balancer would: one replica leads the engine, the others store what they are sent; a
//! leader stopped (gracefully, or the real binary by SIGKILL) under load hands over to another,
//! and no acknowledged event is lost, no lead gets two cards. Needs `LEADSYNC_TEST_PG_URL`
//! (skipped loudly without it).

use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::time::Duration;

use leadsync::connectors::trello::sandbox::sign;
use leadsync::demo::world::{SHEET, World, WorldOptions};
use leadsync::sync::mapping::split_description;
use secrecy::ExposeSecret as _;

use crate::e2e::{CARD, P, STATUS, assert_sides_equal};
use crate::helpers::eventually;

pub(crate) const LIMIT: Duration = Duration::from_secs(120);

/// A world on `url`. Under load, an event can arrive after an id leadsync wrote into a later
/// row: its rows without an id are left to a reconciliation (by design), so the load tests
/// reconcile every `reconcile_secs` (0: only on request).
pub(crate) async fn world_on(url: String, start_app: bool, reconcile_secs: u64) -> World {
    crate::e2e::world_with(WorldOptions {
        database_url: Some(url),
        start_app,
        quota_scale: 1000,
        reconcile_interval_secs: reconcile_secs,
        ..WorldOptions::default()
    })
    .await
}

/// Types lead `i` into its row and posts its event to `base`; the answer's status.
async fn post_lead(w: &World, base: &str, i: u32) -> reqwest::StatusCode {
    let row = i + 2;
    let name = format!("Lead {i}");
    let cells = ["", name.as_str(), "", "", "", "New", ""];
    (w.google
        .set_rows(&w.pair(P).spreadsheet_id, SHEET, row, &[&cells]))
    .expect("type");
    let event = w.sheet_event(P, "edit", &[row]);
    w.post_sheet_event_to(base, &event).await.expect("posted")
}

/// Forwards the Trello deliveries held so far, in turn to each of `targets`, signed for the
/// one public callback URL as Trello signs them; answers how many.
async fn forward_trello(w: &World, targets: &[&str]) -> usize {
    let jobs = w.trello.take_held_deliveries();
    let client = reqwest::Client::new();
    for (i, job) in jobs.iter().enumerate() {
        let path = &job.url[job.url.find("/webhooks/").expect("a webhook path")..];
        let signature = sign(w.trello.api_secret(), &job.body, &job.url);
        let status = client
            .post(format!("{}{path}", targets[i % targets.len()]))
            .header("content-type", "application/json")
            .header("x-trello-webhook", signature)
            .body(job.body.clone())
            .send()
            .await
            .expect("delivered")
            .status();
        assert!(status.is_success(), "{status}");
    }
    jobs.len()
}

/// Every row has its card, and each lead exactly one.
fn assert_one_card_per_row(w: &World, leads: usize) {
    let rows = w.rows(P);
    assert_eq!(rows.len(), leads, "{rows:?}");
    let mut per_lead: HashMap<String, usize> = HashMap::new();
    for card in w.cards(P) {
        let marker = split_description(&card.desc).1.expect("marked").to_string();
        *per_lead.entry(marker).or_default() += 1;
    }
    assert_eq!(per_lead.len(), leads, "one card per lead, none twice");
    for row in &rows {
        assert_eq!(per_lead.get(&row[0]), Some(&1), "{row:?}");
    }
}

async fn every_row_has_its_card(w: &World, leads: usize) {
    eventually("every row has its card", LIMIT, || async {
        let rows = w.rows(P);
        (rows.len() == leads && rows.iter().all(|r| !r[CARD].is_empty())).then_some(())
    })
    .await;
}

pub(crate) fn world_leads(w: &World) -> bool {
    (w.state().and_then(|s| s.engine.as_ref())).is_some_and(|e| e.is_leader())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_share_the_work_of_one_database() {
    let test = "two_replicas_share_the_work_of_one_database";
    let Some(url) = crate::postgres::fresh_database(test).await else {
        return;
    };
    let w = world_on(url, true, 0).await;
    eventually("the first daemon leads", LIMIT, || async {
        world_leads(&w).then_some(())
    })
    .await;
    let b = w.start_replica().await.expect("second replica");
    let targets = [w.base_url(), b.base_url.clone()];
    let leads = 10;
    for i in 0..leads {
        let status = post_lead(&w, &targets[i as usize % 2], i).await;
        assert!(status.is_success(), "{status}");
        // One at a time: no event older than an id written since (see `world_on`).
        every_row_has_its_card(&w, i as usize + 1).await;
    }
    assert!(world_leads(&w) && !b.is_leader(), "one leader");

    // Trello's webhooks, spread across both replicas.
    w.trello.hold_deliveries(true);
    for card in w.cards(P) {
        w.user_moves_card(P, &card.id, "Contacted").expect("move");
    }
    assert!(w.trello.wait_deliveries(LIMIT).await);
    let targets: Vec<&str> = targets.iter().map(String::as_str).collect();
    assert_eq!(forward_trello(&w, &targets).await, leads as usize);
    eventually("the sheet follows every move", LIMIT, || async {
        w.rows(P)
            .iter()
            .all(|r| r[STATUS] == "Contacted")
            .then_some(())
    })
    .await;
    assert_sides_equal(&w, P);
    assert_one_card_per_row(&w, leads as usize);

    // The follower's `POST /admin/reconcile` reaches the leader's reconciler (no periodic
    // reconciliation in this world: only the request can make one).
    let token = w.settings.server.admin_token.expose_secret().to_owned();
    let client = reqwest::Client::new();
    let answer = client
        .post(format!("{}/admin/reconcile", b.base_url))
        .bearer_auth(&token)
        .send()
        .await
        .expect("reconcile");
    assert_eq!(answer.status(), reqwest::StatusCode::ACCEPTED);
    eventually("the leader reconciles", LIMIT, || async {
        let status: serde_json::Value = (client.get(format!("{}/admin/status", b.base_url)))
            .bearer_auth(&token)
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        assert_eq!(status["leader"], false, "{status}");
        status["pairs"][0]["last_reconcile_at"].as_str().map(|_| ())
    })
    .await;
    b.stop().await.expect("stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_leader_hands_over_under_load() {
    let test = "a_stopped_leader_hands_over_under_load";
    let Some(url) = crate::postgres::fresh_database(test).await else {
        return;
    };
    let mut w = world_on(url, true, 2).await;
    eventually("the first daemon leads", LIMIT, || async {
        world_leads(&w).then_some(())
    })
    .await;
    let b = w.start_replica().await.expect("second replica");
    let leads = 24;
    for i in 0..leads {
        if i == leads / 2 {
            // Events the leader acknowledged may still wait in the inbox or the outbox.
            w.stop_app().await.expect("the leader stops");
        }
        // Alternately to each while both run; then all to the replica left.
        let base = if i % 2 == 0 && i < leads / 2 {
            w.base_url()
        } else {
            b.base_url.clone()
        };
        let status = post_lead(&w, &base, i).await;
        assert!(status.is_success(), "{status}");
    }
    eventually("the other replica leads", LIMIT, || async {
        b.is_leader().then_some(())
    })
    .await;
    every_row_has_its_card(&w, leads as usize).await;
    assert_sides_equal(&w, P);
    assert_one_card_per_row(&w, leads as usize);
    b.stop().await.expect("stops");
}

/// The real `leadsync serve` on the world's config, listening on `port`.
struct Daemon(std::process::Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn spawn_daemon(w: &World, port: u16) -> Daemon {
    let child = Command::new(env!("CARGO_BIN_EXE_leadsync"))
        .args(["serve", "--config"])
        .arg(w.config_path())
        .current_dir(w.dir())
        .env_remove("LEADSYNC_CONFIG")
        .env_remove("RUST_LOG")
        .env("LEADSYNC__SERVER__BIND", format!("127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawns");
    let url = format!("http://127.0.0.1:{port}/readyz");
    eventually("the daemon is ready", LIMIT, || {
        let url = url.clone();
        async move {
            let r = reqwest::get(url).await.ok()?;
            r.status().is_success().then_some(())
        }
    })
    .await;
    Daemon(child)
}

/// Whether the daemon at `base` says it leads (`leadsync_leader 1` in its metrics).
async fn leads(base: &str) -> bool {
    let Ok(r) = reqwest::get(format!("{base}/metrics")).await else {
        return false;
    };
    r.text()
        .await
        .is_ok_and(|t| t.contains("leadsync_leader 1"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_killed_with_sigkill_hands_over_and_loses_nothing() {
    let test = "a_leader_killed_with_sigkill_hands_over_and_loses_nothing";
    let Some(url) = crate::postgres::fresh_database(test).await else {
        return;
    };
    let w = world_on(url, false, 2).await;
    let a_port = w.base_url().rsplit(':').next().and_then(|p| p.parse().ok());
    let mut a = spawn_daemon(&w, a_port.expect("a port")).await;
    w.register_webhooks().await.expect("webhooks");
    let a_base = w.base_url();
    eventually("the first daemon leads", LIMIT, || leads_then(&a_base)).await;
    let b_port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let b = spawn_daemon(&w, b_port).await;
    let b_base = format!("http://127.0.0.1:{b_port}");
    assert!(!leads(&b_base).await, "one leader");
    let total = 30;
    let mut acked = 0;
    for i in 0..total {
        // Alternately to each while the leader lives; after the kill, all to the survivor
        // (an event the dead one refused is sent again there, as the Apps Script retries).
        let base = if i % 2 == 0 && i < total / 2 {
            &a_base
        } else {
            &b_base
        };
        let mut status = post_lead(&w, base, i).await;
        if !status.is_success() {
            status = post_lead(&w, &b_base, i).await;
        }
        assert!(status.is_success(), "{status}");
        acked += 1;
        if i == total / 2 {
            a.0.kill().expect("SIGKILL");
            a.0.wait().expect("reaped");
        }
    }
    eventually("the survivor leads", LIMIT, || leads_then(&b_base)).await;
    every_row_has_its_card(&w, acked).await;
    assert_one_card_per_row(&w, acked);
    drop((a, b));
}

async fn leads_then(base: &str) -> Option<()> {
    leads(base).await.then_some(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_that_loses_its_lock_stops_and_leads_again_when_it_is_free() {
    let test = "a_leader_that_loses_its_lock_stops_and_leads_again_when_it_is_free";
    let Some(url) = crate::postgres::fresh_database(test).await else {
        return;
    };
    let w = world_on(url.clone(), true, 0).await;
    eventually("the daemon leads", LIMIT, || async {
        world_leads(&w).then_some(())
    })
    .await;
    // Its lock's session ends (a server restart, a network cut), and someone else takes
    // the lock before it can ask again. (`pg_locks` shows every database's locks: only this
    // test's database is meant.)
    let mut other = leadsync::store::postgres::connect(&url)
        .await
        .expect("connect");
    let key = leadsync::store::leader::LEADER_KEY;
    let ended: bool = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' \
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
         AND granted AND objsubid = 1 AND classid::bigint = ($1 >> 32) \
         AND objid::bigint = ($1 & 4294967295)",
    )
    .bind(key)
    .fetch_one(&mut other)
    .await
    .expect("terminate");
    assert!(ended);
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(key)
        .execute(&mut other)
        .await
        .expect("lock");
    eventually("the daemon knows it lost the lead", LIMIT, || async {
        (!world_leads(&w)).then_some(())
    })
    .await;
    // Stored while it waits; worked on once it leads again, by loops started afresh.
    let status = post_lead(&w, &w.base_url(), 0).await;
    assert!(status.is_success(), "{status}");
    sqlx::Connection::close(other).await.expect("close");
    eventually("the daemon leads again", LIMIT, || async {
        world_leads(&w).then_some(())
    })
    .await;
    every_row_has_its_card(&w, 1).await;
    assert_sides_equal(&w, P);
}
