//! The emulator on the wire, with a plain HTTP client: auth and version checks, pages and their
//! rounded times and authors, the rich-text limit, the query, the rate limit, and webhooks (the
//! verification request, signed events, held and dropped deliveries).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::HeaderMap;
use axum::routing::post;
use serde_json::{Value, json};

use super::*;
use crate::sandbox::common::serve;

const VERSION: &str = "2025-09-03";

async fn started() -> (NotionSandbox, DatabaseSetup) {
    let sb = NotionSandbox::start_with(None).await.unwrap();
    let db = sb.create_database(
        "Leads",
        &[
            PropertySpec::new("Name", "title"),
            PropertySpec::new("Notes", "rich_text"),
            PropertySpec::with_options("Status", "status", &["New", "Won"]),
        ],
    );
    (sb, db)
}

async fn call(
    sb: &NotionSandbox,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, HeaderMap, Value) {
    let c = reqwest::Client::new();
    let mut req = c
        .request(method, format!("{}{path}", sb.api_base()))
        .bearer_auth(sb.token())
        .header("Notion-Version", VERSION);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, headers, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_wrong_token_is_401_and_a_missing_version_400() {
    let (sb, db) = started().await;
    let url = format!("{}/databases/{}", sb.api_base(), db.database_id);
    let c = reqwest::Client::new();
    let r = c
        .get(&url)
        .bearer_auth("ntn_nope")
        .header("Notion-Version", VERSION)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "unauthorized");
    let r = c.get(&url).bearer_auth(sb.token()).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "missing_version");
    let (status, _, body) = call(
        &sb,
        reqwest::Method::GET,
        &format!("/pages/{}", uuid::Uuid::new_v4()),
        None,
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("object_not_found"))
    );
}

#[tokio::test]
async fn api_pages_carry_the_bot_and_times_rounded_to_the_minute() {
    let (sb, db) = started().await;
    let body = json!({"parent": {"data_source_id": db.data_source_id},
        "properties": {"Name": {"title": [{"text": {"content": "Ada"}}]}}});
    let (status, _, page) = call(&sb, reqwest::Method::POST, "/pages", Some(body)).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["last_edited_by"]["id"], sb.bot_id());
    let (status, _, me) = call(&sb, reqwest::Method::GET, "/users/me", None).await;
    assert_eq!((status, &me["type"]), (200, &json!("bot")), "{me}");
    assert_eq!(
        me["id"],
        sb.bot_id(),
        "the token's bot is the pages' last editor"
    );
    let edited = page["last_edited_time"].as_str().unwrap();
    assert!(edited.ends_with(":00.000Z"), "{edited}");
    assert_eq!(page["properties"]["Name"]["title"][0]["plain_text"], "Ada");

    let id = page["id"].as_str().unwrap();
    sb.user_update_page(id, &[("Status", "Won")]).unwrap();
    let after = sb.page(id).unwrap();
    assert_eq!(after["last_edited_by"]["id"], sb.person_id());
    assert_eq!(after["properties"]["Status"]["status"]["name"], "Won");
    assert!(
        sb.user_update_page(id, &[("Status", "Lost")]).is_err(),
        "no such status"
    );
}

#[tokio::test]
async fn rich_text_over_2000_characters_in_one_object_is_refused() {
    let (sb, db) = started().await;
    let long = "x".repeat(2001);
    let body = json!({"parent": {"data_source_id": db.data_source_id},
        "properties": {"Notes": {"rich_text": [{"text": {"content": long}}]}}});
    let (status, _, err) = call(&sb, reqwest::Method::POST, "/pages", Some(body)).await;
    assert_eq!(
        (status, err["code"].as_str()),
        (400, Some("validation_error"))
    );
    assert!(err["message"].as_str().unwrap().contains("2000"));
    let body = json!({"parent": {"database_id": db.database_id}, "properties": {}});
    let (status, _, err) = call(&sb, reqwest::Method::POST, "/pages", Some(body)).await;
    assert_eq!(
        status, 400,
        "a database parent is refused in this API version: {err}"
    );
}

#[tokio::test]
async fn the_query_filters_sorts_pages_and_leaves_out_the_trash() {
    let (sb, db) = started().await;
    let t =
        |m: u32| chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 2, 1, 8, m, 30).unwrap();
    let mut ids = Vec::new();
    for (i, m) in [1, 2, 3, 4].into_iter().enumerate() {
        sb.set_time(Some(t(m)));
        ids.push(
            sb.user_create_page(&db.data_source_id, &[("Name", &format!("P{i}"))])
                .unwrap(),
        );
    }
    sb.user_trash_page(&ids[3], true).unwrap();
    let path = format!("/data_sources/{}/query", db.data_source_id);
    let body = json!({"filter": {"timestamp": "last_edited_time", "last_edited_time": {"on_or_after": "2026-02-01T08:02:00Z"}},
        "sorts": [{"timestamp": "last_edited_time", "direction": "descending"}], "page_size": 1});
    let (_, _, first) = call(&sb, reqwest::Method::POST, &path, Some(body.clone())).await;
    assert_eq!(first["results"][0]["id"], ids[2].as_str());
    assert_eq!(first["has_more"], true);
    let mut next = body;
    next["start_cursor"] = first["next_cursor"].clone();
    let (_, _, second) = call(&sb, reqwest::Method::POST, &path, Some(next)).await;
    assert_eq!(second["results"][0]["id"], ids[1].as_str());
    assert_eq!(
        (
            second["has_more"].as_bool(),
            second["next_cursor"].is_null()
        ),
        (Some(false), true)
    );
    let bad = json!({"filter": {"property": "Name", "title": {"equals": "P1"}}});
    let (status, _, _) = call(&sb, reqwest::Method::POST, &path, Some(bad)).await;
    assert_eq!(status, 400, "property filters are refused, not ignored");
}

#[tokio::test]
async fn over_three_calls_a_second_is_429_with_retry_after() {
    let (sb, db) = started().await;
    // Three a minute, not a second: the four calls fall in one window however slowly a loaded
    // machine makes them (the window itself is the limiter's unit test).
    sb.set_rate_limit(Some(RateLimit {
        max_requests: 3,
        per: std::time::Duration::from_secs(60),
    }));
    let path = format!("/databases/{}", db.database_id);
    let mut statuses = Vec::new();
    let mut retry_after = None;
    for _ in 0..4 {
        let (status, headers, body) = call(&sb, reqwest::Method::GET, &path, None).await;
        statuses.push(status);
        if status == 429 {
            assert_eq!(body["code"], "rate_limited");
            retry_after = headers
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_owned());
        }
    }
    assert_eq!(statuses, [200, 200, 200, 429]);
    // Whole seconds until the window's oldest call leaves it: just under a minute.
    let wait: u64 = retry_after.expect("a Retry-After").parse().unwrap();
    assert!((50..=60).contains(&wait), "{wait}");
}

/// Each POST's `X-Notion-Signature` and body, as the receiver got them.
type Received = Arc<Mutex<Vec<(Option<String>, Bytes)>>>;

/// A receiver on 127.0.0.1:0 keeping each POST's signature header and body.
async fn receiver() -> (crate::sandbox::common::Served, Received) {
    let got: Received = Arc::default();
    let keep = got.clone();
    let app = axum::Router::new().route(
        "/webhooks/notion",
        post(move |headers: HeaderMap, body: Bytes| {
            let keep = keep.clone();
            async move {
                let sig = headers
                    .get("x-notion-signature")
                    .map(|v| v.to_str().unwrap().to_owned());
                keep.lock().unwrap().push((sig, body));
                ""
            }
        }),
    );
    (serve(app).await.unwrap(), got)
}

#[tokio::test]
async fn a_subscription_is_verified_then_every_change_is_a_signed_event() {
    let (sb, db) = started().await;
    let (served, got) = receiver().await;
    let sub = sb.subscribe(&format!("{}/webhooks/notion", served.base_url()));
    let page = sb
        .user_create_page(&db.data_source_id, &[("Name", "Ada")])
        .unwrap();
    sb.user_update_page(&page, &[("Notes", "hi")]).unwrap();
    sb.user_trash_page(&page, true).unwrap();
    sb.user_trash_page(&page, false).unwrap();
    assert!(sb.deliveries_drained(Duration::from_secs(5)).await);
    let got = got.lock().unwrap().clone();
    let (sig, body) = &got[0];
    assert!(sig.is_none(), "the verification request is unsigned");
    let first: Value = serde_json::from_slice(body).unwrap();
    assert_eq!(first, json!({"verification_token": sub.verification_token}));
    let mut types = Vec::new();
    for (sig, body) in &got[1..] {
        assert_eq!(
            sig.as_deref(),
            Some(sign(&sub.verification_token, body).as_str())
        );
        let event: Value = serde_json::from_slice(body).unwrap();
        assert_eq!(event["entity"], json!({"id": page, "type": "page"}));
        assert_eq!(
            event["authors"][0],
            json!({"id": sb.person_id(), "type": "person"})
        );
        assert!(event["id"].is_string() && event["timestamp"].is_string());
        types.push(event["type"].as_str().unwrap().to_owned());
        if event["type"] == "page.properties_updated" {
            let notes_id = sb.page(&page).unwrap()["properties"]["Notes"]["id"].clone();
            assert_eq!(event["data"]["updated_properties"], json!([notes_id]));
        }
    }
    assert_eq!(
        types,
        [
            "page.created",
            "page.properties_updated",
            "page.deleted",
            "page.undeleted"
        ]
    );
}

#[tokio::test]
async fn deliveries_can_be_held_resent_and_dropped() {
    let (sb, db) = started().await;
    let (served, got) = receiver().await;
    sb.subscribe(&format!("{}/webhooks/notion", served.base_url()));
    assert!(sb.deliveries_drained(Duration::from_secs(5)).await);
    sb.hold_deliveries(true);
    let page = sb
        .user_create_page(&db.data_source_id, &[("Name", "Held")])
        .unwrap();
    assert!(sb.deliveries_drained(Duration::from_secs(5)).await);
    assert_eq!(
        got.lock().unwrap().len(),
        1,
        "only the verification request arrived"
    );
    sb.hold_deliveries(false);
    let held = sb.take_held();
    assert_eq!(held.len(), 1);
    sb.redeliver(held[0].clone());
    sb.redeliver(held[0].clone());
    // Dropping is decided when the worker takes a delivery: let the resent ones go first.
    assert!(sb.deliveries_drained(Duration::from_secs(5)).await);
    sb.drop_deliveries(true);
    sb.user_update_page(&page, &[("Notes", "dropped")]).unwrap();
    assert!(sb.deliveries_drained(Duration::from_secs(5)).await);
    assert_eq!(
        got.lock().unwrap().len(),
        3,
        "the held event arrived twice, the dropped never"
    );
    assert!(sb.deliveries().last().unwrap().dropped);
}

#[tokio::test]
async fn a_page_edited_mid_read_is_neither_skipped_nor_read_twice() {
    let (sb, db) = started().await;
    let t = |m: u32| chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 2, 1, 8, m, 0).unwrap();
    let mut ids = Vec::new();
    for m in 1..=3 {
        sb.set_time(Some(t(m)));
        ids.push(
            sb.user_create_page(&db.data_source_id, &[("Name", "P")])
                .unwrap(),
        );
    }
    let path = format!("/data_sources/{}/query", db.data_source_id);
    let body = json!({"sorts": [{"timestamp": "last_edited_time", "direction": "ascending"}], "page_size": 1});
    let (_, _, first) = call(&sb, reqwest::Method::POST, &path, Some(body.clone())).await;
    // The next result is edited: an edit-time sort now puts it last.
    sb.set_time(Some(t(9)));
    sb.user_update_page(&ids[1], &[("Notes", "moved")]).unwrap();
    let mut seen = vec![first["results"][0]["id"].as_str().unwrap().to_owned()];
    let mut cursor = first["next_cursor"].clone();
    while !cursor.is_null() {
        let mut next = body.clone();
        next["start_cursor"] = cursor;
        let (status, _, page) = call(&sb, reqwest::Method::POST, &path, Some(next)).await;
        assert_eq!(status, 200, "{page}");
        seen.extend(
            page["results"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["id"].as_str().unwrap().to_owned()),
        );
        cursor = page["next_cursor"].clone();
    }
    assert_eq!(seen, ids);
    let stale = json!({"start_cursor": uuid::Uuid::new_v4().to_string()});
    let (status, _, _) = call(&sb, reqwest::Method::POST, &path, Some(stale)).await;
    assert_eq!(status, 400, "an unknown cursor is refused");
}

#[tokio::test]
async fn property_updates_of_a_page_are_aggregated_over_the_window() {
    let (sb, db) = started().await;
    let (served, got) = receiver().await;
    sb.subscribe(&format!("{}/webhooks/notion", served.base_url()));
    sb.aggregate_events(Some(Duration::from_millis(300)));
    let page = sb
        .user_create_page(&db.data_source_id, &[("Name", "Ada")])
        .unwrap();
    sb.user_update_page(&page, &[("Notes", "one")]).unwrap();
    sb.user_update_page(&page, &[("Status", "Won")]).unwrap();
    sb.user_update_page(&page, &[("Notes", "two")]).unwrap();
    assert!(sb.deliveries_drained(Duration::from_secs(5)).await);
    let got = got.lock().unwrap().clone();
    let events: Vec<Value> = got[1..]
        .iter()
        .map(|(_, b)| serde_json::from_slice(b).unwrap())
        .collect();
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["page.created", "page.properties_updated"]);
    let props = &sb.page(&page).unwrap()["properties"];
    let updated = &events[1]["data"]["updated_properties"];
    assert_eq!(
        updated,
        &json!([props["Notes"]["id"], props["Status"]["id"]])
    );
    let (sig, body) = &got[2];
    let token = sb
        .core
        .deliveries
        .subscription()
        .unwrap()
        .verification_token;
    assert_eq!(
        sig.as_deref(),
        Some(sign(&token, body).as_str()),
        "signed as sent"
    );
}
