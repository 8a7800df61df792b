//! Webhooks seen from outside: creation and listing, MAC-signed notifications, payloads by
//! cursor, filters, expiry and refresh, and the hold / drop / redeliver controls.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use reqwest::Method;
use serde_json::{Value, json};

use super::tests::{call, started};
use super::*;
use crate::sandbox::common::{Served, serve};

type Received = Arc<Mutex<Vec<(HeaderMap, Bytes)>>>;

/// A loopback receiver that answers 200 with an empty body and keeps what it got.
async fn receiver() -> (Served, Received) {
    receiver_answering(StatusCode::OK).await
}

async fn receiver_answering(status: StatusCode) -> (Served, Received) {
    let got: Received = Arc::default();
    let keep = got.clone();
    let app = axum::Router::new().route(
        "/webhooks/airtable",
        post(move |headers: HeaderMap, body: Bytes| {
            let keep = keep.clone();
            async move {
                keep.lock().unwrap().push((headers, body));
                status
            }
        }),
    );
    (serve(app).await.unwrap(), got)
}

pub(super) fn spec(table_id: &str) -> Value {
    json!({"options": {"filters": {"dataTypes": ["tableData"], "recordChangeScope": table_id},
        "includes": {"includePreviousCellValues": true}}})
}

pub(super) async fn create_hook(
    sb: &AirtableSandbox,
    t: &TableSetup,
    url: Option<String>,
    spec: Value,
) -> Value {
    let path = format!("/bases/{}/webhooks", t.base_id);
    let (status, body) = call(
        sb,
        Method::POST,
        &path,
        Some(json!({"notificationUrl": url, "specification": spec})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body
}

pub(super) async fn payloads(
    sb: &AirtableSandbox,
    t: &TableSetup,
    hook: &str,
    query: &str,
) -> Value {
    let path = format!("/bases/{}/webhooks/{hook}/payloads{query}", t.base_id);
    let (status, body) = call(sb, Method::GET, &path, None).await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn listed(sb: &AirtableSandbox, t: &TableSetup) -> Value {
    call(
        sb,
        Method::GET,
        &format!("/bases/{}/webhooks", t.base_id),
        None,
    )
    .await
    .1
}

fn expiry(v: &Value) -> chrono::DateTime<chrono::Utc> {
    v.as_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn creation_shows_the_secret_once_and_validates_the_specification() {
    let (sb, t) = started().await;
    let hook = create_hook(&sb, &t, None, spec(&t.table_id)).await;
    let id = hook["id"].as_str().unwrap();
    assert!(id.starts_with("ach") && id.len() == 17);
    let secret = base64::engine::general_purpose::STANDARD
        .decode(hook["macSecretBase64"].as_str().unwrap())
        .unwrap();
    assert_eq!(secret.len(), 32);
    let days = (expiry(&hook["expirationTime"]) - chrono::Utc::now()).num_hours();
    assert!((167..=168).contains(&days), "{days}");
    let list = listed(&sb, &t).await;
    let w = &list["webhooks"][0];
    assert_eq!(
        (
            w["id"].as_str(),
            &w["cursorForNextPayload"],
            &w["isHookEnabled"]
        ),
        (Some(id), &json!(1), &json!(true))
    );
    assert!(w.get("macSecretBase64").is_none());
    assert_eq!(w["specification"], spec(&t.table_id));
    let path = format!("/bases/{}/webhooks", t.base_id);
    for bad in [
        json!({"specification": {"options": {"filters": {}}}}),
        json!({"specification": spec("tblNoSuchTable000")}),
        json!({"notificationUrl": "https://example.com/hook", "specification": spec(&t.table_id)}),
    ] {
        assert_eq!(call(&sb, Method::POST, &path, Some(bad)).await.0, 422);
    }
    let (status, body) = call(&sb, Method::DELETE, &format!("{path}/{id}"), None).await;
    assert_eq!((status, body), (200, json!({})));
    assert_eq!(
        call(&sb, Method::DELETE, &format!("{path}/{id}"), None)
            .await
            .0,
        404
    );
    assert_eq!(listed(&sb, &t).await, json!({"webhooks": []}));
}

#[tokio::test]
async fn a_change_pings_the_notification_url_with_a_verifiable_mac() {
    let (sb, t) = started().await;
    let (rx, got) = receiver().await;
    let url = format!("{}/webhooks/airtable", rx.base_url());
    let hook = create_hook(&sb, &t, Some(url.clone()), spec(&t.table_id)).await;
    let body = json!({"fields": {"Name": "Ada"}});
    assert_eq!(
        call(
            &sb,
            Method::POST,
            &format!("/{}/Leads", t.base_id),
            Some(body)
        )
        .await
        .0,
        200
    );
    assert!(sb.wait_notifications(Duration::from_secs(5)).await);
    let got = got.lock().unwrap().clone();
    assert_eq!(got.len(), 1);
    let (headers, raw) = &got[0];
    // Independently: HMAC-SHA256 keyed with the decoded secret over the raw body, lowercase hex.
    let key = base64::engine::general_purpose::STANDARD
        .decode(hook["macSecretBase64"].as_str().unwrap())
        .unwrap();
    let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(&key).unwrap();
    mac.update(raw);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(
        headers["x-airtable-content-mac"],
        format!("hmac-sha256={hex}").as_str()
    );
    let ping: Value = serde_json::from_slice(raw).unwrap();
    assert_eq!(ping["base"], json!({"id": t.base_id}));
    assert_eq!(ping["webhook"], json!({"id": hook["id"]}));
    assert!(ping["timestamp"].as_str().unwrap().ends_with('Z'));
    let w = &listed(&sb, &t).await["webhooks"][0];
    assert_eq!(
        (
            &w["areNotificationsEnabled"],
            &w["lastNotificationResult"]["success"]
        ),
        (&json!(true), &json!(true))
    );
    assert!(w["lastSuccessfulNotificationTime"].is_string());
    assert_eq!(sb.notifications()[0].status, Some(200));
}

#[tokio::test]
async fn expired_webhooks_stay_silent_and_only_live_ones_refresh() {
    let (sb, t) = started().await;
    let (rx, got) = receiver().await;
    sb.set_webhook_lifetime(Duration::from_secs(3600));
    let hook = create_hook(
        &sb,
        &t,
        Some(format!("{}/webhooks/airtable", rx.base_url())),
        spec(&t.table_id),
    )
    .await;
    let id = hook["id"].as_str().unwrap();
    let hours = |v: &Value| (expiry(v) - chrono::Utc::now()).num_minutes();
    assert!((59..=60).contains(&hours(&hook["expirationTime"])));
    sb.set_webhook_lifetime(Duration::from_secs(2 * 3600));
    let refresh = format!("/bases/{}/webhooks/{id}/refresh", t.base_id);
    let (status, body) = call(&sb, Method::POST, &refresh, None).await;
    assert_eq!(status, 200);
    assert!((119..=120).contains(&hours(&body["expirationTime"])));
    // Listing payloads also extends a live webhook's life.
    sb.set_webhook_lifetime(Duration::from_secs(3 * 3600));
    payloads(&sb, &t, id, "").await;
    assert!((179..=180).contains(&hours(
        &listed(&sb, &t).await["webhooks"][0]["expirationTime"]
    )));
    assert!(sb.expire_webhook(&t.base_id, id));
    sb.user_create_record(&t.base_id, "Leads", &[("Name", "late")])
        .unwrap();
    assert!(sb.wait_notifications(Duration::from_secs(5)).await);
    assert!(got.lock().unwrap().is_empty());
    let w = &listed(&sb, &t).await["webhooks"][0];
    assert_eq!(
        (&w["isHookEnabled"], &w["cursorForNextPayload"]),
        (&json!(false), &json!(1))
    );
    let (status, body) = call(&sb, Method::POST, &refresh, None).await;
    assert_eq!(
        (status, &body["error"]["type"]),
        (422, &json!("CANNOT_REFRESH_DISABLED_WEBHOOK"))
    );
    // An expired webhook's payloads stay readable, and listing them does not revive it.
    assert_eq!(payloads(&sb, &t, id, "").await["cursor"], 1);
    assert_eq!(listed(&sb, &t).await["webhooks"][0]["isHookEnabled"], false);
}

#[tokio::test]
async fn notifications_can_be_held_sent_twice_or_dropped() {
    let (sb, t) = started().await;
    let (rx, got) = receiver().await;
    create_hook(
        &sb,
        &t,
        Some(format!("{}/webhooks/airtable", rx.base_url())),
        spec(&t.table_id),
    )
    .await;
    sb.hold_notifications(true);
    sb.user_create_record(&t.base_id, "Leads", &[("Name", "Ada")])
        .unwrap();
    assert!(sb.wait_notifications(Duration::from_secs(5)).await);
    assert!(got.lock().unwrap().is_empty());
    let held = sb.take_held_notifications();
    assert_eq!(held.len(), 1);
    sb.hold_notifications(false);
    sb.renotify(held[0].clone());
    sb.renotify(held[0].clone());
    assert!(sb.wait_notifications(Duration::from_secs(5)).await);
    let bodies: Vec<Bytes> = got.lock().unwrap().iter().map(|(_, b)| b.clone()).collect();
    assert_eq!(bodies.len(), 2);
    assert_eq!(bodies[0], bodies[1]);
    sb.drop_notifications(true);
    sb.user_create_record(&t.base_id, "Leads", &[("Name", "Bob")])
        .unwrap();
    assert!(sb.wait_notifications(Duration::from_secs(5)).await);
    assert_eq!(got.lock().unwrap().len(), 2);
    let last = sb.notifications().pop().unwrap();
    assert!(last.dropped && last.status.is_none());
    // The missed ping's payload is still there to fetch.
    let hook = &sb.webhooks(&t.base_id)[0];
    assert_eq!(hook.payloads.len(), 2);
}

#[tokio::test]
async fn a_refused_notification_is_retried_and_reported_in_the_list() {
    let (sb, t) = started().await;
    let (rx, got) = receiver_answering(StatusCode::INTERNAL_SERVER_ERROR).await;
    let url = format!("{}/webhooks/airtable", rx.base_url());
    create_hook(&sb, &t, Some(url), spec(&t.table_id)).await;
    sb.user_create_record(&t.base_id, "Leads", &[("Name", "Ada")])
        .unwrap();
    assert!(sb.wait_notifications(Duration::from_secs(5)).await);
    assert_eq!(got.lock().unwrap().len(), 3);
    let record = &sb.notifications()[0];
    assert_eq!((record.status, record.attempts), (Some(500), 3));
    let w = &listed(&sb, &t).await["webhooks"][0];
    let last = &w["lastNotificationResult"];
    assert_eq!(
        (&last["success"], &last["retryNumber"]),
        (&json!(false), &json!(2))
    );
    assert_eq!(last["error"]["message"], "HTTP 500");
    assert!(w["lastSuccessfulNotificationTime"].is_null());
}
