//! The change feed against the Airtable emulator: a ping's changes become inbox events with the
//! cursor moved in the same transaction, and a feed that keeps failing waits before it is read
//! again instead of spending the base's request budget.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;

use super::{AIRTABLE, Fetcher};
use crate::clients::http::RetryPolicy;
use crate::connectors::airtable::client::{AirtableClient, AirtableLimits};
use crate::connectors::airtable::send::bench::{AirtableBench, TABLE};
use crate::store::tracker_webhooks::{self, NewTrackerWebhook};

fn client(bench: &AirtableBench) -> AirtableClient {
    let policy = RetryPolicy {
        max_attempts: 1,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
        ..RetryPolicy::default()
    };
    let token = SecretString::from(bench.airtable.token().to_owned());
    AirtableClient::new(
        &bench.airtable.api_base(),
        &token,
        policy,
        AirtableLimits::default(),
    )
    .expect("client")
}

fn fetcher(bench: &AirtableBench) -> Fetcher {
    let ctx = bench.dispatcher.pair("a").expect("pair a");
    let pairs = HashMap::from([("a".to_owned(), Arc::clone(ctx))]);
    Fetcher::new(bench.base.db.db.clone(), client(bench), pairs)
}

async fn register(bench: &AirtableBench, id: &str) {
    let hook = NewTrackerWebhook {
        connector: AIRTABLE.into(),
        id: id.into(),
        pair: "a".into(),
        base_id: bench.base_id().into(),
        notification_url: "http://127.0.0.1:9/webhooks/airtable".into(),
        mac_secret: "c2VjcmV0".into(),
        expires_at: None,
    };
    tracker_webhooks::insert(&bench.base.db.pool, &hook)
        .await
        .expect("insert");
    tracker_webhooks::ping(&bench.base.db.pool, AIRTABLE, id)
        .await
        .expect("ping");
}

fn payload_reads(bench: &AirtableBench) -> usize {
    let prefix = format!("/v0/bases/{}/webhooks/", bench.base_id());
    (bench.airtable.gate().calls().records().iter())
        .filter(|r| {
            r.method == "GET" && r.path.starts_with(&prefix) && r.path.ends_with("/payloads")
        })
        .count()
}

#[tokio::test]
async fn a_pings_changes_are_stored_and_the_cursor_moves_with_them() {
    let bench = AirtableBench::start().await;
    let c = client(&bench);
    let table = c.table(bench.base_id(), TABLE).await.unwrap().unwrap();
    let hook = c
        .create_webhook(
            bench.base_id(),
            &table.id,
            "http://127.0.0.1:9/webhooks/airtable",
        )
        .await
        .expect("webhook");
    register(&bench, &hook.id).await;
    bench.record(&[("Name", "Ada"), ("Status", "New")]);
    let f = fetcher(&bench);
    assert_eq!(
        f.fetch_due().await.expect("fetched"),
        1,
        "one record change"
    );
    let stored = tracker_webhooks::get(&bench.base.db.pool, AIRTABLE, &hook.id)
        .await
        .unwrap()
        .unwrap();
    assert!(stored.cursor > 1, "the cursor moved past the payload");
    assert_eq!(stored.fetched, stored.pinged, "the ping is answered");
    assert_eq!(f.fetch_due().await.expect("nothing due"), 0);
}

#[tokio::test]
async fn a_feed_that_keeps_failing_waits_before_it_is_read_again() {
    let bench = AirtableBench::start().await;
    register(&bench, "achGONE0000000000").await;
    let f = fetcher(&bench);
    assert!(
        f.fetch_due().await.is_err(),
        "Airtable does not know the webhook"
    );
    assert_eq!(payload_reads(&bench), 1);
    // Due again at once (the ping is still unanswered), but waiting out its backoff.
    assert_eq!(f.fetch_due().await.expect("skipped, not failed"), 0);
    assert_eq!(
        payload_reads(&bench),
        1,
        "no second read within the backoff"
    );
    let hook = tracker_webhooks::get(&bench.base.db.pool, AIRTABLE, "achGONE0000000000")
        .await
        .unwrap()
        .unwrap();
    assert!(hook.last_error.is_some(), "the failure is on the feed");
}
