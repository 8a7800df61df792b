//! `POST /webhooks/airtable` against the running app: a ping signed with the stored secret of a
//! webhook of ours raises its ping counter durably and is answered 200 with an empty body;
//! anything else is refused and changes nothing.

use std::time::Duration;

use base64::Engine as _;
use leadsync::connectors::airtable::sandbox::sign;
use leadsync::store::tracker_webhooks::{self, NewTrackerWebhook};

use crate::helpers::{TestApp, eventually};
use crate::ingress_support::*;

const SECRET: &[u8] = b"the-webhook-mac-secret-32-bytes!";
const BASE: &str = "appBase1";
const HOOK: &str = "achHook1";

fn ping_body(webhook_id: &str) -> String {
    format!(
        r#"{{"base":{{"id":"{BASE}"}},"webhook":{{"id":"{webhook_id}"}},"timestamp":"2026-12-02T10:00:00.000Z"}}"#
    )
}

/// The ingress app with one Airtable webhook stored as registration leaves it.
async fn app_with_webhook() -> TestApp {
    let app = spawn_ingress_app().await;
    let new = NewTrackerWebhook {
        connector: "airtable".into(),
        id: HOOK.into(),
        pair: "default".into(),
        base_id: BASE.into(),
        notification_url: format!("{PUBLIC_URL}/webhooks/airtable"),
        mac_secret: base64::engine::general_purpose::STANDARD.encode(SECRET),
        expires_at: None,
    };
    tracker_webhooks::insert(&app.state.db.pool, &new)
        .await
        .expect("stored webhook");
    app
}

impl TestApp {
    async fn post_airtable(&self, body: &str, mac: Option<&str>) -> reqwest::Response {
        let mut request = self
            .client
            .post(self.url("/webhooks/airtable"))
            .header("content-type", "application/json")
            .body(body.to_owned());
        if let Some(mac) = mac {
            request = request.header("X-Airtable-Content-MAC", mac);
        }
        request.send().await.expect("request")
    }

    async fn pinged(&self) -> i64 {
        tracker_webhooks::get(&self.state.db.pool, "airtable", HOOK)
            .await
            .expect("read")
            .expect("webhook")
            .pinged
    }
}

#[tokio::test]
async fn a_signed_ping_is_counted_and_answered_200_with_an_empty_body() {
    let app = app_with_webhook().await;
    let body = ping_body(HOOK);
    let mac = sign(SECRET, body.as_bytes());
    for expected in 1..=2 {
        let response = app.post_airtable(&body, Some(&mac)).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.bytes().await.expect("body").len(), 0, "empty body");
        assert_eq!(app.pinged().await, expected, "a repeated ping counts again");
    }
    let due = tracker_webhooks::due(&app.state.db.pool)
        .await
        .expect("due");
    assert_eq!(due.len(), 1, "the webhook is due for a fetch");
    let get = app.get("/webhooks/airtable").await;
    assert_eq!(get.status(), 405, "only POST");
}

#[tokio::test]
async fn a_bad_or_missing_mac_is_401_and_counts_nothing() {
    let app = app_with_webhook().await;
    let body = ping_body(HOOK);
    let good = sign(SECRET, body.as_bytes());
    let other_secret = sign(b"another webhook's secret", body.as_bytes());
    let cases = [
        ("missing", None),
        ("other secret", Some(other_secret.as_str())),
        ("not hex", Some("hmac-sha256=zz")),
        ("wrong prefix", Some(&good["hmac-".len()..])),
    ];
    for (case, mac) in cases {
        let (status, json) = status_and_json(app.post_airtable(&body, mac).await).await;
        assert_eq!(status, 401, "{case}");
        assert!(
            json["error"]
                .as_str()
                .is_some_and(|e| e.contains("X-Airtable-Content-MAC")),
            "{case}: {json}"
        );
    }
    assert_eq!(app.pinged().await, 0);
    let text = app.get("/metrics").await.text().await.expect("metrics");
    for needle in [
        "leadsync_webhooks_received_total{source=\"airtable\"}",
        "leadsync_webhooks_rejected_total{source=\"airtable\",reason=\"bad_signature\"}",
        "leadsync_webhooks_rejected_total{source=\"airtable\",reason=\"missing_signature\"}",
    ] {
        assert!(text.contains(needle), "{needle} missing from\n{text}");
    }
}

#[tokio::test]
async fn a_ping_for_a_webhook_we_do_not_hold_is_401() {
    let app = app_with_webhook().await;
    for body in [ping_body("achNotOurs"), "not json".to_owned()] {
        let mac = sign(SECRET, body.as_bytes());
        let (status, json) = status_and_json(app.post_airtable(&body, Some(&mac)).await).await;
        assert_eq!(status, 401, "{body}");
        assert_eq!(
            json["error"],
            "webhook.id names no Airtable webhook registered by leadsync"
        );
    }
    assert_eq!(app.pinged().await, 0);
}

#[tokio::test]
async fn a_mac_over_other_bytes_of_the_same_json_is_401() {
    let app = app_with_webhook().await;
    let body = ping_body(HOOK);
    let value: serde_json::Value = serde_json::from_str(&body).expect("json");
    let reserialised = serde_json::to_string_pretty(&value).expect("json");
    let mac_of_other_bytes = sign(SECRET, reserialised.as_bytes());
    let response = app.post_airtable(&body, Some(&mac_of_other_bytes)).await;
    assert_eq!(response.status(), 401);
    assert_eq!(app.pinged().await, 0);
}

#[tokio::test]
async fn a_ping_the_database_cannot_count_is_503_with_retry_after_on_sqlite() {
    let app = app_with_webhook().await;
    sqlx::query(
        "CREATE TRIGGER refuse BEFORE UPDATE ON tracker_webhooks
         BEGIN SELECT RAISE(FAIL, 'disk full'); END",
    )
    .execute(&app.state.db.pool)
    .await
    .expect("trigger");
    let body = ping_body(HOOK);
    let response = app
        .post_airtable(&body, Some(&sign(SECRET, body.as_bytes())))
        .await;
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "5");
    assert_eq!(app.pinged().await, 0);
}

#[tokio::test]
async fn a_signed_ping_naming_another_base_is_400_and_not_counted() {
    let app = app_with_webhook().await;
    let body = ping_body(HOOK).replace(BASE, "appOtherBase");
    let mac = sign(SECRET, body.as_bytes());
    let (status, json) = status_and_json(app.post_airtable(&body, Some(&mac)).await).await;
    assert_eq!(status, 400);
    assert_eq!(
        json["error"],
        "notification body: base.id is not the webhook's base"
    );
    assert_eq!(app.pinged().await, 0);
}

#[tokio::test]
async fn a_ping_is_answered_only_once_the_inbox_writer_committed_it_and_a_full_queue_is_503() {
    use leadsync::store::inbox_writer::InboxWriter;
    use tower::ServiceExt as _;

    let app = app_with_webhook().await;
    // A writer with room for one request whose loop is not running yet: nothing it holds is
    // committed until the loop starts.
    let (writer, task) = InboxWriter::new(app.state.db.clone(), 1, 256);
    let mut state = app.state.clone();
    state.inbox = writer.clone();
    let body = ping_body(HOOK);
    let mac = sign(SECRET, body.as_bytes());
    let request = || {
        axum::http::Request::post("/webhooks/airtable")
            .header("content-type", "application/json")
            .header("X-Airtable-Content-MAC", mac.as_str())
            .body(axum::body::Body::from(body.clone()))
            .expect("request")
    };
    let first = tokio::spawn(leadsync::http::router(state.clone()).oneshot(request()));
    eventually("the ping queued", Duration::from_secs(5), || async {
        (writer.queued() == 1).then_some(())
    })
    .await;
    assert!(!first.is_finished(), "not answered before its commit");
    assert_eq!(app.pinged().await, 0, "and not counted");
    let full = leadsync::http::router(state).oneshot(request()).await;
    let full = full.expect("infallible");
    assert_eq!(full.status(), 503, "the queue is full");
    assert_eq!(
        full.headers()["retry-after"],
        "1",
        "a full queue clears fast"
    );
    tokio::spawn(task);
    let answered = first.await.expect("task").expect("infallible");
    assert_eq!(answered.status(), 200);
    assert_eq!(app.pinged().await, 1, "counted once, by the committed ping");
    assert_eq!(writer.batches_committed(), 1, "in the writer's transaction");
}
