//! The worker's handling of stored rows it cannot read.

use std::time::Duration;

use super::*;
use crate::store::testdb::temp_db;
use crate::sync::test_support::airtable_ctx;

/// An inbox row with a source this build does not know (a newer leadsync wrote it, with a
/// migration that widened the column's CHECK): the CHECK is lifted to write it.
async fn stored_with_source(db: &Db, pair: &str, source: &str, body: &str) {
    let mut conn = db.pool.acquire().await.expect("conn");
    sqlx::query("PRAGMA ignore_check_constraints = ON")
        .execute(&mut *conn)
        .await
        .expect("pragma");
    sqlx::query(
        "INSERT INTO inbox (source, dedupe_key, pair, received_at, body, next_attempt_at)
         VALUES ($1, 'k1', $2, 0, $3, 0)",
    )
    .bind(source)
    .bind(pair)
    .bind(body.as_bytes())
    .execute(&mut *conn)
    .await
    .expect("insert");
    sqlx::query("PRAGMA ignore_check_constraints = OFF")
        .execute(&mut *conn)
        .await
        .expect("pragma");
}

#[tokio::test]
async fn an_event_from_an_unknown_source_is_left_failed_naming_it_not_read_as_trello() {
    let db = temp_db().await;
    let ctx = Arc::new(airtable_ctx());
    let pairs = HashMap::from([(ctx.name.clone(), Arc::clone(&ctx))]);
    // A body every known source's parse could take for its own, were the source guessed.
    let body = r#"{"record_id":"recA","kind":"changed","source":"client",
        "timestamp":"2026-01-01T00:00:00Z","changed":{},"unchanged":{}}"#;
    stored_with_source(&db, &ctx.name, "hubspot", body).await;
    let worker = Worker::new(db.db.clone(), pairs, Duration::ZERO, None);
    let report = worker.run_once().await.expect("pass");
    assert_eq!(report.events_failed, 1, "{report:?}");
    assert_eq!(report.events_done, 0);
    let (status, error): (String, Option<String>) =
        sqlx::query_as("SELECT status, last_error FROM inbox")
            .fetch_one(&db.pool)
            .await
            .expect("row");
    assert_eq!(status, "failed");
    assert_eq!(error.as_deref(), Some("unknown inbox source \"hubspot\""));
}
