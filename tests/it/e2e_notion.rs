//! End to end on a Notion pair (CONTRACT §7): the real daemon, real clients, the Notion and
//! Trello emulators, driven as users would. Changes reach the daemon as Notion sends them: a
//! signed event naming the page, which the daemon reads; or by polling.

use std::time::Duration;

use leadsync::connectors::notion::client::compact_id;
use leadsync::connectors::trello::sandbox::{SandboxCard, UserCardChange};
use leadsync::demo::world::{World, WorldOptions};
use leadsync::model::TrackerKind;
use leadsync::sync::mapping::split_description;
use serde_json::Value;

use crate::e2e::{P, SETTLE};

pub async fn notion_world_with(options: WorldOptions) -> World {
    crate::e2e::world_with(WorldOptions {
        tracker: TrackerKind::Notion,
        ..options
    })
    .await
}

pub async fn notion_world() -> World {
    notion_world_with(WorldOptions::default()).await
}

pub fn data_source(w: &World) -> String {
    let db = w.pair(P).database.as_ref().expect("a Notion pair");
    db.data_source_id.clone()
}

/// A page typed in the browser; answers its id, compact (the lead id).
pub fn user_creates(w: &World, values: &[(&str, &str)]) -> String {
    let nt = w.notion.as_ref().expect("the Notion emulator");
    let id = nt
        .user_create_page(&data_source(w), values)
        .expect("page created");
    compact_id(&id)
}

pub fn user_updates(w: &World, page: &str, values: &[(&str, &str)]) {
    let nt = w.notion.as_ref().expect("the Notion emulator");
    nt.user_update_page(page, values).expect("page updated");
}

/// A page's property as plain text ("" when empty or absent).
pub fn prop(w: &World, page: &str, name: &str) -> String {
    let nt = w.notion.as_ref().expect("the Notion emulator");
    let Some(page) = nt.page(page) else {
        return String::new();
    };
    let v: &Value = &page["properties"][name];
    let kind = v["type"].as_str().unwrap_or("");
    match kind {
        "title" | "rich_text" => (v[kind].as_array().into_iter().flatten())
            .filter_map(|t| t["plain_text"].as_str())
            .collect(),
        "select" | "status" => v[kind]["name"].as_str().unwrap_or("").to_owned(),
        _ => v[kind].as_str().unwrap_or("").to_owned(),
    }
}

pub fn marker(card: &SandboxCard) -> String {
    split_description(&card.desc)
        .1
        .map(|id| id.to_string())
        .unwrap_or_default()
}

/// Waits (bounded) until `check` holds, settling the daemon between looks.
pub async fn eventually(w: &World, what: &str, check: impl Fn(&World) -> bool) {
    for _ in 0..60 {
        w.settle(SETTLE).await.expect("settles");
        if check(w) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{what}: not so after waiting");
}

/// PATCHes of pages the daemon sent so far.
pub fn page_writes(w: &World) -> usize {
    let nt = w.notion.as_ref().expect("the Notion emulator");
    let calls = nt.gate().calls();
    calls.count("PATCH", "/v1/pages/")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_page_typed_in_notion_becomes_a_card_marked_with_its_page_id() {
    let w = notion_world().await;
    let page = user_creates(
        &w,
        &[
            ("Name", "Ada Lovelace"),
            ("Status", "Contacted"),
            ("Email", "ada@example.com"),
            ("Notes", "met at the fair"),
        ],
    );
    eventually(&w, "a card for the page", |w| {
        w.card_named(P, "Ada Lovelace").is_some()
    })
    .await;
    let card = w.card_named(P, "Ada Lovelace").expect("card");
    assert_eq!(
        marker(&card),
        page,
        "the lead id is the page id, 32 hex digits"
    );
    assert_eq!(w.list_name(P, &card.id_list), "Contacted");
    assert_eq!(split_description(&card.desc).0, "met at the fair");
    let email = w.field_id(P, "Email");
    assert_eq!(
        card.custom_texts.get(&email).map(String::as_str),
        Some("ada@example.com")
    );
    eventually(&w, "the card's URL and the page id in the page", |w| {
        !prop(w, &page, "Trello Card").is_empty() && prop(w, &page, "Lead ID") == page
    })
    .await;
    assert_eq!(w.cards(P).len(), 1, "one card");
}

#[tokio::test(flavor = "multi_thread")]
async fn status_and_fields_travel_both_ways_and_our_writes_are_not_echoed() {
    let w = notion_world().await;
    let page = user_creates(&w, &[("Name", "Ada"), ("Status", "New")]);
    eventually(&w, "card", |w| w.card_named(P, "Ada").is_some()).await;
    eventually(&w, "card url in the page", |w| {
        !prop(w, &page, "Trello Card").is_empty()
    })
    .await;
    // Notion → Trello: status and a field.
    user_updates(
        &w,
        &page,
        &[("Status", "Qualified"), ("Company", "Engines")],
    );
    let company = w.field_id(P, "Company");
    eventually(&w, "status and company on the card", |w| {
        w.card_named(P, "Ada").is_some_and(|c| {
            w.list_name(P, &c.id_list) == "Qualified"
                && c.custom_texts.get(&company).map(String::as_str) == Some("Engines")
        })
    })
    .await;
    // Trello → Notion: a move and a rename, one write each, none for their echoes.
    let card = w.card_named(P, "Ada").expect("card");
    w.user_moves_card(P, &card.id, "Contacted").expect("moved");
    eventually(&w, "status in the page", |w| {
        prop(w, &page, "Status") == "Contacted"
    })
    .await;
    w.settle(SETTLE).await.expect("settles");
    let before = page_writes(&w);
    let rename = UserCardChange {
        name: Some("Ada King".into()),
        ..Default::default()
    };
    w.user_updates_card(&card.id, rename).expect("renamed");
    eventually(&w, "name in the page", |w| {
        prop(w, &page, "Name") == "Ada King"
    })
    .await;
    // The page's event and a poll come back; neither writes again.
    tokio::time::sleep(Duration::from_millis(500)).await;
    w.settle(SETTLE).await.expect("settles");
    assert_eq!(
        page_writes(&w) - before,
        1,
        "one write for the rename, none for its echo"
    );
    let card = w.card_named(P, "Ada King").expect("card");
    assert_eq!(w.list_name(P, &card.id_list), "Contacted");
    assert_eq!(w.cards(P).len(), 1);
}
