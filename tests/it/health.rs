//! Health, readiness, metrics, body limit and in-process shutdown of the real app.

use std::time::Duration;

use crate::helpers::{eventually, spawn_app};

#[tokio::test]
async fn healthz_answers_200_with_json() {
    let app = spawn_app().await;
    let resp = app.get("/healthz").await;
    assert_eq!(resp.status(), 200);
    let body: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(body["status"], "ok");
}

#[tokio::test]
async fn readyz_is_200_while_the_database_answers() {
    let app = spawn_app().await;
    assert_eq!(app.get("/readyz").await.status(), 200);
}

#[tokio::test]
async fn readyz_turns_503_when_the_database_file_is_damaged_on_sqlite() {
    let app = spawn_app().await;
    assert_eq!(app.get("/readyz").await.status(), 200);
    // Overwrite the header: SQLite can no longer open the file. (Tests run as root, so removing
    // read permission would not stop us from reading it.)
    let path = app.state.db.path().to_path_buf();
    std::fs::write(&path, vec![0x42u8; 4096]).expect("overwrite database");
    let resp = app.get("/readyz").await;
    assert_eq!(resp.status(), 503);
    let body: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(body["error"], "database unavailable");
    assert_eq!(
        app.get("/healthz").await.status(),
        200,
        "liveness is not readiness"
    );
}

#[tokio::test]
async fn readyz_turns_503_when_the_database_file_is_removed_on_sqlite() {
    let app = spawn_app().await;
    std::fs::remove_file(app.state.db.path()).expect("remove database");
    assert_eq!(app.get("/readyz").await.status(), 503);
}

#[tokio::test]
async fn readyz_turns_503_when_the_pool_is_closed() {
    let app = spawn_app().await;
    app.state.db.close().await;
    assert_eq!(app.get("/readyz").await.status(), 503);
}

#[tokio::test]
async fn metrics_expose_request_counts_by_route_and_uptime() {
    let app = spawn_app().await;
    app.get("/healthz").await;
    let text = app.get("/metrics").await.text().await.expect("text");
    assert!(text.contains("leadsync_uptime_seconds"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("leadsync_http_requests_total")
                && l.contains("route=\"/healthz\"")
                && l.contains("status=\"200\"")),
        "{text}"
    );
}

#[tokio::test]
async fn oversized_bodies_get_413() {
    let app = spawn_app_small_limit().await;
    let resp = app
        .client
        .post(app.url("/healthz"))
        .body(vec![b'x'; 2048])
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 413);
    let body: serde_json::Value = resp.json().await.expect("413 answers JSON");
    assert_eq!(body["error"], "request body too large");
}

async fn spawn_app_small_limit() -> crate::helpers::TestApp {
    crate::helpers::spawn_app_with(&[("LEADSYNC__SERVER__MAX_BODY_BYTES", "1024")]).await
}

#[tokio::test]
async fn cancelling_the_shutdown_token_stops_the_server_and_closes_the_database() {
    let app = spawn_app().await;
    assert_eq!(app.get("/healthz").await.status(), 200);
    app.shutdown.cancel();
    let result = tokio::time::timeout(Duration::from_secs(30), app.handle)
        .await
        .expect("stops in bounded time")
        .expect("task joins");
    assert!(result.is_ok());
    assert!(app.state.db.pool.is_closed());
    let client = reqwest::Client::new();
    eventually(
        "the port to stop answering",
        Duration::from_secs(10),
        || {
            let client = client.clone();
            let url = format!("{}/healthz", app.base);
            async move { client.get(url).send().await.is_err().then_some(()) }
        },
    )
    .await;
}
