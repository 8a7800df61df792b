//! Webhook ingress when the database cannot take an event (503, never 2xx), and its metrics.

use crate::ingress_support::*;

#[tokio::test]
async fn a_locked_database_makes_the_webhook_503_with_retry_after() {
    use sqlx::Connection as _;
    let app = spawn_ingress_app().await;
    let url = format!("sqlite://{}", app.state.db.path().display());
    let mut holder = sqlx::SqliteConnection::connect(&url)
        .await
        .expect("second connection");
    sqlx::query("BEGIN EXCLUSIVE")
        .execute(&mut holder)
        .await
        .expect("lock");
    // Waits out the store's busy timeout, then gives up.
    let response = app
        .post_signed_trello(&trello_action("act-locked", BOARD))
        .await;
    assert_eq!(response.status(), 503);
    assert!(response.headers().contains_key("retry-after"));
    let (_, json) = status_and_json(response).await;
    assert!(json["error"].is_string());
    sqlx::query("ROLLBACK")
        .execute(&mut holder)
        .await
        .expect("unlock");
    assert!(app.inbox_rows().await.is_empty());
    let retried = app
        .post_signed_trello(&trello_action("act-locked", BOARD))
        .await;
    assert_eq!(
        retried.status(),
        200,
        "the sender's retry is stored once the lock is gone"
    );
}

#[tokio::test]
async fn an_unwritable_inbox_makes_the_webhook_503_never_2xx() {
    let app = spawn_ingress_app().await;
    sqlx::query("DROP TABLE inbox")
        .execute(&app.state.db.pool)
        .await
        .expect("drop");
    let response = app
        .post_signed_sheets("evt_lost", &sheets_edit(SPREADSHEET, "Ada"))
        .await;
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "5");
}

#[tokio::test]
async fn ingress_metrics_count_received_rejected_stored_and_duplicates() {
    let app = spawn_ingress_app().await;
    let body = trello_action("act-metrics", BOARD);
    app.post_signed_trello(&body).await;
    app.post_signed_trello(&body).await;
    app.post_trello(&body, Some("AAAA")).await;
    let text = app.get("/metrics").await.text().await.expect("metrics");
    for needle in [
        "leadsync_webhooks_received_total{source=\"trello\"}",
        "leadsync_webhooks_stored_total{source=\"trello\"}",
        "leadsync_webhooks_duplicates_total{source=\"trello\"}",
        "leadsync_webhooks_rejected_total{source=\"trello\",reason=\"bad_signature\"}",
        "leadsync_inbox_depth",
    ] {
        assert!(text.contains(needle), "{needle} missing from\n{text}");
    }
}
