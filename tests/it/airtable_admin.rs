//! Airtable webhooks through `/admin/webhooks`: registration on the Airtable pair's table (secret
//! and expiry stored, repeated safely, a webhook whose secret was lost replaced), listing beside
//! Trello's, deletion; and the emulator's signed pings reaching the door with the stored secret.

use std::time::Duration;

use leadsync::store::tracker_webhooks;
use reqwest::Method;
use serde_json::{Value, json};

use crate::admin_support::PAIR;
use crate::airtable_admin_support::*;
use crate::helpers::eventually;
use crate::ingress_support::status_and_json;

/// The answer's entries of one system.
fn of_system(body: &Value, system: &str) -> Vec<Value> {
    let all = body["webhooks"].as_array().expect("webhooks");
    let of = all.iter().filter(|w| w["system"] == system);
    of.cloned().collect()
}

async fn register(env: &AirtableEnv) -> Value {
    let response = env.app.admin_ok(Method::POST, "/admin/webhooks").await;
    let (status, body) = status_and_json(response).await;
    assert_eq!(status, 200, "{body}");
    body
}

#[tokio::test]
async fn registration_creates_one_table_webhook_stores_its_secret_and_is_idempotent() {
    let env = airtable_env().await;
    let first = register(&env).await;
    let second = register(&env).await;
    assert_eq!(first, second, "the second call reuses the webhook");

    let hooks = env.airtable.webhooks(&env.table.base_id);
    assert_eq!(hooks.len(), 1, "one webhook at Airtable after two calls");
    let hook = &hooks[0];
    assert_eq!(
        hook.notification_url.as_deref(),
        Some(env.notification_url().as_str())
    );
    assert_eq!(
        hook.specification["options"]["filters"]["recordChangeScope"],
        json!(env.table.table_id)
    );
    let expires_at = hook
        .expiration_time
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    assert_eq!(
        of_system(&first, "airtable"),
        [
            json!({"system": "airtable", "id": hook.id, "base_id": env.table.base_id,
                "pair": PAIR, "callback_url": env.notification_url(), "active": true,
                "expires_at": expires_at})
        ]
    );
    assert_eq!(of_system(&first, "trello").len(), 1, "{first}");

    let stored = tracker_webhooks::list(&env.app.state.db.pool)
        .await
        .expect("rows");
    assert_eq!(stored.len(), 1);
    let row = &stored[0];
    assert_eq!(
        (row.connector.as_str(), row.id.as_str()),
        ("airtable", hook.id.as_str())
    );
    assert_eq!(
        (row.pair.as_str(), row.base_id.as_str()),
        (PAIR, env.table.base_id.as_str())
    );
    assert_eq!(row.notification_url, env.notification_url());
    use base64::Engine as _;
    let secret = base64::engine::general_purpose::STANDARD.encode(&hook.mac_secret);
    assert_eq!(
        row.mac_secret, secret,
        "the secret shown at creation is kept"
    );
    assert_eq!(
        row.expires_at,
        Some(hook.expiration_time.timestamp_millis())
    );

    let listed = env.app.admin_ok(Method::GET, "/admin/webhooks").await;
    let (status, listed) = status_and_json(listed).await;
    assert_eq!(status, 200);
    assert_eq!(listed, first, "the list shows the same entries");
}

#[tokio::test]
async fn a_webhook_with_our_url_whose_secret_is_lost_is_replaced() {
    let env = airtable_env().await;
    let orphan = client(&env.airtable)
        .create_webhook(
            &env.table.base_id,
            &env.table.table_id,
            &env.notification_url(),
        )
        .await
        .expect("a webhook from a lost database");
    // And a row of a webhook Airtable no longer has (it cannot be pinged any more).
    let stale = tracker_webhooks::NewTrackerWebhook {
        connector: "airtable".into(),
        id: "achLongGone".into(),
        pair: PAIR.into(),
        base_id: env.table.base_id.clone(),
        notification_url: env.notification_url(),
        mac_secret: "c2VjcmV0".into(),
        expires_at: None,
    };
    let pool = &env.app.state.db.pool;
    tracker_webhooks::insert(pool, &stale)
        .await
        .expect("stale row");
    let body = register(&env).await;
    let hooks = env.airtable.webhooks(&env.table.base_id);
    assert_eq!(
        hooks.len(),
        1,
        "the orphan was deleted, one new webhook made"
    );
    assert_ne!(hooks[0].id, orphan.id);
    assert_eq!(of_system(&body, "airtable")[0]["id"], json!(hooks[0].id));
    let rows = tracker_webhooks::list(pool).await.expect("rows");
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(
        ids,
        [hooks[0].id.as_str()],
        "the new webhook's secret is stored and the stale row forgotten"
    );
}

#[tokio::test]
async fn pings_of_the_registered_webhook_pass_the_door_with_the_stored_secret() {
    let env = airtable_env().await;
    let body = register(&env).await;
    let id = of_system(&body, "airtable")[0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    env.airtable
        .user_create_record(
            &env.table.base_id,
            &env.table.table_name,
            &[("Name", "Ada")],
        )
        .expect("a change in the browser");
    let pool = env.app.state.db.pool.clone();
    eventually(
        "the emulator's ping counted",
        Duration::from_secs(10),
        || {
            let (pool, id) = (pool.clone(), id.clone());
            async move {
                let row = tracker_webhooks::get(&pool, "airtable", &id).await.ok()??;
                (row.pinged >= 1).then_some(())
            }
        },
    )
    .await;
}

#[tokio::test]
async fn deletion_removes_an_airtable_webhook_there_and_here() {
    let env = airtable_env().await;
    let body = register(&env).await;
    let id = of_system(&body, "airtable")[0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let path = format!("/admin/webhooks/{id}");
    let (status, answer) = status_and_json(env.app.admin_ok(Method::DELETE, &path).await).await;
    assert_eq!((status, answer), (200, json!({"deleted": id})));
    assert!(env.airtable.webhooks(&env.table.base_id).is_empty());
    let rows = tracker_webhooks::list(&env.app.state.db.pool)
        .await
        .expect("rows");
    assert!(rows.is_empty(), "forgotten here too");
    assert_eq!(env.app.admin_ok(Method::DELETE, &path).await.status(), 404);
}
