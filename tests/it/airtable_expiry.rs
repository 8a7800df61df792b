//! The Airtable webhook upkeep of the running app: at start-up each stored webhook's expiry is
//! read from Airtable's list; one expiring within 2 days is refreshed, one far from expiry is left
//! alone, and problems (not listed any more, refresh refused) are recorded and shown by
//! `/admin/status`.

use std::time::Duration;

use chrono::Utc;
use leadsync::connectors::airtable::client::CreatedWebhook;
use leadsync::store::Pool;
use leadsync::store::tracker_webhooks::{self, NewTrackerWebhook, TrackerWebhook};
use reqwest::Method;
use secrecy::ExposeSecret;
use serde_json::{Value, json};

use crate::admin_support::PAIR;
use crate::airtable_admin_support::*;
use crate::helpers::eventually;
use crate::ingress_support::status_and_json;

const WEEK: Duration = Duration::from_secs(7 * 24 * 3600);
const GONE: &str = "achGoneFromAirtable1";

fn row(base_id: &str, url: &str, hook: &CreatedWebhook) -> NewTrackerWebhook {
    NewTrackerWebhook {
        connector: "airtable".into(),
        id: hook.id.clone(),
        pair: PAIR.into(),
        base_id: base_id.to_owned(),
        notification_url: url.to_owned(),
        mac_secret: hook.mac_secret_base64.expose_secret().to_owned(),
        expires_at: Some(hook.expiration_time.timestamp_millis()),
    }
}

async fn stored(pool: &Pool, id: &str) -> TrackerWebhook {
    let row = tracker_webhooks::get(pool, "airtable", id).await;
    row.expect("read").expect("stored")
}

#[tokio::test]
async fn start_up_refreshes_what_expires_soon_leaves_the_rest_and_reports_problems() {
    let prepared = prepare().await;
    let (base, table) = (
        prepared.table.base_id.clone(),
        prepared.table.table_id.clone(),
    );
    let url = prepared.notification_url();
    let c = client(&prepared.airtable);
    prepared
        .airtable
        .set_webhook_lifetime(Duration::from_secs(3600));
    let near = c.create_webhook(&base, &table, &url).await.expect("near");
    let expired = c
        .create_webhook(&base, &table, &url)
        .await
        .expect("expired");
    assert!(prepared.airtable.expire_webhook(&base, &expired.id));
    prepared.airtable.set_webhook_lifetime(WEEK);
    let far = c.create_webhook(&base, &table, &url).await.expect("far");
    let db = prepared.db().await;
    for hook in [&near, &expired, &far] {
        tracker_webhooks::insert(&db.pool, &row(&base, &url, hook))
            .await
            .expect("seed");
    }
    let mut gone = row(&base, &url, &far);
    gone.id = GONE.into();
    tracker_webhooks::insert(&db.pool, &gone)
        .await
        .expect("seed");
    db.close().await;

    let env = prepared.start().await;
    let pool = env.app.state.db.pool.clone();
    let six_days_on = (Utc::now() + chrono::Duration::days(6)).timestamp_millis();
    let near_id = near.id.clone();
    eventually("the upkeep's first pass", Duration::from_secs(10), || {
        let (pool, near_id) = (pool.clone(), near_id.clone());
        async move {
            let all = tracker_webhooks::list(&pool).await.ok()?;
            let near_done =
                (all.iter()).any(|w| w.id == near_id && w.expires_at > Some(six_days_on));
            let errors = all.iter().filter(|w| w.last_error.is_some()).count();
            (near_done && errors == 2).then_some(())
        }
    })
    .await;

    let refreshes = |id: &str| {
        let path = format!("/v0/bases/{base}/webhooks/{id}/refresh");
        env.airtable.gate().calls().count("POST", &path)
    };
    assert_eq!(refreshes(&near.id), 1, "expiring within 2 days: refreshed");
    assert_eq!(refreshes(&far.id), 0, "a week left: untouched");
    let at_airtable = env.airtable.webhooks(&base);
    let near_now = at_airtable.iter().find(|w| w.id == near.id).expect("near");
    assert_eq!(
        stored(&pool, &near.id).await.expires_at,
        Some(near_now.expiration_time.timestamp_millis()),
        "the new expiry is stored"
    );
    let far_row = stored(&pool, &far.id).await;
    assert_eq!(
        far_row.expires_at,
        Some(far.expiration_time.timestamp_millis())
    );
    assert_eq!(far_row.last_error, None);
    let gone_row = stored(&pool, GONE).await;
    assert!(
        gone_row
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("no longer lists")),
        "{gone_row:?}"
    );
    let expired_row = stored(&pool, &expired.id).await;
    assert!(
        (expired_row.last_error.as_deref()).is_some_and(|e| e.starts_with("refresh failed: ")),
        "{expired_row:?}"
    );

    let (status, body) =
        status_and_json(env.app.admin_ok(Method::GET, "/admin/status").await).await;
    assert_eq!(status, 200, "{body}");
    let shown: Vec<&Value> = (body["webhooks"].as_array().expect("webhooks").iter())
        .filter(|w| w["system"] == "airtable")
        .collect();
    assert_eq!(shown.len(), 4, "{body}");
    let of = |id: &str| *shown.iter().find(|w| w["id"] == id).expect("shown");
    let rfc3339 = |t: chrono::DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    assert_eq!(
        of(&near.id),
        &json!({"id": near.id, "system": "airtable", "pair": PAIR, "base_id": base,
                "expires_at": rfc3339(near_now.expiration_time), "last_error": null})
    );
    assert_eq!(of(GONE)["last_error"], json!(gone_row.last_error));
    assert!(body["pairs"].is_array() && body["inbox_depth"].is_number());

    // The upkeep waits out its hour on the shutdown signal, so the app stops at once.
    env.app.shutdown.cancel();
    let stopped = tokio::time::timeout(Duration::from_secs(5), env.app.handle).await;
    assert!(matches!(stopped, Ok(Ok(Ok(())))), "{stopped:?}");
}
