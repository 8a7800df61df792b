//! `/admin` against the real app and the Trello emulator: auth, webhook registration and
//! deletion, Trello failures and the Apps Script.

use std::time::Duration;

use leadsync::inbound::signature::TrelloVerifier;
use leadsync::sandbox::common::Faults;
use reqwest::Method;
use secrecy::SecretString;
use serde_json::json;

use crate::admin_support::*;
use crate::ingress_support::{status_and_json, trello_action};

#[tokio::test]
async fn every_admin_route_refuses_a_missing_or_wrong_token_with_401() {
    let env = admin_env(Options::default()).await;
    let wrong = [
        None,
        Some("Bearer wrong-token".to_owned()),
        Some(format!("Bearer {ADMIN_TOKEN}x")),
        Some(ADMIN_TOKEN.to_owned()),
        Some(format!("Basic {ADMIN_TOKEN}")),
        Some("Bearer ".to_owned()),
    ];
    for (method, path) in admin_routes() {
        for auth in &wrong {
            let response = env.app.admin(method.clone(), path, auth.as_deref()).await;
            let (status, body) = status_and_json(response).await;
            assert_eq!(status, 401, "{method} {path} with {auth:?}");
            assert!(body["error"].is_string(), "{method} {path}: {body}");
        }
    }
    assert!(env.trello.webhooks().is_empty(), "nothing was registered");
}

#[tokio::test]
async fn with_an_empty_admin_token_every_admin_route_answers_404_like_an_unknown_path() {
    let opts = Options {
        admin_token: "",
        ..Options::default()
    };
    let env = admin_env(opts).await;
    let unknown = status_and_json(env.app.get("/no-such-path").await).await;
    assert_eq!(unknown.0, 404);
    for (method, path) in admin_routes() {
        for auth in [None, Some("Bearer "), Some("Bearer anything")] {
            let response = env.app.admin(method.clone(), path, auth).await;
            let answer = status_and_json(response).await;
            assert_eq!(answer, unknown, "{method} {path} with {auth:?}");
        }
    }
    assert!(env.trello.webhooks().is_empty());
}

#[tokio::test]
async fn registration_is_idempotent_and_passes_the_trello_head_check() {
    let env = admin_env(Options::default()).await;
    let mut answers = Vec::new();
    for _ in 0..2 {
        let response = env.app.admin_ok(Method::POST, "/admin/webhooks").await;
        let (status, body) = status_and_json(response).await;
        assert_eq!(status, 200, "{body}");
        answers.push(body);
    }
    assert_eq!(answers[0], answers[1], "the second call reuses the webhook");

    let hooks = env.trello.webhooks();
    assert_eq!(
        hooks.len(),
        1,
        "one webhook in Trello after two registrations"
    );
    let hook = &hooks[0];
    assert_eq!(hook.callback_url, env.callback_url());
    assert_eq!(hook.id_model, env.board.board_id);
    assert_eq!(hook.description, format!("leadsync {PAIR}"));
    assert_eq!(
        answers[0],
        json!({"webhooks": [{
            "system": "trello", "id": hook.id, "board_id": env.board.board_id,
            "callback_url": env.callback_url(), "active": true
        }]})
    );
    assert_eq!(
        env.app.stored_webhooks().await,
        [(
            hook.id.clone(),
            Some(PAIR.to_owned()),
            env.board.board_id.clone(),
            env.callback_url()
        )]
    );
    let listed = status_and_json(env.app.admin_ok(Method::GET, "/admin/webhooks").await).await;
    assert_eq!(listed, (200, answers[0].clone()));
}

#[tokio::test]
async fn trello_deliveries_to_the_registered_callback_are_verified_and_stored() {
    let env = admin_env(Options::default()).await;
    let response = env.app.admin_ok(Method::POST, "/admin/webhooks").await;
    assert_eq!(response.status(), 200);
    let list = env.board.lists["New"].clone();
    env.trello
        .user_create_card(&list, "Ada Lovelace", "")
        .expect("card");
    assert!(env.trello.wait_deliveries(Duration::from_secs(10)).await);
    let deliveries = env.trello.deliveries();
    assert_eq!(deliveries.len(), 1, "{deliveries:?}");
    assert_eq!(deliveries[0].status, Some(200), "{deliveries:?}");
    let keys: Vec<String> = sqlx::query_scalar("SELECT dedupe_key FROM inbox")
        .fetch_all(&env.app.state.db.pool)
        .await
        .expect("inbox");
    assert_eq!(keys, [deliveries[0].action_id.clone()]);
}

#[tokio::test]
async fn a_registered_callback_url_stays_accepted_after_public_url_changes() {
    let env = admin_env(Options::default()).await;
    let response = env.app.admin_ok(Method::POST, "/admin/webhooks").await;
    assert_eq!(response.status(), 200);
    let old_callback = env.callback_url();
    let AdminEnv {
        app,
        trello,
        board,
        config,
        ..
    } = env;
    app.shutdown.cancel();
    let _ = app.handle.await;

    // Same database, another public URL: the old webhook's signatures must still verify.
    let dir = tempfile::tempdir().expect("tempdir");
    let toml = std::fs::read_to_string(&config).expect("config").replace(
        &old_callback.replace("/webhooks/trello", ""),
        "https://moved.example.com",
    );
    let moved = dir.path().join("moved.toml");
    std::fs::write(&moved, toml).expect("write");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let app = start(&moved, listener, dir).await;
    let signer =
        TrelloVerifier::new(&SecretString::from(trello.api_secret()), vec![]).expect("signer");
    let body = trello_action("act-old-callback", &board.board_id);
    let signature = signer.sign(body.as_bytes(), &old_callback);
    let (status, answer) = status_and_json(app.post_trello(&body, Some(&signature)).await).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["duplicate"], json!(false));
    let unknown = signer.sign(
        body.as_bytes(),
        "https://elsewhere.example.com/webhooks/trello",
    );
    let refused = app.post_trello(&body, Some(&unknown)).await;
    assert_eq!(refused.status(), 401);
}

#[tokio::test]
async fn deletion_removes_the_webhook_in_trello_and_here() {
    let env = admin_env(Options::default()).await;
    let (_, registered) =
        status_and_json(env.app.admin_ok(Method::POST, "/admin/webhooks").await).await;
    let id = registered["webhooks"][0]["id"]
        .as_str()
        .expect("an id")
        .to_owned();
    let path = format!("/admin/webhooks/{id}");
    let (status, body) = status_and_json(env.app.admin_ok(Method::DELETE, &path).await).await;
    assert_eq!((status, body), (200, json!({"deleted": id})));
    assert!(env.trello.webhooks().is_empty());
    assert!(env.app.stored_webhooks().await.is_empty());
    let listed = status_and_json(env.app.admin_ok(Method::GET, "/admin/webhooks").await).await;
    assert_eq!(listed, (200, json!({"webhooks": []})));

    let (status, body) = status_and_json(env.app.admin_ok(Method::DELETE, &path).await).await;
    assert_eq!(status, 404);
    assert!(
        body["error"].as_str().expect("error").contains(&id),
        "{body}"
    );
    let bad = env
        .app
        .admin_ok(Method::DELETE, "/admin/webhooks/not-an-id")
        .await;
    assert_eq!(bad.status(), 404);
}

#[tokio::test]
async fn trello_failures_answer_502_without_secrets() {
    let env = admin_env(Options::default()).await;
    env.trello.gate().set_faults(Faults {
        fail_next: vec![401],
        ..Faults::default()
    });
    let (status, body) =
        status_and_json(env.app.admin_ok(Method::GET, "/admin/webhooks").await).await;
    assert_eq!(status, 502, "{body}");
    let text = body["error"].as_str().expect("error");
    for secret in [env.trello.api_key(), env.trello.api_token()] {
        assert!(!text.contains(secret), "{text}");
    }
}

#[tokio::test]
async fn the_apps_script_endpoint_fills_in_the_pair_and_names_what_is_wrong() {
    let env = admin_env(Options::default()).await;
    for path in ["/admin/apps-script", "/admin/apps-script?pair=sales"] {
        let response = env.app.admin_ok(Method::GET, path).await;
        assert_eq!(response.status(), 200);
        let kind = response.headers()["content-type"].to_str().expect("ascii");
        assert!(kind.starts_with("text/plain"), "{kind}");
        let script = response.text().await.expect("text");
        assert_filled_in(&script, &env.public_url);
    }
    let (status, body) = status_and_json(
        env.app
            .admin_ok(Method::GET, "/admin/apps-script?pair=nope")
            .await,
    )
    .await;
    assert_eq!(status, 404);
    assert!(
        body["error"].as_str().expect("error").contains("\"nope\""),
        "{body}"
    );

    let opts = Options {
        sheets_secret: "",
        ..Options::default()
    };
    let env = admin_env(opts).await;
    let (status, body) =
        status_and_json(env.app.admin_ok(Method::GET, "/admin/apps-script").await).await;
    assert_eq!(status, 500);
    assert!(
        body["error"]
            .as_str()
            .expect("error")
            .contains("apps_script.secret")
    );
}

/// The four values are in the script, escaped for a JavaScript string, and no placeholder is left.
pub fn assert_filled_in(script: &str, public_url: &str) {
    let expect = [
        format!(r#"const LEADSYNC_URL = "{public_url}/webhooks/sheets";"#),
        format!(r#"const LEADSYNC_SECRET = "{SHEETS_SECRET}";"#),
        format!(r#"const SPREADSHEET_ID = "{SPREADSHEET}";"#),
        format!(r#"const SHEET_NAME = "{SHEET}";"#),
    ];
    for line in expect {
        assert!(script.contains(&line), "missing {line}");
    }
    for name in [
        "LEADSYNC_URL",
        "LEADSYNC_SECRET",
        "SPREADSHEET_ID",
        "SHEET_NAME",
    ] {
        assert!(!script.contains(&format!("{{{{{name}}}}}")), "{name} left");
    }
    assert!(script.contains("function setup()"));
}
