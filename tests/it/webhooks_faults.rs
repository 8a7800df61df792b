//! Webhook ingress when the database cannot take an event (503, never 2xx), and its metrics.

use crate::ingress_support::*;

#[tokio::test]
async fn a_locked_database_makes_the_webhook_503_with_retry_after_on_sqlite() {
    use sqlx::Connection as _;
    let app = spawn_ingress_app().await;
    let url = format!("sqlite://{}", app.state.db.path().display());
    let mut holder = leadsync::store::Conn::connect(&url)
        .await
        .expect("second connection");
    sqlx::query("BEGIN EXCLUSIVE")
        .execute(&mut holder)
        .await
        .expect("lock");
    // The writer retries the lock for its bound (5 s, as the pool's busy timeout), then gives up.
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
async fn a_lock_held_elsewhere_delays_the_answer_until_stored_never_503_on_sqlite() {
    use leadsync::store::inbox_writer::InboxWriter;
    use sqlx::Connection as _;
    use tower::ServiceExt as _;

    let app = spawn_ingress_app().await;
    let (writer, task) = InboxWriter::with_busy_bound(
        app.state.db.clone(),
        64,
        256,
        std::time::Duration::from_secs(60),
    );
    tokio::spawn(task);
    let mut state = app.state.clone();
    state.inbox = writer.clone();
    let url = format!("sqlite://{}", app.state.db.path().display());
    let mut holder = leadsync::store::Conn::connect(&url)
        .await
        .expect("second connection");
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut holder)
        .await
        .expect("lock");
    let body = trello_action("act-waited", BOARD);
    let request = axum::http::Request::post("/webhooks/trello")
        .header("content-type", "application/json")
        .header(
            "x-trello-webhook",
            trello_signer().sign(body.as_bytes(), CALLBACK),
        )
        .body(axum::body::Body::from(body))
        .expect("request");
    let answer = tokio::spawn(leadsync::http::router(state).oneshot(request));
    // Far past the writer connection's busy timeout (none): the writer keeps trying itself.
    let patience = std::time::Duration::from_secs(60);
    crate::helpers::eventually("the writer meeting the lock again", patience, || async {
        (writer.busy_retries() >= 20).then_some(())
    })
    .await;
    assert!(!answer.is_finished(), "not answered while the lock is held");
    assert!(app.inbox_rows().await.is_empty());
    sqlx::query("ROLLBACK")
        .execute(&mut holder)
        .await
        .expect("unlock");
    let answered = answer.await.expect("task").expect("infallible");
    assert_eq!(answered.status(), 200, "stored once the lock is gone");
    assert_eq!(app.inbox_rows().await.len(), 1);
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
