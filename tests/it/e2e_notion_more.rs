//! More of a Notion pair end to end: a card made in Trello becomes a page, a conflict logged
//! with Notion's names, a replayed event, a dropped one repaired by polling, a missed one
//! repaired by reconciliation, a page moved to the trash, and 30 % faults with no duplicate.

use std::collections::HashSet;
use std::time::Duration;

use leadsync::connectors::notion::client::compact_id;
use leadsync::connectors::trello::sandbox::UserCardChange;
use leadsync::demo::world::{World, WorldOptions};
use leadsync::sandbox::common::Faults;
use leadsync::store::activity;
use leadsync::sync::mapping::split_description;

use crate::e2e::{P, SETTLE};
use crate::e2e_notion::{
    data_source, eventually, marker, notion_world, notion_world_with, prop, user_creates,
    user_updates,
};

/// The pair's pages not in the trash, by compact id.
fn pages(w: &World) -> Vec<String> {
    let nt = w.notion.as_ref().expect("emulator");
    (nt.pages(&data_source(w)).into_iter())
        .filter(|p| !p["in_trash"].as_bool().unwrap_or(false))
        .filter_map(|p| p["id"].as_str().map(compact_id))
        .collect()
}

async fn count(w: &World, sql: &'static str) -> i64 {
    let db = &w.state().expect("running").db;
    sqlx::query_scalar(sql)
        .fetch_one(&db.pool)
        .await
        .expect("count")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_card_made_in_trello_becomes_a_page_whose_id_is_the_lead_id() {
    let w = notion_world().await;
    let list = w.list_id(P, "Qualified");
    let card_id = (w.trello)
        .user_create_card(&list, "Grace Hopper", "compiler pioneer")
        .expect("card");
    w.reconcile(SETTLE).await.expect("reconciles");
    eventually(&w, "a page for the card, and its marker", |w| {
        pages(w).len() == 1 && (w.trello.card(&card_id)).is_some_and(|c| marker(&c).len() == 32)
    })
    .await;
    let page = pages(&w).remove(0);
    let card = w.trello.card(&card_id).expect("card");
    assert_eq!(marker(&card), page, "the card's marker is the page id");
    assert_eq!(prop(&w, &page, "Name"), "Grace Hopper");
    assert_eq!(prop(&w, &page, "Status"), "Qualified");
    assert_eq!(prop(&w, &page, "Notes"), "compiler pioneer");
    eventually(&w, "the page id in the id property", |w| {
        prop(w, &page, "Lead ID") == page
    })
    .await;
    let db = &w.state().expect("running").db;
    // The create is logged under the lead's first id, before the page's replaced it.
    let entries = (activity::recent(&db.pool, None, 100).await).expect("activity");
    assert!(
        entries.iter().any(|e| e.decision == "copy_to_notion"),
        "decisions name Notion: {:?}",
        entries.iter().map(|e| &e.decision).collect::<Vec<_>>()
    );
    user_updates(&w, &page, &[("Status", "Lost")]);
    eventually(&w, "the page's status on the card", |w| {
        (w.trello.card(&card_id)).is_some_and(|c| w.list_name(P, &c.id_list) == "Lost")
    })
    .await;
    assert_eq!((w.cards(P).len(), pages(&w).len()), (1, 1));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_conflict_is_decided_by_the_policy_and_logged_with_notions_names() {
    let w = notion_world_with(WorldOptions {
        debounce_ms: 600,
        ..WorldOptions::default()
    })
    .await;
    let page = user_creates(&w, &[("Name", "Ada"), ("Status", "New")]);
    eventually(&w, "card", |w| w.card_named(P, "Ada").is_some()).await;
    let card = w.card_named(P, "Ada").expect("card");
    // Trello first, Notion a moment later, within one debounce window: Notion's is the later.
    let rename = UserCardChange {
        name: Some("Ada (trello)".into()),
        ..UserCardChange::default()
    };
    w.user_updates_card(&card.id, rename).expect("renamed");
    tokio::time::sleep(Duration::from_millis(30)).await;
    user_updates(&w, &page, &[("Name", "Ada (notion)")]);
    eventually(&w, "both sides agree", |w| {
        prop(w, &page, "Name") == "Ada (notion)"
            && (w.trello.card(&card.id)).is_some_and(|c| c.name == "Ada (notion)")
    })
    .await;
    let db = &w.state().expect("running").db;
    let entries = (activity::recent(&db.pool, Some(&page), 50).await).expect("activity");
    let conflict = (entries.iter())
        .find(|e| e.decision == "conflict")
        .expect("a conflict was logged");
    assert_eq!(conflict.field.as_deref(), Some("name"));
    assert_eq!(conflict.detail["winner"], "notion");
    assert!(conflict.detail["notion_changed_at"].is_string());
    assert!(conflict.detail["notion_value_hash"].is_string());
    assert!(conflict.detail.get("airtable_changed_at").is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_replayed_event_is_stored_once_and_changes_nothing_twice() {
    let w = notion_world().await;
    let page = user_creates(&w, &[("Name", "Ada"), ("Status", "New")]);
    eventually(&w, "card", |w| w.card_named(P, "Ada").is_some()).await;
    let nt = w.notion.as_ref().expect("emulator");
    nt.hold_deliveries(true);
    user_updates(&w, &page, &[("Status", "Qualified")]);
    assert!(nt.deliveries_drained(Duration::from_secs(5)).await);
    let held = nt.take_held();
    assert_eq!(held.len(), 1, "one event for the edit");
    nt.hold_deliveries(false);
    let moves_before = w.trello.gate().calls().count("PUT", "/1/cards/");
    for _ in 0..3 {
        nt.redeliver(held[0].clone());
    }
    eventually(&w, "the card moved", |w| {
        (w.card_named(P, "Ada")).is_some_and(|c| w.list_name(P, &c.id_list) == "Qualified")
    })
    .await;
    let event: serde_json::Value = serde_json::from_slice(&held[0].body).expect("an event");
    let db = &w.state().expect("running").db;
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM notion_events WHERE id = $1")
        .bind(event["id"].as_str())
        .fetch_one(&db.pool)
        .await
        .expect("count");
    assert_eq!(stored, 1, "the event is stored once");
    let moves = w.trello.gate().calls().count("PUT", "/1/cards/") - moves_before;
    assert_eq!(moves, 1, "one move for three deliveries");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dropped_event_is_repaired_by_polling() {
    let w = notion_world_with(WorldOptions {
        notion_poll_secs: 1,
        ..WorldOptions::default()
    })
    .await;
    let page = user_creates(&w, &[("Name", "Ada"), ("Status", "New")]);
    eventually(&w, "card", |w| w.card_named(P, "Ada").is_some()).await;
    let nt = w.notion.as_ref().expect("emulator");
    nt.drop_deliveries(true);
    user_updates(
        &w,
        &page,
        &[("Status", "Contacted"), ("Company", "Engines")],
    );
    let company = w.field_id(P, "Company");
    eventually(&w, "the poll found the edit", |w| {
        w.card_named(P, "Ada").is_some_and(|c| {
            w.list_name(P, &c.id_list) == "Contacted"
                && c.custom_texts.get(&company).map(String::as_str) == Some("Engines")
        })
    })
    .await;
    let mark = count(&w, "SELECT count(*) FROM notion_polls WHERE polled_at > 0").await;
    assert_eq!(
        mark, 1,
        "the poll's high-water mark is kept in the database"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missed_event_is_repaired_by_reconciliation() {
    let w = notion_world_with(WorldOptions {
        notion_poll_secs: 0,
        ..WorldOptions::default()
    })
    .await;
    let nt = w.notion.as_ref().expect("emulator");
    nt.drop_deliveries(true);
    let page = user_creates(&w, &[("Name", "Ada"), ("Status", "Contacted")]);
    w.settle(SETTLE).await.expect("settles");
    assert!(w.cards(P).is_empty(), "no event, no poll: no card yet");
    w.reconcile(SETTLE).await.expect("reconciles");
    let card = w
        .card_named(P, "Ada")
        .expect("reconciliation made the card");
    assert_eq!(marker(&card), page);
    assert_eq!(w.list_name(P, &card.id_list), "Contacted");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_page_moved_to_the_trash_archives_its_card() {
    let w = notion_world().await;
    let page = user_creates(&w, &[("Name", "Ada"), ("Status", "New")]);
    eventually(&w, "card", |w| w.card_named(P, "Ada").is_some()).await;
    let nt = w.notion.as_ref().expect("emulator");
    nt.user_trash_page(&page, true).expect("trashed");
    eventually(&w, "the card archived", |w| {
        w.card_named(P, "Ada").is_some_and(|c| c.closed)
    })
    .await;
    let db = &w.state().expect("running").db;
    let entries = (activity::recent(&db.pool, Some(&page), 50).await).expect("activity");
    assert!(entries.iter().any(|e| e.decision == "row_deleted"));
}

/// A data-source query never answers a page in the trash: with its event dropped, a poll finds
/// it by reading the kept page again, with no reconciliation (the Notion chaos, seed 9).
#[tokio::test(flavor = "multi_thread")]
async fn a_page_trashed_while_its_events_are_dropped_archives_its_card_by_polling() {
    let w = notion_world_with(WorldOptions {
        notion_poll_secs: 1,
        ..WorldOptions::default()
    })
    .await;
    let page = user_creates(&w, &[("Name", "Ada"), ("Status", "New")]);
    eventually(&w, "card", |w| w.card_named(P, "Ada").is_some()).await;
    let nt = w.notion.as_ref().expect("emulator");
    nt.drop_deliveries(true);
    nt.user_trash_page(&page, true).expect("trashed");
    eventually(&w, "the card archived", |w| {
        w.card_named(P, "Ada").is_some_and(|c| c.closed)
    })
    .await;
}

fn faults() -> Faults {
    Faults {
        error_rate: 0.3,
        status_429_share: 0.5,
        retry_after_secs: Some(0),
        ..Faults::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_percent_faults_on_both_apis_end_equal_with_no_duplicates() {
    let w = notion_world().await;
    let nt = w.notion.as_ref().expect("emulator");
    w.trello.gate().set_faults(faults());
    nt.gate().set_faults(faults());
    let names: Vec<String> = (1..=12).map(|i| format!("Lead {i:02}")).collect();
    let mut ids = Vec::new();
    for name in &names {
        ids.push(user_creates(&w, &[("Name", name), ("Status", "New")]));
    }
    let list = w.list_id(P, "Contacted");
    for name in ["Trello 1", "Trello 2"] {
        w.trello.user_create_card(&list, name, "").expect("card");
    }
    w.settle(SETTLE * 3).await.expect("settles under faults");
    w.reconcile(SETTLE).await.expect("reconciles under faults");
    for name in &names[..4] {
        if let Some(card) = w.card_named(P, name) {
            w.user_moves_card(P, &card.id, "Qualified").expect("move");
        }
    }
    for page in &ids[4..8] {
        user_updates(&w, page, &[("Status", "Lost")]);
    }
    w.settle(SETTLE * 3).await.expect("settles under faults");
    w.trello.gate().set_faults(Faults::default());
    nt.gate().set_faults(Faults::default());
    w.reconcile(SETTLE).await.expect("reconciles");
    w.reconcile(SETTLE).await.expect("reconciles again");
    let injected = w.trello.gate().calls().count_status(429) + nt.gate().calls().count_status(429);
    assert!(injected > 0, "faults were really injected");
    let cards = w.cards(P);
    let rows = pages(&w);
    assert_eq!(cards.len(), 14, "one card per lead");
    assert_eq!(rows.len(), 14, "one page per lead");
    let markers: HashSet<String> = cards.iter().map(marker).collect();
    assert_eq!(
        markers,
        rows.into_iter().collect(),
        "every card a page's and every page a card's"
    );
    for card in &cards {
        let page = marker(card);
        assert_eq!(prop(&w, &page, "Name"), card.name);
        assert_eq!(prop(&w, &page, "Status"), w.list_name(P, &card.id_list));
        assert_eq!(prop(&w, &page, "Notes"), split_description(&card.desc).0);
    }
    for (i, name) in names.iter().enumerate() {
        let card = w.card_named(P, name).expect("card");
        let expected = match i {
            0..4 => "Qualified",
            4..8 => "Lost",
            _ => "New",
        };
        assert_eq!(w.list_name(P, &card.id_list), expected, "{name}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn several_events_for_a_page_arriving_together_cost_one_read() {
    let w = notion_world().await;
    let page = user_creates(&w, &[("Name", "Ada"), ("Status", "New")]);
    eventually(&w, "card", |w| w.card_named(P, "Ada").is_some()).await;
    w.settle(SETTLE).await.expect("settles");
    let nt = w.notion.as_ref().expect("emulator");
    nt.hold_deliveries(true);
    for status in ["Contacted", "Qualified", "Lost"] {
        user_updates(&w, &page, &[("Status", status)]);
    }
    assert!(nt.deliveries_drained(Duration::from_secs(5)).await);
    let held = nt.take_held();
    assert_eq!(held.len(), 3, "one event per edit");
    nt.hold_deliveries(false);
    let reads = || nt.gate().calls().count("GET", "/v1/pages/");
    let before = reads();
    // Delivered together, they are stored in one round of the feed: read as one.
    for delivery in held {
        nt.redeliver(delivery);
    }
    eventually(&w, "the last status on the card", |w| {
        (w.card_named(P, "Ada")).is_some_and(|c| w.list_name(P, &c.id_list) == "Lost")
    })
    .await;
    let read = reads() - before;
    assert!((1..=2).contains(&read), "{read} reads for three events");
}
