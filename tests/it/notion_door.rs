//! `POST /webhooks/notion` and the token's admin routes against the running app with the Notion
//! emulator: the verification handshake (token kept, never replaced, served to the admin), and
//! events refused with 401 and nothing stored when their signature is bad or missing.

use leadsync::connectors::notion::sandbox::sign;
use leadsync::demo::world::World;
use secrecy::ExposeSecret;

use crate::e2e::{P, SETTLE};
use crate::e2e_notion::{eventually, notion_world, user_creates};

async fn post(w: &World, body: &str, signature: Option<&str>) -> reqwest::StatusCode {
    let mut request = reqwest::Client::new()
        .post(format!("{}/webhooks/notion", w.base_url()))
        .header("content-type", "application/json")
        .body(body.to_owned());
    if let Some(s) = signature {
        request = request.header("X-Notion-Signature", s);
    }
    request.send().await.expect("request").status()
}

async fn admin_token(w: &World) -> (reqwest::StatusCode, serde_json::Value) {
    let admin = w.settings.server.admin_token.expose_secret().to_owned();
    let response = reqwest::Client::new()
        .get(format!("{}/admin/notion-token", w.base_url()))
        .bearer_auth(admin)
        .send()
        .await
        .expect("request");
    let status = response.status();
    (status, response.json().await.unwrap_or_default())
}

async fn count(w: &World, sql: &'static str) -> i64 {
    let db = &w.state().expect("running").db;
    sqlx::query_scalar(sql)
        .fetch_one(&db.pool)
        .await
        .expect("count")
}

/// The token Notion's verification request carried to the daemon.
fn subscription_token(w: &World) -> String {
    let nt = w.notion.as_ref().expect("emulator");
    assert!(
        !nt.deliveries().is_empty(),
        "the verification request was delivered"
    );
    nt.subscription().expect("subscribed").verification_token
}

#[tokio::test(flavor = "multi_thread")]
async fn the_verification_token_is_kept_served_to_the_admin_and_never_replaced() {
    let w = notion_world().await;
    let token = subscription_token(&w);
    let (status, body) = admin_token(&w).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token"], token.as_str());
    assert_eq!(body["source"], "verification_request");
    // A second verification request (anyone who knows the URL can send one) is answered 200
    // and changes nothing.
    let again = post(&w, r#"{"verification_token": "secret_someone_else"}"#, None).await;
    assert_eq!(again, 200);
    let (_, body) = admin_token(&w).await;
    assert_eq!(body["token"], token.as_str(), "the first token stays");
    // Events signed with it are accepted: a page typed in Notion still becomes a card.
    user_creates(&w, &[("Name", "Ada"), ("Status", "New")]);
    eventually(&w, "card", |w| w.card_named(P, "Ada").is_some()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_or_missing_signature_is_refused_with_401_and_nothing_is_stored() {
    let w = notion_world().await;
    w.settle(SETTLE).await.expect("settles");
    let event = r#"{"id":"e-forged","timestamp":"2026-12-03T08:00:00.000Z","type":"page.created","entity":{"id":"1a2b3c4d5e6f708192a3b4c5d6e7f809","type":"page"},"authors":[]}"#;
    let events = "SELECT count(*) FROM notion_events";
    let inbox = "SELECT count(*) FROM inbox";
    let (before_events, before_inbox) = (count(&w, events).await, count(&w, inbox).await);
    let forged = sign("not-the-token", event.as_bytes());
    assert_eq!(post(&w, event, Some(&forged)).await, 401);
    assert_eq!(
        post(&w, event, None).await,
        401,
        "unsigned and not a verification"
    );
    assert_eq!(post(&w, event, Some("sha256=zz")).await, 401);
    // The right signature over other bytes is no signature of these.
    let token = subscription_token(&w);
    let other = sign(&token, b"{}");
    assert_eq!(post(&w, event, Some(&other)).await, 401);
    assert_eq!(count(&w, events).await, before_events, "nothing stored");
    assert_eq!(count(&w, inbox).await, before_inbox);
    // The same event rightly signed is stored, once however often it comes.
    let signed = sign(&token, event.as_bytes());
    assert_eq!(post(&w, event, Some(&signed)).await, 200);
    assert_eq!(post(&w, event, Some(&signed)).await, 200);
    let stored = count(
        &w,
        "SELECT count(*) FROM notion_events WHERE id = 'e-forged'",
    )
    .await;
    assert_eq!(stored, 1);
}

/// `leadsync --config … webhooks notion-token [--reset]` on the world's database.
async fn cli(w: &World, args: &[&str]) -> (Option<i32>, String, String) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_leadsync"))
        .env_remove("LEADSYNC_CONFIG")
        .env_remove("RUST_LOG")
        .arg("--config")
        .arg(w.config_path())
        .args(["webhooks", "notion-token"])
        .args(args)
        .output()
        .await
        .expect("leadsync runs");
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cli_prints_the_token_and_reset_forgets_it_for_a_new_subscription() {
    let w = notion_world().await;
    let token = subscription_token(&w);
    let (code, stdout, stderr) = cli(&w, &[]).await;
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(stdout.trim(), token);
    let (code, stdout, _) = cli(&w, &["--reset"]).await;
    assert_eq!(code, Some(0));
    assert!(stdout.contains("forgotten"), "{stdout}");
    let (code, _, stderr) = cli(&w, &[]).await;
    assert_ne!(code, Some(0), "no token any more");
    assert!(
        stderr.contains("no Notion verification token yet"),
        "{stderr}"
    );
    let (status, _) = admin_token(&w).await;
    assert_eq!(status, 404);
    // A new subscription's verification request is kept again.
    let again = post(
        &w,
        r#"{"verification_token": "secret_new_subscription"}"#,
        None,
    )
    .await;
    assert_eq!(again, 200);
    let (_, body) = admin_token(&w).await;
    assert_eq!(body["token"], "secret_new_subscription");
}
