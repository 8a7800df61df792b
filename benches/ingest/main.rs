//! Ingest benchmark (not a test; `cargo bench --bench ingest`), in two parts measured in one run
//! against a bare axum handler answering 200:
//!
//! - **app**: signed Trello webhooks posted over loopback to the real app in this process
//!   (verify, route, group-committed durable insert; the sync engine off);
//! - **postgres** ([`postgres`]): the app part again on PostgreSQL (`LEADSYNC_BENCH_PG_URL`, else
//!   `LEADSYNC_TEST_PG_URL`; skipped, saying so, without one), as one replica and as two
//!   replicas sharing the database with the load spread across both;
//! - **serve** ([`serve`]): signed Apps Script events posted to the real `leadsync serve` binary
//!   running with its engine on against the sandbox emulators.
//!
//! Each prints events/s, p50/p99/max latency, 503s, the ratio to the bare handler and `/healthz`
//! latency seen by a prober during the load. Bounded: `LEADSYNC_BENCH_EVENTS` (default 2000, at
//! most 20000) events per target and level, `LEADSYNC_BENCH_CONCURRENCY` (one level instead of
//! 16 and 64, at most 256), `LEADSYNC_BENCH_PART` (`app`, `postgres` or `serve`; all by default), and 60 s
//! per target.

mod load;
mod postgres;
mod serve;

use anyhow::Context as _;
use axum::Router;
use axum::body::Bytes;
use axum::http::StatusCode;
use axum::routing::post;
use leadsync::app::App;
use leadsync::config::{self, Sources};
use leadsync::inbound::signature::TrelloVerifier;
use secrecy::SecretString;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use load::{Delivery, drive, drive_probed, env_count, ms};

const SECRET: &str = "bench-trello-app-secret";
const PUBLIC_URL: &str = "https://sync.example.com";
const BOARD: &str = "609402807c6be98b8289c55e";
const WARMUP: usize = 64;

/// An `updateCard` (card moved) delivery in the shape of the recorded Trello payloads.
fn trello_body(action_id: &str, n: usize) -> String {
    json!({
        "model": {
            "id": BOARD, "name": "Sales pipeline", "desc": "", "descData": null,
            "closed": false, "idOrganization": "609402807c6be98b8289c559", "pinned": false,
            "url": "https://trello.com/b/Wp8daJt3/sales-pipeline",
            "shortUrl": "https://trello.com/b/Wp8daJt3",
            "prefs": {"permissionLevel": "private", "voting": "disabled", "comments": "members",
                      "background": "blue", "cardAging": "regular"},
            "labelNames": {"green": "", "yellow": "", "orange": "", "red": "", "purple": ""}
        },
        "action": {
            "id": action_id,
            "idMemberCreator": "5b8e9a3d1c2f4e0012345678",
            "type": "updateCard",
            "date": "2026-11-21T10:15:02.123Z",
            "data": {
                "card": {"id": format!("6094{n:020x}"), "name": format!("Lead {n} – Zoë Ångström"),
                         "idShort": n, "shortLink": "aBcD1234", "idList": "60940280aaaa000000000002"},
                "old": {"idList": "60940280aaaa000000000001"},
                "board": {"id": BOARD, "name": "Sales pipeline", "shortLink": "Wp8daJt3"},
                "listBefore": {"id": "60940280aaaa000000000001", "name": "New"},
                "listAfter": {"id": "60940280aaaa000000000002", "name": "Contacted"}
            },
            "limits": {},
            "display": {
                "translationKey": "action_move_card_from_list_to_list",
                "entities": {
                    "card": {"type": "card", "idList": "60940280aaaa000000000002",
                             "id": format!("6094{n:020x}"), "shortLink": "aBcD1234",
                             "text": format!("Lead {n}")},
                    "listBefore": {"type": "list", "id": "60940280aaaa000000000001", "text": "New"},
                    "listAfter": {"type": "list", "id": "60940280aaaa000000000002", "text": "Contacted"},
                    "memberCreator": {"type": "member", "id": "5b8e9a3d1c2f4e0012345678",
                                      "username": "adalovelace", "text": "Ada Lovelace"}
                }
            },
            "memberCreator": {"id": "5b8e9a3d1c2f4e0012345678", "activityBlocked": false,
                              "avatarHash": null, "fullName": "Ada Lovelace",
                              "initials": "AL", "username": "adalovelace"}
        }
    })
    .to_string()
}

fn deliveries(prefix: &str, count: usize) -> anyhow::Result<Vec<Delivery>> {
    let signer = TrelloVerifier::new(&SecretString::from(SECRET), vec![])
        .map_err(|e| anyhow::anyhow!("signer: {e}"))?;
    let callback = format!("{PUBLIC_URL}/webhooks/trello");
    // Unique per run too, so a rerun never meets duplicates.
    let run = chrono::Utc::now().timestamp_millis();
    Ok((0..count)
        .map(|n| {
            let body = trello_body(&format!("{prefix}{run:x}{n:010x}"), n);
            let signature = signer.sign(body.as_bytes(), &callback);
            Delivery {
                body: Bytes::from(body),
                headers: vec![("x-trello-webhook", signature)],
            }
        })
        .collect())
}

/// The real app with one pair on [`BOARD`], so every event is routed and stored, on a SQLite
/// file in `dir`.
async fn start_app(dir: &std::path::Path) -> anyhow::Result<(App, String)> {
    let url = format!("sqlite://{}", dir.join("leadsync.db").display());
    start_app_on(dir, &url).await
}

/// [`start_app`] on the database of `database_url`.
async fn start_app_on(dir: &std::path::Path, database_url: &str) -> anyhow::Result<(App, String)> {
    let file = dir.join("leadsync.toml");
    let toml = format!(
        "[server]\nbind = \"127.0.0.1:0\"\npublic_url = \"{PUBLIC_URL}\"\n\
         [database]\nurl = \"{database_url}\"\n[trello]\napi_secret = \"{SECRET}\"\n\
         [sync]\non_card_archived = \"ignore\"\n[[pairs]]\nname = \"bench\"\nspreadsheet_id = \"bench-sheet\"\nsheet = \"Leads\"\n\
         board_id = \"{BOARD}\"\n[pairs.status_lists]\nNew = \"New\"\n"
    );
    std::fs::write(&file, toml).context("writing the bench config")?;
    let settings = config::load(&Sources {
        file: Some(file),
        ..Sources::default()
    })?;
    // Ingest only: the sync engine would resolve the pair against Trello, which is not here.
    let app = App::build_with(settings, leadsync::app::EngineMode::Off).await?;
    let url = format!("http://{}/webhooks/trello", app.local_addr());
    Ok((app, url))
}

async fn start_bare(shutdown: CancellationToken) -> anyhow::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/webhooks/trello", listener.local_addr()?);
    let router = Router::new().route(
        "/webhooks/trello",
        post(|_: Bytes| async { StatusCode::OK }),
    );
    tokio::spawn(async move {
        let serve = axum::serve(listener, router)
            .with_graceful_shutdown(async move { shutdown.cancelled().await });
        if let Err(err) = serve.await {
            eprintln!("bare server: {err}");
        }
    });
    Ok(url)
}

async fn bench() -> anyhow::Result<()> {
    let events = env_count("LEADSYNC_BENCH_EVENTS", 2000, 20_000);
    let levels: Vec<usize> = match std::env::var("LEADSYNC_BENCH_CONCURRENCY") {
        Ok(_) => vec![env_count("LEADSYNC_BENCH_CONCURRENCY", 32, 256)],
        Err(_) => vec![16, 64],
    };
    let part = std::env::var("LEADSYNC_BENCH_PART").unwrap_or_default();
    anyhow::ensure!(
        ["", "app", "postgres", "serve"].contains(&part.as_str()),
        "LEADSYNC_BENCH_PART must be app, postgres or serve (or unset for all), not {part:?}"
    );
    let shutdown = CancellationToken::new();
    let bare_url = start_bare(shutdown.clone()).await?;
    if part.is_empty() || part == "app" {
        app_part(events, &levels, &bare_url).await?;
    }
    if part.is_empty() || part == "postgres" {
        postgres::part(events, &levels, &bare_url).await?;
    }
    if part.is_empty() || part == "serve" {
        serve::part(events, &levels, &bare_url).await?;
    }
    shutdown.cancel();
    Ok(())
}

/// The app in this process, engine off: ingest alone.
async fn app_part(events: usize, levels: &[usize], bare_url: &str) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let shutdown = CancellationToken::new();
    let (app, app_url) = start_app(dir.path()).await?;
    let db = app.state().db.clone();
    let health_url = format!("http://{}/healthz", app.local_addr());
    let app_task = tokio::spawn(app.run_until_stopped(shutdown.clone()));
    println!(
        "ingest, app in this process (engine off): {events} signed Trello webhooks (~{} bytes \
         each) per target and level, loopback",
        trello_body("x", 0).len()
    );
    let mut accepted = 0;
    for (round, &concurrency) in levels.iter().enumerate() {
        let urls = (app_url.as_str(), bare_url, health_url.as_str());
        accepted += level(urls, events, concurrency, round).await?;
    }
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM inbox")
        .fetch_one(&db.pool)
        .await?;
    println!("inbox rows: {stored} (= {accepted} accepted + warm-ups)");
    shutdown.cancel();
    app_task.await??;
    Ok(())
}

/// One concurrency level: warm-up, then the bare server and leadsync, each with fresh ids.
async fn level(
    (app_url, bare_url, health_url): (&str, &str, &str),
    events: usize,
    concurrency: usize,
    round: usize,
) -> anyhow::Result<usize> {
    let client = load::client(concurrency)?;
    for (name, url, prefix) in [("bare", bare_url, "b"), ("leadsync", app_url, "a")] {
        let ids = format!("w{round}{prefix}");
        let warm = drive(&client, url, deliveries(&ids, WARMUP)?, concurrency).await;
        anyhow::ensure!(warm.accepted == WARMUP, "{name}: warm-up requests failed");
    }
    let (b, a) = (format!("b{round}-"), format!("a{round}-"));
    let bare = drive(&client, bare_url, deliveries(&b, events)?, concurrency).await;
    let (app, probes) = drive_probed(
        &client,
        app_url,
        health_url,
        deliveries(&a, events)?,
        concurrency,
    )
    .await?;
    println!("-- app, concurrency {concurrency}");
    bare.print("bare axum 200");
    app.print("leadsync ingest");
    probes.print("that load");
    print_ratio("leadsync/bare", concurrency, &app, &bare);
    Ok(app.accepted)
}

pub(crate) fn print_ratio(
    what: &str,
    concurrency: usize,
    app: &load::Outcome,
    bare: &load::Outcome,
) {
    println!(
        "ratio {what} at c={concurrency}: throughput {:.3}, p50 latency x{:.1}, p99 latency x{:.1}",
        app.rate() / bare.rate(),
        ms(app.p(0.50)) / ms(bare.p(0.50)).max(f64::EPSILON),
        ms(app.p(0.99)) / ms(bare.p(0.99)).max(f64::EPSILON),
    );
}

fn main() -> anyhow::Result<()> {
    // cargo bench passes `--bench`; any argument is accepted and ignored.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(bench())
}
