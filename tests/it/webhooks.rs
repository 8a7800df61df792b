//! Webhook ingress against the running app: what is refused (and stores nothing), what is stored
//! exactly once, and what happens when the database cannot take the event.

use crate::ingress_support::*;

#[tokio::test]
async fn a_signed_trello_action_is_stored_for_its_pair() {
    let app = spawn_ingress_app().await;
    let body = trello_action("act-1", BOARD);
    let (status, json) = status_and_json(app.post_signed_trello(&body).await).await;
    assert_eq!(status, 200);
    assert_eq!(
        json,
        serde_json::json!({"accepted": true, "duplicate": false})
    );
    let rows = app.inbox_rows().await;
    assert_eq!(rows.len(), 1);
    let (source, key, pair, stored) = &rows[0];
    assert_eq!(
        (source.as_str(), key.as_str(), pair.as_str()),
        ("trello", "act-1", "default")
    );
    assert_eq!(stored, body.as_bytes(), "the raw bytes are kept as signed");
}

#[tokio::test]
async fn head_on_the_trello_callback_answers_200_and_other_methods_405() {
    let app = spawn_ingress_app().await;
    let head = app
        .client
        .head(app.url("/webhooks/trello"))
        .send()
        .await
        .expect("head");
    assert_eq!(head.status(), 200);
    for (method, path) in [
        (reqwest::Method::GET, "/webhooks/trello"),
        (reqwest::Method::PUT, "/webhooks/trello"),
        (reqwest::Method::GET, "/webhooks/sheets"),
        (reqwest::Method::DELETE, "/webhooks/sheets"),
    ] {
        let response = app
            .client
            .request(method.clone(), app.url(path))
            .send()
            .await
            .expect("send");
        assert_eq!(response.status(), 405, "{method} {path}");
        let (_, json) = status_and_json(response).await;
        assert_eq!(json["error"], "method not allowed");
    }
}

#[tokio::test]
async fn every_bad_trello_signature_is_401_and_stores_nothing() {
    let app = spawn_ingress_app().await;
    let body = trello_action("act-bad", BOARD);
    let good = trello_signer().sign(body.as_bytes(), CALLBACK);
    let wrong_url = trello_signer().sign(
        body.as_bytes(),
        "https://elsewhere.example.com/webhooks/trello",
    );
    let other_secret = leadsync::inbound::signature::TrelloVerifier::new(
        &secrecy::SecretString::from("not-the-secret"),
        vec![],
    )
    .expect("key")
    .sign(body.as_bytes(), CALLBACK);
    let reserialised = serde_json::to_string_pretty(
        &serde_json::from_str::<serde_json::Value>(&body).expect("json"),
    )
    .expect("json");
    let cases: Vec<(&str, String, Option<String>)> = vec![
        ("missing", body.clone(), None),
        ("not base64", body.clone(), Some("%%%".into())),
        (
            "truncated",
            body.clone(),
            Some(good[..good.len() - 8].to_owned()),
        ),
        ("wrong callback URL", body.clone(), Some(wrong_url)),
        ("wrong secret", body.clone(), Some(other_secret)),
        ("re-serialised body", reserialised, Some(good.clone())),
    ];
    for (what, body, signature) in cases {
        let (status, json) =
            status_and_json(app.post_trello(&body, signature.as_deref()).await).await;
        assert_eq!(status, 401, "{what}");
        assert!(json["error"].is_string(), "{what}: {json}");
    }
    assert!(app.inbox_rows().await.is_empty());
}

#[tokio::test]
async fn every_bad_apps_script_delivery_is_401_and_stores_nothing() {
    let app = spawn_ingress_app().await;
    let body = sheets_edit(SPREADSHEET, "Ada");
    let now = now();
    let sign = |ts: i64| sheets_key().sign("evt_1", ts, body.as_bytes());
    let good = sign(now);
    // Past the 300 s tolerance both ways. A stale stamp only grows staler while the cases
    // run; a future one comes nearer, so it has a minute's margin for a busy machine (at
    // +301 s, a second spent on the cases before it made it acceptable).
    let stale = sign(now - 301);
    let future = sign(now + 360);
    let (now_s, stale_s, future_s) = (
        now.to_string(),
        (now - 301).to_string(),
        (now + 360).to_string(),
    );
    let truncated = good[..good.len() - 4].to_owned();
    let cases: Vec<(&str, Vec<(&str, &str)>)> = vec![
        (
            "no id",
            vec![("webhook-timestamp", &now_s), ("webhook-signature", &good)],
        ),
        (
            "no timestamp",
            vec![("webhook-id", "evt_1"), ("webhook-signature", &good)],
        ),
        (
            "no signature",
            vec![("webhook-id", "evt_1"), ("webhook-timestamp", &now_s)],
        ),
        (
            "stale",
            vec![
                ("webhook-id", "evt_1"),
                ("webhook-timestamp", &stale_s),
                ("webhook-signature", &stale),
            ],
        ),
        (
            "future",
            vec![
                ("webhook-id", "evt_1"),
                ("webhook-timestamp", &future_s),
                ("webhook-signature", &future),
            ],
        ),
        (
            "negative timestamp",
            vec![
                ("webhook-id", "evt_1"),
                ("webhook-timestamp", "-1"),
                ("webhook-signature", &good),
            ],
        ),
        (
            "truncated",
            vec![
                ("webhook-id", "evt_1"),
                ("webhook-timestamp", &now_s),
                ("webhook-signature", &truncated),
            ],
        ),
        (
            "bad base64",
            vec![
                ("webhook-id", "evt_1"),
                ("webhook-timestamp", &now_s),
                ("webhook-signature", "v1,@@@"),
            ],
        ),
        (
            "other id",
            vec![
                ("webhook-id", "evt_2"),
                ("webhook-timestamp", &now_s),
                ("webhook-signature", &good),
            ],
        ),
    ];
    for (what, headers) in cases {
        let (status, json) = status_and_json(app.post_sheets(&body, &headers).await).await;
        assert_eq!(status, 401, "{what}");
        assert!(json["error"].is_string(), "{what}: {json}");
    }
    let reserialised =
        serde_json::to_string(&serde_json::from_str::<serde_json::Value>(&body).expect("json"))
            .expect("json");
    let headers = [
        ("webhook-id", "evt_1"),
        ("webhook-timestamp", now_s.as_str()),
        ("webhook-signature", good.as_str()),
    ];
    assert_eq!(
        app.post_sheets(&reserialised, &headers).await.status(),
        401,
        "re-serialised body"
    );
    assert!(app.inbox_rows().await.is_empty());
}

#[tokio::test]
async fn a_valid_signature_over_a_body_of_the_wrong_shape_is_400() {
    let app = spawn_ingress_app().await;
    let (status, json) =
        status_and_json(app.post_signed_trello(r#"{"hello":"world"}"#).await).await;
    assert_eq!(status, 400);
    let error = json["error"].as_str().expect("an error message");
    assert!(
        error.starts_with("body is not a valid event: not a Trello action: missing field `action`"),
        "{error}"
    );
    let response = app
        .post_signed_sheets("evt_x", r#"{"test": 2432232314}"#)
        .await;
    assert_eq!(response.status(), 400);
    assert!(app.inbox_rows().await.is_empty());
}

#[tokio::test]
async fn a_body_over_the_limit_is_413_and_stores_nothing() {
    let app = spawn_ingress_app_limited(2048).await;
    let padding = "x".repeat(4096);
    let body = trello_action(&format!("act-{padding}"), BOARD);
    assert_eq!(app.post_signed_trello(&body).await.status(), 413);
    let signature = trello_signer().sign(body.as_bytes(), CALLBACK);
    let status = post_chunked(&app.base, "/webhooks/trello", &signature, body.as_bytes()).await;
    assert_eq!(status, 413, "without a Content-Length too");
    assert!(app.inbox_rows().await.is_empty());
}

/// A POST with `Transfer-Encoding: chunked` (no Content-Length) over a raw connection; returns
/// the status code.
async fn post_chunked(base: &str, path: &str, signature: &str, body: &[u8]) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "POST {path} HTTP/1.1\r\nhost: {addr}\r\nx-trello-webhook: {signature}\r\n\
         transfer-encoding: chunked\r\nconnection: close\r\n\r\n{:x}\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.expect("write");
    stream.write_all(body).await.expect("write");
    stream.write_all(b"\r\n0\r\n\r\n").await.expect("write");
    let mut answer = Vec::new();
    // The server may answer and close before it has read the whole body.
    let _ = stream.read_to_end(&mut answer).await;
    let text = String::from_utf8_lossy(&answer);
    text.split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .expect("status line")
}

#[tokio::test]
async fn a_trello_action_replayed_three_times_is_stored_once() {
    let app = spawn_ingress_app().await;
    let body = trello_action("act-replay", BOARD);
    let mut duplicates = Vec::new();
    for _ in 0..3 {
        let (status, json) = status_and_json(app.post_signed_trello(&body).await).await;
        assert_eq!(status, 200);
        duplicates.push(json["duplicate"].as_bool().expect("duplicate flag"));
    }
    assert_eq!(duplicates, [false, true, true]);
    assert_eq!(app.inbox_rows().await.len(), 1);
}

#[tokio::test]
async fn an_apps_script_event_resent_three_times_is_stored_once() {
    let app = spawn_ingress_app().await;
    let body = sheets_edit(SPREADSHEET, "Zoë Ångström – café");
    let mut duplicates = Vec::new();
    for _ in 0..3 {
        let (status, json) =
            status_and_json(app.post_signed_sheets("evt_replay", &body).await).await;
        assert_eq!(status, 200, "{json}");
        duplicates.push(json["duplicate"].as_bool().expect("duplicate flag"));
    }
    assert_eq!(duplicates, [false, true, true]);
    let rows = app.inbox_rows().await;
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0].0.as_str(), rows[0].1.as_str()),
        ("sheets", "evt_replay")
    );
    assert_eq!(rows[0].3, body.as_bytes());
}

#[tokio::test]
async fn twenty_five_concurrent_deliveries_of_one_action_store_one_row() {
    let app = std::sync::Arc::new(spawn_ingress_app().await);
    let body = trello_action("act-race", BOARD);
    let tasks: Vec<_> = (0..25)
        .map(|_| {
            let (app, body) = (app.clone(), body.clone());
            tokio::spawn(async move { status_and_json(app.post_signed_trello(&body).await).await })
        })
        .collect();
    let mut fresh = 0;
    for task in tasks {
        let (status, json) = task.await.expect("task");
        assert_eq!(status, 200, "{json}");
        if json["duplicate"] == false {
            fresh += 1;
        }
    }
    assert_eq!(fresh, 1, "exactly one delivery stored the event");
    assert_eq!(app.inbox_rows().await.len(), 1);
}

#[tokio::test]
async fn events_for_an_unknown_board_or_sheet_are_acknowledged_but_not_stored() {
    let app = spawn_ingress_app().await;
    let (status, json) = status_and_json(
        app.post_signed_trello(&trello_action("act-u", "other-board"))
            .await,
    )
    .await;
    assert_eq!((status, json["accepted"].as_bool()), (200, Some(true)));
    assert!(json["ignored"].is_string());
    let response = app
        .post_signed_sheets("evt_u", &sheets_edit("other-spreadsheet", "Ada"))
        .await;
    assert_eq!(response.status(), 200);
    assert!(app.inbox_rows().await.is_empty());
}

#[tokio::test]
async fn a_signature_for_an_earlier_registered_callback_url_is_accepted() {
    let app = spawn_ingress_app().await;
    let old = "https://old.example.com/webhooks/trello";
    sqlx::query("INSERT INTO trello_webhooks (id, board_id, callback_url, created_at) VALUES ('w1', $1, $2, 0)")
        .bind(BOARD)
        .bind(old)
        .execute(&app.state.db.pool)
        .await
        .expect("insert webhook");
    app.state
        .ingress
        .refresh_callback_urls(&app.state.db)
        .await
        .expect("refresh");
    let body = trello_action("act-old-url", BOARD);
    let signature = trello_signer().sign(body.as_bytes(), old);
    assert_eq!(app.post_trello(&body, Some(&signature)).await.status(), 200);
    assert_eq!(app.inbox_rows().await.len(), 1);
}
