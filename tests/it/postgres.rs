//! `database.url = "postgres://…"` (CONTRACT §9): `leadsync migrate` builds the schema on a
//! real server (`LEADSYNC_TEST_PG_URL`, from `.ci/pg-cluster start`; without it the tests say
//! so on the terminal and check nothing), and the daemon syncs a lead end to end on it.

use std::io::Write;
use std::process::Command;

use sqlx::Connection;

const BIN: &str = env!("CARGO_BIN_EXE_leadsync");

fn leadsync(dir: &std::path::Path, url: &str) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir)
        .env_remove("LEADSYNC_CONFIG")
        .env_remove("RUST_LOG")
        .env("LEADSYNC__TRELLO__API_BASE", "http://127.0.0.1:9/1")
        .env("LEADSYNC__GOOGLE__SHEETS_API_BASE", "http://127.0.0.1:9/v4")
        .env("LEADSYNC__DATABASE__URL", url);
    cmd
}

#[tokio::test]
async fn migrate_builds_the_postgres_schema_once() {
    let Ok(server) = std::env::var("LEADSYNC_TEST_PG_URL") else {
        // Straight to the terminal: libtest captures eprintln! of a passing test.
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED postgres::migrate_builds_the_postgres_schema_once: LEADSYNC_TEST_PG_URL is \
             not set (url=$(.ci/pg-cluster start) gives one)"
        );
        return;
    };
    let url = leadsync::store::postgres::create_scratch_database(&server, "leadsync_it")
        .await
        .expect("create database");
    let dir = tempfile::tempdir().expect("tempdir");

    let first = leadsync(dir.path(), &url)
        .arg("migrate")
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&first.stdout);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    for applied in [
        "1 initial",
        "4 trackers",
        "7 notion",
        "8 mirrors",
        "9 record tombstones",
        "10 mirror pending",
        "11 sheet blanks",
        "12 deferrable lead keys",
    ] {
        assert!(stdout.contains(&format!("applied {applied}")), "{stdout}");
    }
    let second = leadsync(dir.path(), &url)
        .arg("migrate")
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&second.stdout);
    assert!(
        stdout.starts_with("0 migration(s) applied, 14 already present"),
        "{stdout}"
    );
    let mut conn = leadsync::store::postgres::connect(&url)
        .await
        .expect("connect");
    let tables: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() \
         AND table_name IN ('inbox', 'outbox', 'links', 'field_states', 'mirror_links')",
    )
    .fetch_one(&mut conn)
    .await
    .expect("count");
    assert_eq!(tables, 5);
    conn.close().await.expect("close");
    let name = url.rsplit('/').next().expect("a database name");
    let mut admin = leadsync::store::postgres::connect(&server)
        .await
        .expect("connect");
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE {name} WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await
    .expect("drop database");
}

/// A fresh database on `LEADSYNC_TEST_PG_URL`'s server (its URL), or `None`, said loudly.
pub(crate) async fn fresh_database(test: &str) -> Option<String> {
    let Ok(server) = std::env::var("LEADSYNC_TEST_PG_URL") else {
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED postgres::{test}: LEADSYNC_TEST_PG_URL is not set \
             (url=$(.ci/pg-cluster start) gives one)"
        );
        return None;
    };
    Some(
        leadsync::store::postgres::create_scratch_database(&server, "leadsync_it")
            .await
            .expect("create database"),
    )
}

/// The daemon itself on PostgreSQL: a lead typed into the sheet becomes a card, its id and
/// card URL come back to the sheet, and the link and inbox rows are in PostgreSQL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_on_postgres_syncs_a_new_lead_end_to_end() {
    let Some(url) = fresh_database("serve_on_postgres_syncs_a_new_lead_end_to_end").await else {
        return;
    };
    let w = crate::e2e::world_with(leadsync::demo::world::WorldOptions {
        database_url: Some(url.clone()),
        ..Default::default()
    })
    .await;
    assert_eq!(
        w.state().expect("runs").db.dialect(),
        leadsync::store::Dialect::Postgres
    );
    let (lead_id, card) =
        crate::e2e::add_lead(&w, crate::e2e::P, 2, "Ada Lovelace", "Contacted").await;
    assert_eq!(w.list_name(crate::e2e::P, &card.id_list), "Contacted");
    crate::e2e::assert_sides_equal(&w, crate::e2e::P);
    let mut conn = leadsync::store::postgres::connect(&url)
        .await
        .expect("connect");
    let (linked, card_id): (i64, Option<String>) =
        sqlx::query_as("SELECT count(*), max(card_id) FROM links WHERE pair = $1 AND lead_id = $2")
            .bind(crate::e2e::P)
            .bind(&lead_id)
            .fetch_one(&mut conn)
            .await
            .expect("links");
    assert_eq!((linked, card_id.as_deref()), (1, Some(card.id.as_str())));
    let events: i64 = sqlx::query_scalar("SELECT count(*) FROM inbox")
        .fetch_one(&mut conn)
        .await
        .expect("inbox");
    assert!(events >= 1, "the sheet's event is stored in PostgreSQL");
    conn.close().await.expect("close");
}
