//! The PostgreSQL schema against SQLite's. The tests that need a server run against
//! `LEADSYNC_TEST_PG_URL` (`.ci/pg-cluster start` prints one), each in a database of its own;
//! without it they say so on the terminal and check nothing.

use std::collections::BTreeMap;
use std::io::Write;

use sqlx::{Connection, Row};

use super::{MIGRATOR, connect, create_scratch_database, migrate, redact, with_database};
use crate::store::testdb;

/// A fresh database on the test server, dropped by [`drop_database`]; `None` (said loudly) when
/// no server is configured.
async fn fresh_database(test: &str) -> Option<(String, String)> {
    let Ok(url) = std::env::var("LEADSYNC_TEST_PG_URL") else {
        // Straight to the terminal: libtest captures eprintln! of a passing test.
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED store::postgres::{test}: LEADSYNC_TEST_PG_URL is not set \
             (url=$(.ci/pg-cluster start) gives one)"
        );
        return None;
    };
    let db = create_scratch_database(&url, "leadsync_test")
        .await
        .expect("create the test database");
    Some((url, db))
}

async fn drop_database(server: &str, url: &str) {
    let name = url.rsplit('/').next().expect("a database name");
    let mut admin = connect(server).await.expect("connect");
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE {name} WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await
    .expect("drop the test database");
}

#[test]
fn each_sqlite_migration_has_its_postgres_twin() {
    let names = |m: &sqlx::migrate::Migrator| -> Vec<(i64, String)> {
        m.iter()
            .map(|m| (m.version, m.description.to_string()))
            .collect()
    };
    assert_eq!(names(&MIGRATOR), names(&crate::store::MIGRATOR));
}

#[test]
fn a_password_never_reaches_a_message() {
    assert_eq!(
        redact("postgres://ls:s3cret@db:5432/leads?sslmode=disable"),
        "postgres://ls:***@db:5432/leads?sslmode=disable"
    );
    assert_eq!(redact("postgres://ls@db/leads"), "postgres://ls@db/leads");
    assert_eq!(
        with_database("postgres://ls@127.0.0.1:5/a?x=1", "b"),
        "postgres://ls@127.0.0.1:5/b"
    );
}

#[tokio::test]
async fn migrate_applies_every_migration_once() {
    let Some((server, url)) = fresh_database("migrate_applies_every_migration_once").await else {
        return;
    };
    let first = migrate(&url).await.expect("migrate");
    assert_eq!(first.already, 0);
    assert_eq!(first.applied.len(), MIGRATOR.iter().count());
    let second = migrate(&url).await.expect("migrate again");
    assert!(second.applied.is_empty());
    assert_eq!(second.already, first.applied.len());
    drop_database(&server, &url).await;
}

/// Replicas starting together on a fresh database (CONTRACT §9): every one's migrate succeeds,
/// one applies the migrations, each once, and the others report them as found, not applied.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_migrating_at_once_apply_each_migration_once() {
    let test = "replicas_migrating_at_once_apply_each_migration_once";
    let Some((server, url)) = fresh_database(test).await else {
        return;
    };
    const REPLICAS: usize = 6;
    let runs: Vec<_> = (0..REPLICAS)
        .map(|_| {
            tokio::spawn({
                let url = url.clone();
                async move { migrate(&url).await }
            })
        })
        .collect();
    let mut reports = Vec::new();
    for run in runs {
        reports.push(
            run.await
                .expect("joins")
                .expect("every replica's migrate succeeds"),
        );
    }
    let all = MIGRATOR.iter().count();
    let appliers: Vec<_> = reports.iter().filter(|r| !r.applied.is_empty()).collect();
    assert_eq!(appliers.len(), 1, "one replica applies them: {reports:?}");
    assert_eq!(appliers[0].applied.len(), all);
    assert_eq!(appliers[0].already, 0);
    for report in reports.iter().filter(|r| r.applied.is_empty()) {
        assert_eq!(report.already, all, "{reports:?}");
    }
    let mut conn = connect(&url).await.expect("connect");
    let (rows, ok): (i64, i64) =
        sqlx::query_as("SELECT count(*), count(*) FILTER (WHERE success) FROM _sqlx_migrations")
            .fetch_one(&mut conn)
            .await
            .expect("count");
    conn.close().await.expect("close");
    assert_eq!((rows, ok), (all as i64, all as i64));
    drop_database(&server, &url).await;
}

/// Table → its columns in order, each with whether it may be NULL; and the index names.
type Schema = (BTreeMap<String, Vec<(String, bool)>>, Vec<String>);

#[tokio::test]
async fn the_postgres_schema_has_sqlites_tables_columns_and_indexes() {
    let test = "the_postgres_schema_has_sqlites_tables_columns_and_indexes";
    let Some((server, url)) = fresh_database(test).await else {
        return;
    };
    migrate(&url).await.expect("migrate");
    let mut pg = connect(&url).await.expect("connect");
    let postgres = postgres_schema(&mut pg).await;
    pg.close().await.expect("close");
    let db = testdb::temp_sqlite_db().await;
    let sqlite = sqlite_schema(&db.pool).await;
    assert!(sqlite.0["inbox"].contains(&("signed_at".to_string(), true)));
    assert!(sqlite.1.contains(&"inbox_dedupe".to_string()));
    assert_eq!(postgres.0, sqlite.0, "tables and columns");
    assert_eq!(postgres.1, sqlite.1, "indexes");
    drop_database(&server, &url).await;
}

async fn postgres_schema(conn: &mut sqlx::PgConnection) -> Schema {
    let rows = sqlx::query(
        "SELECT table_name::text, column_name::text, is_nullable = 'YES' FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name <> '_sqlx_migrations' \
         ORDER BY table_name, ordinal_position",
    )
    .fetch_all(&mut *conn)
    .await
    .expect("columns");
    let mut tables: BTreeMap<String, Vec<(String, bool)>> = BTreeMap::new();
    for row in rows {
        tables
            .entry(row.get(0))
            .or_default()
            .push((row.get(1), row.get(2)));
    }
    let indexes = sqlx::query_scalar(
        "SELECT indexname::text FROM pg_indexes WHERE schemaname = current_schema() \
         AND indexname NOT LIKE '%\\_pkey' ORDER BY indexname",
    )
    .fetch_all(&mut *conn)
    .await
    .expect("indexes");
    (tables, indexes)
}

async fn sqlite_schema(pool: &crate::store::Pool) -> Schema {
    let rows = sqlx::query(
        "SELECT m.name, c.name, NOT (c.\"notnull\" OR c.pk > 0) FROM sqlite_master m, \
         pragma_table_info(m.name) c WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\' \
         AND m.name <> '_sqlx_migrations' ORDER BY m.name, c.cid",
    )
    .fetch_all(pool)
    .await
    .expect("columns");
    let mut tables: BTreeMap<String, Vec<(String, bool)>> = BTreeMap::new();
    for row in rows {
        tables
            .entry(row.get(0))
            .or_default()
            .push((row.get(1), row.get::<i64, _>(2) != 0));
    }
    let indexes = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' \
         ORDER BY name",
    )
    .fetch_all(pool)
    .await
    .expect("indexes");
    (tables, indexes)
}
