//! The Sheets call minimum (issue 12): a first sync reads the sheet once to plan, writes every
//! new lead's id in one checked `batchUpdate` and their card URLs in a few more, instead of a
//! read, a write and a read-back per 64 dispatched commands. Counted by the Google emulator.

use std::time::{Duration, Instant};

use leadsync::demo::world::{SHEET, World, WorldOptions};
use leadsync::store::Db;
use leadsync::sync::engine::Engine;

const P: &str = "default";
const LEADS: usize = 300;

fn row(i: usize) -> Vec<String> {
    let status = ["New", "Contacted", "Qualified", "Lost"][i % 4];
    [
        "",
        &format!("Lead {i}"),
        &format!("lead{i}@example.com"),
        "",
        "",
        status,
        "",
    ]
    .map(str::to_owned)
    .to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_sync_of_300_leads_costs_at_most_13_sheets_calls() {
    let w = World::start(WorldOptions {
        start_app: false,
        quota_scale: 100,
        ..WorldOptions::default()
    })
    .await
    .expect("world");
    let rows: Vec<Vec<String>> = (0..LEADS).map(row).collect();
    w.google
        .set_rows(&w.pair(P).spreadsheet_id, SHEET, 2, &rows)
        .expect("rows");
    let db = Db::connect(&w.settings.database.url).await.expect("db");
    db.migrate().await.expect("migrate");
    let (trello, sheets) = w.clients().expect("clients");
    let trackers = leadsync::connectors::trackers_with(sheets, None);
    let board = leadsync::connectors::board(trello);
    let engine = Engine::build(&w.settings, db.clone(), board, trackers)
        .await
        .expect("engine");
    let google = w.google.gate().calls();
    google.clear();

    engine.reconciler.reconcile(P, false).await.expect("plan");
    let started = Instant::now();
    loop {
        let report = engine.dispatcher.run_once().await.expect("round");
        let left: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM outbox WHERE status IN ('pending', 'in_flight')",
        )
        .fetch_one(&db.pool)
        .await
        .expect("count");
        if left == 0 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "{left} commands still queued"
        );
        if report.claimed == 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    let rows = w.rows(P);
    let done = rows
        .iter()
        .filter(|r| !r[0].is_empty() && r[7].starts_with("https://trello.com/c/"))
        .count();
    assert_eq!(done, LEADS, "every row has its id and its card's URL");
    assert_eq!(w.cards(P).len(), LEADS);
    let calls: Vec<String> = (google.records().into_iter())
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    let writes = calls.iter().filter(|c| !c.starts_with("GET")).count();
    assert!(
        calls.len() <= 13 && writes <= 4,
        "{} Sheets calls ({writes} writes) for a first sync of {LEADS} leads, expected at \
         most 13: one read to plan, then per batch a read, a batchUpdate and a read-back for \
         the ids and at most three for the card URLs: {calls:#?}",
        calls.len()
    );
}
