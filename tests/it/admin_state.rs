//! `/admin` endpoints that read or drive the engine's state: reconcile, status and activity.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::admin_support::*;
use crate::ingress_support::status_and_json;

#[tokio::test]
async fn reconcile_answers_503_while_no_engine_runs() {
    let opts = Options {
        with_pair: false,
        ..Options::default()
    };
    let env = admin_env(opts).await;
    let response = env.app.admin_ok(Method::POST, "/admin/reconcile").await;
    let answer = status_and_json(response).await;
    assert_eq!(answer, (503, json!({"error": "engine not running"})));
}

#[tokio::test]
async fn reconcile_requeues_dead_letters_and_asks_the_engine_for_a_full_pass() {
    use leadsync::store::outbox::{self, NewCommand};
    use leadsync::sync::handle::EngineHandle;
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;
    use tower::ServiceExt as _;

    let env = admin_env(Options::default()).await;
    let db = env.app.state.db.clone();
    let command = NewCommand {
        pair: PAIR.into(),
        lead_id: Some("L1".into()),
        target: "sheets".into(),
        kind: "write_cells".into(),
        payload: json!({}),
        idempotency_key: "k1".into(),
    };
    outbox::enqueue(&db.pool, &command).await.expect("enqueue");
    let claimed = outbox::claim_due(&db, None, 10, Duration::from_secs(60))
        .await
        .expect("claim");
    outbox::dead_letter(&db.pool, claimed[0].id, "HTTP 403")
        .await
        .expect("dead letter");

    // The app has no engine while pairs are unresolved; serve its router with a handle instead.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut state = env.app.state.clone();
    state.engine = Some(EngineHandle::new(tx, Arc::new(AtomicUsize::new(1)), 1));
    let request = axum::http::Request::post("/admin/reconcile")
        .header("authorization", format!("Bearer {ADMIN_TOKEN}"))
        .body(axum::body::Body::empty())
        .expect("request");
    let response = leadsync::http::router(state)
        .oneshot(request)
        .await
        .expect("infallible");
    assert_eq!(response.status(), 202);
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
        .await
        .expect("body");
    let body: Value = serde_json::from_slice(&bytes).expect("json");
    assert_eq!(body["started"], json!(true));
    assert_eq!(body["requeued_dead_letters"], json!(1));
    assert_eq!(rx.try_recv().ok().as_deref(), Some("*"));
    let dead: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox WHERE status = 'dead'")
        .fetch_one(&db.pool)
        .await
        .expect("count");
    assert_eq!(dead, 0);
}

#[tokio::test]
async fn status_lists_pairs_inbox_depth_and_registered_webhooks() {
    let env = admin_env(Options::default()).await;
    let db = &env.app.state.db;
    let pair =
        leadsync::store::pairs::NewPair::sheets(PAIR, SPREADSHEET, SHEET, &env.board.board_id);
    leadsync::store::pairs::upsert_all(db, &[pair])
        .await
        .expect("pair");
    env.app.admin_ok(Method::POST, "/admin/webhooks").await;
    let (status, body) =
        status_and_json(env.app.admin_ok(Method::GET, "/admin/status").await).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["pairs"],
        json!([{ "name": PAIR, "links": 0, "inbox_depth": 0, "outbox_depth": 0,
                 "dead_letters": 0, "drained_last_minute": 0, "drain_eta_secs": 0,
                 "last_reconcile_at": null, "last_error": null }])
    );
    assert_eq!(body["inbox_depth"], json!(0));
    assert_eq!(body["engine_running"], json!(false));
    let webhooks = body["webhooks"].as_array().expect("webhooks");
    assert_eq!(webhooks.len(), 1, "{body}");
    assert_eq!(webhooks[0]["callback_url"], json!(env.callback_url()));
    assert_eq!(webhooks[0]["pair"], json!(PAIR));
    assert_eq!(webhooks[0]["system"], json!("trello"));
}

#[tokio::test]
async fn activity_is_newest_first_filtered_by_lead_and_limited() {
    use leadsync::store::activity::{NewActivity, insert};
    let env = admin_env(Options::default()).await;
    let db = &env.app.state.db;
    for (lead, field) in [("L1", "name"), ("L2", "status"), ("L1", "email")] {
        let entry = NewActivity {
            pair: PAIR.into(),
            lead_id: Some(lead.into()),
            card_id: Some("c1".into()),
            field: Some(field.into()),
            decision: "copy_to_trello".into(),
            detail: json!({"value": field}),
        };
        insert(&db.pool, &entry).await.expect("activity");
    }
    let get = |path: &'static str| env.app.admin_ok(Method::GET, path);
    let (status, all) = status_and_json(get("/admin/activity").await).await;
    assert_eq!(status, 200);
    let fields = |body: &Value| -> Vec<String> {
        body["entries"]
            .as_array()
            .expect("entries")
            .iter()
            .map(|e| e["field"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    assert_eq!(fields(&all), ["email", "status", "name"]);
    let first = &all["entries"][0];
    for key in [
        "at", "pair", "lead_id", "card_id", "field", "decision", "detail",
    ] {
        assert!(first.get(key).is_some(), "{key} missing in {first}");
    }
    let (_, l1) = status_and_json(get("/admin/activity?lead=L1&limit=1").await).await;
    assert_eq!(fields(&l1), ["email"]);
    for bad in ["/admin/activity?limit=ten", "/admin/activity?limit=0"] {
        let (status, body) = status_and_json(get(bad).await).await;
        assert_eq!(status, 400, "{bad}");
        assert!(body["error"].as_str().expect("error").contains("limit"));
    }
}
