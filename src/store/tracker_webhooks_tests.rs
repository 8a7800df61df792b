//! Tests of the `tracker_webhooks` storage.

use super::*;
use crate::store::testdb::temp_db;

fn hook(id: &str, pair: &str) -> NewTrackerWebhook {
    NewTrackerWebhook {
        connector: "airtable".into(),
        id: id.into(),
        pair: pair.into(),
        base_id: format!("app{pair}"),
        notification_url: "https://x/webhooks/airtable".into(),
        mac_secret: format!("c2VjcmV0{id}"),
        expires_at: Some(1_000),
    }
}

#[tokio::test]
async fn an_inserted_webhook_reads_back_with_defaults_and_a_known_id_is_kept() {
    let db = temp_db().await;
    assert!(insert(&db.pool, &hook("ach1", "a")).await.unwrap());
    let mut other = hook("ach1", "b");
    other.mac_secret = "bmV3".into();
    assert!(!insert(&db.pool, &other).await.unwrap(), "known id");
    let got = get(&db.pool, "airtable", "ach1").await.unwrap().unwrap();
    assert_eq!(
        (got.pair.as_str(), got.base_id.as_str()),
        ("a", "appa"),
        "the first registration stands"
    );
    assert_eq!(got.mac_secret, "c2VjcmV0ach1");
    assert_eq!(got.notification_url, "https://x/webhooks/airtable");
    assert_eq!(got.expires_at, Some(1_000));
    assert_eq!((got.cursor, got.pinged, got.fetched), (1, 0, 0));
    assert_eq!(got.last_error, None);
    assert!(got.created_at > 0 && got.updated_at >= got.created_at);
    assert_eq!(get(&db.pool, "airtable", "nope").await.unwrap(), None);
    assert_eq!(get(&db.pool, "other", "ach1").await.unwrap(), None);
}

#[tokio::test]
async fn lists_are_all_or_one_pairs_and_delete_forgets() {
    let db = temp_db().await;
    for (id, pair) in [("ach1", "a"), ("ach2", "b"), ("ach3", "a")] {
        insert(&db.pool, &hook(id, pair)).await.unwrap();
    }
    let ids = |v: Vec<TrackerWebhook>| v.into_iter().map(|w| w.id).collect::<Vec<_>>();
    let mut all = ids(list(&db.pool).await.unwrap());
    all.sort();
    assert_eq!(all, ["ach1", "ach2", "ach3"]);
    let mut of_a = ids(list_for_pair(&db.pool, "a").await.unwrap());
    of_a.sort();
    assert_eq!(of_a, ["ach1", "ach3"]);
    assert!(delete(&db.pool, "airtable", "ach1").await.unwrap());
    assert!(!delete(&db.pool, "airtable", "ach1").await.unwrap());
    assert_eq!(ids(list_for_pair(&db.pool, "a").await.unwrap()), ["ach3"]);
}

#[tokio::test]
async fn pings_make_a_webhook_due_until_fetched_up_to_them() {
    let db = temp_db().await;
    insert(&db.pool, &hook("ach1", "a")).await.unwrap();
    insert(&db.pool, &hook("ach2", "b")).await.unwrap();
    assert!(due(&db.pool).await.unwrap().is_empty());
    assert!(ping(&db.pool, "airtable", "ach1").await.unwrap());
    assert!(ping(&db.pool, "airtable", "ach1").await.unwrap());
    assert!(!ping(&db.pool, "airtable", "unknown").await.unwrap());
    let due_now = due(&db.pool).await.unwrap();
    assert_eq!(due_now.len(), 1);
    assert_eq!((due_now[0].id.as_str(), due_now[0].pinged), ("ach1", 2));

    // A fetch that started at pinged = 1 leaves the second ping due.
    let mut tx = db.begin_write().await.unwrap();
    assert!(
        advance_cursor(&mut *tx, "airtable", "ach1", 7)
            .await
            .unwrap()
    );
    assert!(mark_fetched(&mut *tx, "airtable", "ach1", 1).await.unwrap());
    tx.commit().await.unwrap();
    let still = due(&db.pool).await.unwrap();
    assert_eq!((still[0].cursor, still[0].fetched), (7, 1));

    mark_fetched(&db.pool, "airtable", "ach1", 2).await.unwrap();
    assert!(due(&db.pool).await.unwrap().is_empty());
    // A late fetch that started earlier never moves `fetched` back.
    mark_fetched(&db.pool, "airtable", "ach1", 1).await.unwrap();
    let got = get(&db.pool, "airtable", "ach1").await.unwrap().unwrap();
    assert_eq!(got.fetched, 2);
    assert!(!mark_fetched(&db.pool, "airtable", "nope", 1).await.unwrap());
    assert!(
        !advance_cursor(&db.pool, "airtable", "nope", 2)
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn a_pairs_ping_makes_each_of_its_webhooks_due_and_no_other() {
    let db = temp_db().await;
    insert(&db.pool, &hook("ach1", "a")).await.unwrap();
    insert(&db.pool, &hook("ach2", "a")).await.unwrap();
    insert(&db.pool, &hook("ach3", "b")).await.unwrap();
    assert_eq!(ping_pair(&db.pool, "a").await.unwrap(), 2);
    assert_eq!(ping_pair(&db.pool, "none").await.unwrap(), 0);
    let due_now: Vec<String> = due(&db.pool)
        .await
        .unwrap()
        .into_iter()
        .map(|h| h.id)
        .collect();
    assert_eq!(due_now, ["ach1", "ach2"]);
}

#[tokio::test]
async fn a_rolled_back_fetch_leaves_cursor_and_fetched_as_they_were() {
    let db = temp_db().await;
    insert(&db.pool, &hook("ach1", "a")).await.unwrap();
    ping(&db.pool, "airtable", "ach1").await.unwrap();
    let mut tx = db.begin_write().await.unwrap();
    advance_cursor(&mut *tx, "airtable", "ach1", 9)
        .await
        .unwrap();
    mark_fetched(&mut *tx, "airtable", "ach1", 1).await.unwrap();
    tx.rollback().await.unwrap();
    let got = get(&db.pool, "airtable", "ach1").await.unwrap().unwrap();
    assert_eq!((got.cursor, got.fetched, got.pinged), (1, 0, 1));
}

#[tokio::test]
async fn expiry_and_errors_are_stored_and_cleared() {
    let db = temp_db().await;
    insert(&db.pool, &hook("ach1", "a")).await.unwrap();
    assert!(
        set_expiry(&db.pool, "airtable", "ach1", 99_000)
            .await
            .unwrap()
    );
    assert!(
        record_error(&db.pool, "airtable", "ach1", Some("gone at Airtable"))
            .await
            .unwrap()
    );
    let got = get(&db.pool, "airtable", "ach1").await.unwrap().unwrap();
    assert_eq!(got.expires_at, Some(99_000));
    assert_eq!(got.last_error.as_deref(), Some("gone at Airtable"));
    record_error(&db.pool, "airtable", "ach1", None)
        .await
        .unwrap();
    let got = get(&db.pool, "airtable", "ach1").await.unwrap().unwrap();
    assert_eq!(got.last_error, None);
    assert!(!set_expiry(&db.pool, "airtable", "nope", 1).await.unwrap());
    assert!(
        !record_error(&db.pool, "airtable", "nope", None)
            .await
            .unwrap()
    );
}
