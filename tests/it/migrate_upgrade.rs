//! A database made by the schema before trackers (migrations 0001–0003) upgrades in place with
//! the real `leadsync migrate`, keeps every row, and the daemon started on it keeps syncing.
//!
//! The old database is filled by the real engine: a lead is synced by the running daemon, a
//! command is left pending while Trello fails, and a sheet edit's event is stored unprocessed;
//! those rows are copied into a database migrated only to 0003, which then replaces the live one.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use leadsync::demo::ops::SheetEventDelivery;
use leadsync::demo::world::{SHEET, World};
use leadsync::sandbox::common::Faults;
use leadsync::store::Conn;
use sqlx::Connection;

use crate::e2e::{P, SETTLE, add_lead, pool, world};
use crate::helpers::eventually;

/// Every table of the 0003 schema.
const TABLES: [&str; 8] = [
    "pairs",
    "links",
    "field_states",
    "inbox",
    "outbox",
    "activity",
    "trello_webhooks",
    "row_absences",
];

/// The columns 0003 gave `pairs` (0004 adds `tracker` and `tracker_settings`).
const PAIR_COLUMNS: &str = "name, spreadsheet_id, sheet, board_id, member_id, last_reconcile_at, last_error, created_at, updated_at";
/// The columns 0003 gave `links` (0009 adds `record_deleted_at` and `deletion_archived`).
const LINK_COLUMNS: &str = "pair, lead_id, card_id, card_short_url, row_hint, card_closed, card_deleted, created_at, updated_at, id_assigned_at, id_landed_at";

async fn open(path: &Path) -> Conn {
    Conn::connect(&format!("sqlite://{}?mode=rwc", path.display()))
        .await
        .expect("open")
}

/// Each table's rows as text (every column quoted, ids included), over the columns the table
/// has in `conn` now: taken before the upgrade, it is what must still be there after it.
async fn snapshot(
    conn: &mut Conn,
    columns: Option<&BTreeMap<String, Vec<String>>>,
) -> (BTreeMap<String, Vec<String>>, BTreeMap<String, Vec<String>>) {
    let mut cols = BTreeMap::new();
    let mut rows = BTreeMap::new();
    for table in TABLES {
        let names: Vec<String> = match columns {
            Some(c) => c[table].clone(),
            None => sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "SELECT name FROM pragma_table_info('{table}') ORDER BY cid"
            )))
            .fetch_all(&mut *conn)
            .await
            .expect("columns"),
        };
        let quoted: Vec<String> = names.iter().map(|c| format!("quote({c})")).collect();
        let sql = format!("SELECT {} FROM {table}", quoted.join(" || '|' || "));
        let mut found: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_all(&mut *conn)
            .await
            .expect("rows");
        found.sort();
        rows.insert(table.to_owned(), found);
        cols.insert(table.to_owned(), names);
    }
    (cols, rows)
}

/// Company edited in the sheet while every Trello call fails: the worker decides and commits
/// the command, the dispatcher's first try fails, and the daemon is stopped with it pending.
async fn leave_a_command_pending(w: &mut World) -> i64 {
    w.trello.gate().set_faults(Faults {
        error_rate: 1.0,
        ..Faults::default()
    });
    w.user_edits_cell(P, 2, "Company", "Analytical Engines")
        .await
        .expect("edit");
    let db = pool(w).clone();
    let id: i64 = eventually("a command tried once and pending", SETTLE, || {
        let db = db.clone();
        async move {
            sqlx::query_scalar(
                "SELECT id FROM outbox WHERE status = 'pending' AND attempts >= 1 AND target = 'trello'",
            )
            .fetch_optional(&db)
            .await
            .expect("outbox")
        }
    })
    .await;
    w.stop_app().await.expect("stops");
    w.trello.gate().set_faults(Faults::default());
    id
}

/// A database migrated by sqlx to 0003 exactly as the daemon of that schema left it, holding
/// the live database's rows and `event` stored but not yet processed; answers the event's id.
async fn build_0003_database(live: &Path, old: &Path, event: &SheetEventDelivery) -> i64 {
    let mut conn = open(old).await;
    leadsync::store::MIGRATOR
        .run_to(3, &mut conn)
        .await
        .expect("0001-0003");
    let attach = format!("ATTACH DATABASE '{}' AS live", live.display());
    sqlx::raw_sql(sqlx::AssertSqlSafe(attach))
        .execute(&mut conn)
        .await
        .expect("attach");
    let mut copy =
        format!("INSERT INTO main.pairs ({PAIR_COLUMNS}) SELECT {PAIR_COLUMNS} FROM live.pairs;\n");
    copy.push_str(&format!(
        "INSERT INTO main.links ({LINK_COLUMNS}) SELECT {LINK_COLUMNS} FROM live.links;\n"
    ));
    for table in &TABLES[2..] {
        copy.push_str(&format!(
            "INSERT INTO main.{table} SELECT * FROM live.{table};\n"
        ));
    }
    sqlx::raw_sql(sqlx::AssertSqlSafe(copy))
        .execute(&mut conn)
        .await
        .expect("copy");
    let now = chrono::Utc::now();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO inbox (source, dedupe_key, pair, received_at, body, next_attempt_at, signed_at)
         VALUES ('sheets', $1, $2, $3, $4, $3, $5) RETURNING id",
    )
    .bind(&event.id)
    .bind(P)
    .bind(now.timestamp_millis())
    .bind(event.body.as_bytes())
    .bind(now.timestamp())
    .fetch_one(&mut conn)
    .await
    .expect("pending event");
    sqlx::raw_sql("DETACH DATABASE live")
        .execute(&mut conn)
        .await
        .expect("detach");
    conn.close().await.expect("close");
    id
}

/// Puts `old` where the daemon's database is (with no WAL of the previous file left behind).
fn replace_database(live: &Path, old: &Path) {
    for suffix in ["-wal", "-shm"] {
        let side = format!("{}{suffix}", live.display());
        let _ = std::fs::remove_file(side);
    }
    std::fs::rename(old, live).expect("replace the database");
}

fn run_migrate(config: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_leadsync"))
        .arg("migrate")
        .arg("--config")
        .arg(config)
        .env_remove("LEADSYNC_CONFIG")
        .env_remove("RUST_LOG")
        .output()
        .expect("runs")
}

/// The upgraded schema takes Airtable rows (tried in a transaction that is rolled back, so the
/// daemon never sees them).
async fn assert_airtable_rows_fit(conn: &mut Conn) {
    let mut tx = conn.begin().await.expect("tx");
    sqlx::query(
        "INSERT INTO inbox (source, dedupe_key, pair, received_at, body, next_attempt_at)
         VALUES ('airtable', 'ach1:7:recA', $1, 0, x'7b7d', 0)",
    )
    .bind(P)
    .execute(&mut *tx)
    .await
    .expect("inbox takes source airtable");
    sqlx::query(
        "INSERT INTO outbox (pair, target, kind, payload, idempotency_key, next_attempt_at,
                             created_at, updated_at)
         VALUES ($1, 'airtable', 'write_row', '{}', 'upgrade-test', 0, 0, 0)",
    )
    .bind(P)
    .execute(&mut *tx)
    .await
    .expect("outbox takes target airtable");
    tx.rollback().await.expect("rollback");
}

/// Runs the real `leadsync migrate` on the world's config, then checks that only 0004 ran, that
/// every row is still there with its id and values, and what the upgrade added.
async fn migrate_and_compare(
    w: &World,
    live: &Path,
    columns: &BTreeMap<String, Vec<String>>,
    before: &BTreeMap<String, Vec<String>>,
) {
    let out = run_migrate(&w.config_path());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("applied 4 trackers"), "{stdout}");
    assert!(!stdout.contains("applied 1 "), "{stdout}");

    let mut conn = open(live).await;
    let (_, after) = snapshot(&mut conn, Some(columns)).await;
    assert_eq!(&after, before, "every row keeps its id and values");
    let tracker: String = sqlx::query_scalar("SELECT tracker FROM pairs WHERE name = $1")
        .bind(P)
        .fetch_one(&mut conn)
        .await
        .expect("pair");
    assert_eq!(tracker, "sheets");
    assert_airtable_rows_fit(&mut conn).await;
    conn.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_of_the_schema_before_trackers_upgrades_in_place_and_keeps_syncing_on_sqlite() {
    let mut w = world().await;
    let (lead_id, card) = add_lead(&w, P, 2, "Ada Lovelace", "New").await;
    let command = leave_a_command_pending(&mut w).await;
    // A status edit whose event was stored and acknowledged, then the daemon stopped.
    let spreadsheet = w.pair(P).spreadsheet_id.clone();
    w.google
        .set_cell(&spreadsheet, SHEET, 2, 6, "Qualified")
        .expect("edit");
    let event = w.sheet_event(P, "edit", &[2]);
    let live = w.dir().join("leadsync.db");
    let old = w.dir().join("old.db");
    let event_id = build_0003_database(&live, &old, &event).await;
    replace_database(&live, &old);

    let mut conn = open(&live).await;
    let (columns, before) = snapshot(&mut conn, None).await;
    conn.close().await.expect("close");
    assert!(before["field_states"].len() >= 2, "{before:?}");
    assert!(!before["activity"].is_empty(), "{before:?}");
    let waiting = |table: &str, id: i64| {
        before[table]
            .iter()
            .any(|r| r.starts_with(&format!("{id}|")) && r.contains("'pending'"))
    };
    assert!(
        waiting("inbox", event_id) && waiting("outbox", command),
        "{before:?}"
    );
    let company = |w: &World| {
        let card = w.trello.card(&card.id).expect("card");
        card.custom_texts.get(&w.field_id(P, "Company")).cloned()
    };
    assert_eq!(
        company(&w),
        None,
        "the pending command has not reached Trello"
    );

    migrate_and_compare(&w, &live, &columns, &before).await;

    w.start_app()
        .await
        .expect("the daemon starts on the upgraded database");
    w.settle(SETTLE).await.expect("settles");
    let done: Vec<(i64, String)> = sqlx::query_as(
        "SELECT id, status FROM inbox WHERE id = $1 UNION ALL SELECT id, status FROM outbox WHERE id = $2",
    )
    .bind(event_id)
    .bind(command)
    .fetch_all(pool(&w))
    .await
    .expect("rows");
    assert_eq!(done, [(event_id, "done".into()), (command, "done".into())]);
    let cards = w.cards(P);
    assert_eq!(cards.len(), 1, "the existing link is used: {cards:?}");
    assert_eq!(cards[0].id, card.id);
    assert_eq!(w.list_name(P, &cards[0].id_list), "Qualified");
    assert_eq!(company(&w).as_deref(), Some("Analytical Engines"));
    let links: i64 =
        sqlx::query_scalar("SELECT count(*) FROM links WHERE pair = $1 AND lead_id = $2")
            .bind(P)
            .bind(&lead_id)
            .fetch_one(pool(&w))
            .await
            .expect("links");
    assert_eq!(links, 1);
    w.stop_app().await.expect("stops");
}
