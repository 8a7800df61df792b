//! End to end, recovery: a lost database, a deleted sheet row, and a daemon killed with SIGKILL
//! in the middle of sending its commands.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use leadsync::connectors::trello::sandbox::SandboxCard;
use leadsync::demo::world::{SHEET, World, WorldOptions};
use leadsync::sandbox::common::Faults;

use crate::e2e::{
    CARD, EMAIL, ID, P, SETTLE, STATUS, add_lead, assert_sides_equal, pool, world, writes,
};
use crate::helpers::eventually;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_database_is_rebuilt_by_reconciliation_without_duplicates_on_sqlite() {
    let mut w = world().await;
    for (row, name) in [(2, "Linus"), (3, "Margaret"), (4, "Dennis")] {
        add_lead(&w, P, row, name, "New").await;
    }
    let rows_before = w.rows(P);
    let cards_before = w.cards(P);

    w.stop_app().await.expect("stops");
    for suffix in ["", "-wal", "-shm"] {
        let file = w.dir().join(format!("leadsync.db{suffix}"));
        if file.exists() {
            std::fs::remove_file(&file).expect("delete the database");
        }
    }
    w.trello.gate().calls().clear();
    w.google.gate().calls().clear();
    w.start_app().await.expect("starts on an empty database");
    w.reconcile(SETTLE).await.expect("reconciles");

    assert_eq!(w.rows(P), rows_before, "the card cells are unchanged");
    let view = |cards: &[SandboxCard]| -> Vec<String> {
        cards
            .iter()
            .map(|c| {
                format!(
                    "{} {} {} {:?} {} {:?}",
                    c.id, c.name, c.id_list, c.desc, c.closed, c.custom_texts
                )
            })
            .collect()
    };
    assert_eq!(
        view(&w.cards(P)),
        view(&cards_before),
        "no card created, changed or archived"
    );
    assert_eq!(
        writes(&w.trello.gate().calls()),
        0,
        "no Trello write at all"
    );
    assert_eq!(writes(&w.google.gate().calls()), 0, "no sheet write at all");
    let links: Vec<(String, Option<String>)> =
        sqlx::query_as("SELECT lead_id, card_id FROM links WHERE pair = $1 ORDER BY lead_id")
            .bind(P)
            .fetch_all(pool(&w))
            .await
            .expect("links");
    let mut expected: Vec<(String, Option<String>)> = cards_before
        .iter()
        .map(|c| (crate::e2e::marker(c), Some(c.id.clone())))
        .collect();
    expected.sort();
    assert_eq!(links, expected, "every link rebuilt from the markers");

    // The rebuilt links carry changes again.
    w.user_edits_cell(P, 3, "Status", "Contacted")
        .await
        .expect("edit");
    w.settle(SETTLE).await.expect("settles");
    let margaret = w.card_named(P, "Margaret").expect("card");
    assert_eq!(w.list_name(P, &margaret.id_list), "Contacted");
    assert_eq!(w.cards(P).len(), 3);
    assert_sides_equal(&w, P);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_row_archives_its_card_only_after_two_reads_a_minute_apart() {
    let w = world().await;
    let (gone_id, gone) = add_lead(&w, P, 2, "Row To Delete", "Contacted").await;
    let (_, kept) = add_lead(&w, P, 3, "Row To Keep", "New").await;

    let spreadsheet = &w.pair(P).spreadsheet_id;
    w.google
        .delete_row(spreadsheet, SHEET, 2)
        .expect("delete row");
    w.send_sheet_event(P, "change", &[]).await.expect("event");
    w.settle(SETTLE).await.expect("settles");
    w.reconcile(SETTLE).await.expect("reconciles");
    assert!(
        !w.trello.card(&gone.id).expect("card").closed,
        "one miss is not enough"
    );
    w.reconcile(SETTLE).await.expect("reconciles");
    assert!(
        !w.trello.card(&gone.id).expect("card").closed,
        "two misses within a minute are not enough"
    );

    let moved = sqlx::query(
        "UPDATE row_absences SET first_missed_at = first_missed_at - 61000
         WHERE pair = $1 AND lead_id = $2",
    )
    .bind(P)
    .bind(&gone_id)
    .execute(pool(&w))
    .await
    .expect("age the first miss");
    assert_eq!(moved.rows_affected(), 1, "the first miss was recorded");
    w.reconcile(SETTLE).await.expect("reconciles");

    let archived = w.trello.card(&gone.id).expect("card");
    assert!(archived.closed, "the card is archived");
    assert!(!w.trello.card(&kept.id).expect("card").closed);
    let rows = w.rows(P);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0][1], "Row To Keep");
    w.reconcile(SETTLE).await.expect("reconciles");
    assert_eq!(
        w.rows(P).len(),
        1,
        "the archived card does not come back as a row"
    );
    assert_eq!(w.cards(P).len(), 2);
}

/// The real binary, killed with SIGKILL if a test fails before it does.
pub struct Daemon(pub Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs `leadsync serve` on the world's config and waits until it is ready.
pub async fn spawn_daemon(w: &World) -> Daemon {
    let child = Command::new(env!("CARGO_BIN_EXE_leadsync"))
        .args(["serve", "--config"])
        .arg(w.config_path())
        .current_dir(w.dir())
        .env_remove("LEADSYNC_CONFIG")
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawns");
    let daemon = Daemon(child);
    let url = format!("{}/readyz", w.base_url());
    eventually("the daemon is ready", SETTLE, || {
        let url = url.clone();
        async move {
            let r = reqwest::get(url).await.ok()?;
            r.status().is_success().then_some(())
        }
    })
    .await;
    daemon
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_dispatch_then_restart_loses_no_change_and_duplicates_no_card() {
    crate::helpers::test_log();
    let mut w = World::start(WorldOptions {
        start_app: false,
        ..WorldOptions::default()
    })
    .await
    .expect("world");
    let mut daemon = spawn_daemon(&w).await;
    w.register_webhooks().await.expect("webhooks");
    w.user_edits_rows(P, 2, &[&["", "Before Crash", "", "", "", "New", ""]])
        .await
        .expect("edit");
    eventually("the first card's url reaches the sheet", SETTLE, || async {
        (!w.rows(P)[0][CARD].is_empty()).then_some(())
    })
    .await;

    // From now on Trello makes every change but answers nothing for a long while.
    w.trello.gate().set_faults(Faults {
        hang_rate: 1.0,
        hang_for: Duration::from_secs(60),
        after_handler: true,
        ..Faults::default()
    });
    w.user_edits_rows(
        P,
        3,
        &[
            &["", "Mid One", "one@example.com", "", "", "Contacted", ""],
            &["", "Mid Two", "two@example.com", "", "", "Qualified", ""],
        ],
    )
    .await
    .expect("edit");
    w.user_edits_cell(P, 2, "Status", "Lost")
        .await
        .expect("edit");
    // A new row's id is written before its card is made, and the real binary paces the
    // Sheets API at its real quota: the creates go out in a dispatch round after the one the
    // hanging card update holds up to the client's 30 s timeout.
    eventually("the new cards exist in Trello", SETTLE * 3, || async {
        (w.cards(P).len() == 3).then_some(())
    })
    .await;
    daemon.0.kill().expect("SIGKILL");
    daemon.0.wait().expect("reaped");
    w.trello.gate().set_faults(Faults::default());

    w.start_app().await.expect("restarts on the same database");
    w.settle(SETTLE).await.expect("settles");
    w.reconcile(SETTLE).await.expect("reconciles");

    let cards = w.cards(P);
    assert_eq!(cards.len(), 3, "no duplicate card: {cards:?}");
    let rows = w.rows(P);
    let expect = [
        ("Before Crash", "Lost", ""),
        ("Mid One", "Contacted", "one@example.com"),
        ("Mid Two", "Qualified", "two@example.com"),
    ];
    for (row, (name, status, email)) in rows.iter().zip(expect) {
        assert_eq!(row[1], name);
        assert_eq!(row[STATUS], status, "{row:?}");
        assert_eq!(row[EMAIL], email);
        assert!(!row[ID].is_empty() && !row[CARD].is_empty(), "{row:?}");
        let card = w.card_named(P, name).expect("card");
        let text = card.custom_texts.get(&w.field_id(P, "Email")).cloned();
        assert_eq!(text.unwrap_or_default(), email, "{card:?}");
    }
    assert_sides_equal(&w, P);
}
