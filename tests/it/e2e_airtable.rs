//! End to end on an Airtable pair (CONTRACT §7): the real daemon, real clients, the Airtable and
//! Trello emulators, driven as users would. Changes reach the daemon as Airtable does it: a
//! signed notification, then the changes fetched from the webhook's payloads.

use std::time::Duration;

use leadsync::connectors::trello::sandbox::SandboxCard;
use leadsync::demo::world::airtable::TABLE;
use leadsync::demo::world::{World, WorldOptions};
use leadsync::model::TrackerKind;
use leadsync::sync::mapping::split_description;
use serde_json::Value;

use crate::e2e::{P, SETTLE};

pub async fn airtable_world() -> World {
    crate::e2e::world_with(WorldOptions {
        tracker: TrackerKind::Airtable,
        ..WorldOptions::default()
    })
    .await
}

pub fn base(w: &World) -> String {
    w.pair(P)
        .table
        .as_ref()
        .expect("an Airtable pair")
        .base_id
        .clone()
}

/// A record typed in the browser; answers its id.
pub fn user_creates(w: &World, values: &[(&str, &str)]) -> String {
    let at = w.airtable.as_ref().expect("the Airtable emulator");
    at.user_create_record(&base(w), TABLE, values)
        .expect("record created")
}

pub fn user_updates(w: &World, record: &str, values: &[(&str, &str)]) {
    let at = w.airtable.as_ref().expect("the Airtable emulator");
    at.user_update_record(&base(w), TABLE, record, values)
        .expect("record updated");
}

/// A record's fields as the API answers them (by name, empty cells absent).
pub fn fields(w: &World, record: &str) -> Value {
    let at = w.airtable.as_ref().expect("the Airtable emulator");
    at.record_fields(&base(w), TABLE, record)
        .unwrap_or(Value::Null)
}

pub fn marker(card: &SandboxCard) -> String {
    split_description(&card.desc)
        .1
        .map(|id| id.to_string())
        .unwrap_or_default()
}

/// Waits (bounded) until `check` holds, settling the daemon between looks.
pub async fn eventually(w: &World, what: &str, check: impl Fn(&World) -> bool) {
    for _ in 0..40 {
        w.settle(SETTLE).await.expect("settles");
        if check(w) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{what}: not so after waiting");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_record_typed_in_airtable_becomes_a_card_marked_with_its_record_id() {
    let w = airtable_world().await;
    let rec = user_creates(
        &w,
        &[
            ("Name", "Ada Lovelace"),
            ("Status", "Contacted"),
            ("Email", "ada@example.com"),
            ("Notes", "met at the fair"),
        ],
    );
    eventually(&w, "a card for the record", |w| {
        w.card_named(P, "Ada Lovelace").is_some()
    })
    .await;
    let card = w.card_named(P, "Ada Lovelace").expect("card");
    assert_eq!(marker(&card), rec, "the lead id is the record id");
    assert_eq!(w.list_name(P, &card.id_list), "Contacted");
    assert_eq!(split_description(&card.desc).0, "met at the fair");
    let email = w.field_id(P, "Email");
    assert_eq!(
        card.custom_texts.get(&email).map(String::as_str),
        Some("ada@example.com")
    );
    assert_eq!(w.cards(P).len(), 1, "one card");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_name_typed_later_into_an_empty_record_makes_the_card_then() {
    let w = airtable_world().await;
    // The browser makes an empty record first; the name comes in a later change.
    let rec = user_creates(&w, &[("Status", "New")]);
    w.settle(SETTLE).await.expect("settles");
    assert!(w.cards(P).is_empty(), "a record without a name is no lead");
    user_updates(&w, &rec, &[("Name", "Grace Hopper")]);
    eventually(&w, "a card once the record has a name", |w| {
        w.card_named(P, "Grace Hopper").is_some()
    })
    .await;
    let card = w.card_named(P, "Grace Hopper").expect("card");
    assert_eq!(marker(&card), rec);
    assert_eq!(
        w.list_name(P, &card.id_list),
        "New",
        "the untouched status came too"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn airtable_edits_reach_the_card_and_a_deleted_record_archives_it() {
    let w = airtable_world().await;
    let rec = user_creates(&w, &[("Name", "Ada"), ("Status", "New")]);
    eventually(&w, "card", |w| w.card_named(P, "Ada").is_some()).await;
    user_updates(
        &w,
        &rec,
        &[("Status", "Qualified"), ("Company", "Analytical Engines")],
    );
    let company = w.field_id(P, "Company");
    eventually(&w, "status and company on the card", |w| {
        w.card_named(P, "Ada").is_some_and(|c| {
            w.list_name(P, &c.id_list) == "Qualified"
                && c.custom_texts.get(&company).map(String::as_str) == Some("Analytical Engines")
        })
    })
    .await;
    let at = w.airtable.as_ref().expect("emulator");
    at.user_delete_record(&base(&w), TABLE, &rec)
        .expect("deleted");
    eventually(&w, "the card archived", |w| {
        w.card_named(P, "Ada").is_some_and(|c| c.closed)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_card_moved_or_renamed_in_trello_changes_the_record_once_without_echoes() {
    let w = airtable_world().await;
    let rec = user_creates(&w, &[("Name", "Ada"), ("Status", "New")]);
    eventually(&w, "card", |w| w.card_named(P, "Ada").is_some()).await;
    let card = w.card_named(P, "Ada").expect("card");
    // The card's URL is written back to the record, and the record id to its id field.
    eventually(&w, "card url in the record", |w| {
        fields(w, &rec)["Trello Card"]
            .as_str()
            .is_some_and(|u| !u.is_empty())
    })
    .await;
    assert_eq!(
        fields(&w, &rec)["Lead ID"],
        rec.as_str(),
        "the record id is written to the id field with the card's URL"
    );
    w.user_moves_card(P, &card.id, "Qualified").expect("moved");
    eventually(&w, "status in the record", |w| {
        fields(w, &rec)["Status"] == "Qualified"
    })
    .await;
    let at = w.airtable.as_ref().expect("emulator");
    let writes = |path: &str| at.gate().calls().count("PATCH", path);
    let path = format!("/v0/{}/", base(&w));
    let before = writes(&path);
    w.user_updates_card(
        &card.id,
        leadsync::connectors::trello::sandbox::UserCardChange {
            name: Some("Ada King".into()),
            ..Default::default()
        },
    )
    .expect("renamed");
    eventually(&w, "name in the record", |w| {
        fields(w, &rec)["Name"] == "Ada King"
    })
    .await;
    w.settle(SETTLE).await.expect("settles");
    assert_eq!(
        writes(&path) - before,
        1,
        "one write for the rename, and none for its echo"
    );
    let card = w.card_named(P, "Ada King").expect("card");
    assert_eq!(
        w.list_name(P, &card.id_list),
        "Qualified",
        "the card stays where it was moved"
    );
    assert_eq!(w.cards(P).len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missed_notification_is_repaired_by_reconciliation() {
    let w = airtable_world().await;
    let at = w.airtable.as_ref().expect("emulator");
    at.drop_notifications(true);
    let rec = user_creates(&w, &[("Name", "Ada"), ("Status", "Contacted")]);
    w.settle(SETTLE).await.expect("settles");
    assert!(w.cards(P).is_empty(), "no notification, no card yet");
    w.reconcile(SETTLE).await.expect("reconciles");
    let card = w
        .card_named(P, "Ada")
        .expect("reconciliation made the card");
    assert_eq!(marker(&card), rec);
    assert_eq!(w.list_name(P, &card.id_list), "Contacted");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deletion_whose_notification_was_lost_archives_the_card_at_the_next_reconciliation() {
    let w = airtable_world().await;
    let rec = user_creates(&w, &[("Name", "Ada"), ("Status", "New")]);
    eventually(&w, "card", |w| w.card_named(P, "Ada").is_some()).await;
    let at = w.airtable.as_ref().expect("emulator");
    at.drop_notifications(true);
    at.user_delete_record(&base(&w), TABLE, &rec)
        .expect("deleted");
    w.settle(SETTLE).await.expect("settles");
    assert!(
        w.card_named(P, "Ada").is_some_and(|c| !c.closed),
        "no notification: nothing known of the deletion yet"
    );
    // One full read alone cannot tell a deleted record from one it missed (two reads a minute
    // apart must): the feed, read with it, says so at once.
    w.reconcile(SETTLE).await.expect("reconciles");
    eventually(&w, "the card archived", |w| {
        w.card_named(P, "Ada").is_some_and(|c| c.closed)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_feed_read_again_from_an_old_cursor_changes_nothing_twice() {
    let w = airtable_world().await;
    let rec = user_creates(&w, &[("Name", "Ada"), ("Status", "New")]);
    eventually(&w, "card", |w| w.card_named(P, "Ada").is_some()).await;
    let db = &w.state().expect("running").db;
    let events = || async {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM inbox WHERE source = 'airtable'")
            .fetch_one(&db.pool)
            .await
            .expect("count");
        n
    };
    let before = events().await;
    // As after a crash between storing a page and moving the cursor: the feed is read again
    // from its start, and a notification is due.
    sqlx::query("UPDATE tracker_webhooks SET cursor = 1, pinged = pinged + 1")
        .execute(&db.pool)
        .await
        .expect("rewind");
    w.settle(SETTLE).await.expect("settles");
    let fetched: (i64, i64) = sqlx::query_as("SELECT pinged, fetched FROM tracker_webhooks")
        .fetch_one(&db.pool)
        .await
        .expect("counts");
    assert_eq!(fetched.0, fetched.1, "the feed was read again");
    assert_eq!(
        events().await,
        before,
        "every change read again was stored once"
    );
    assert_eq!(w.cards(P).len(), 1);
    assert_eq!(marker(&w.card_named(P, "Ada").expect("card")), rec);
}
