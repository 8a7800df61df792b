//! A Notion page restored from the trash (CONTRACT §7, "Deletions"): its own card, archived when
//! the page was trashed, is unarchived — never a second card — whether the restore arrives as
//! Notion's `page.undeleted` event, by polling alone, or by reconciliation alone; and the lead
//! keeps syncing both ways afterwards. The lead's agreed state outlives the trash, so the
//! restored page is merged three-way: a card edit made meanwhile is kept, not a conflict.

use leadsync::connectors::trello::sandbox::{SandboxCard, UserCardChange};
use leadsync::demo::world::{World, WorldOptions};
use leadsync::store::activity;

use crate::e2e::{P, SETTLE};
use crate::e2e_notion::{eventually, marker, notion_world_with, prop, user_creates, user_updates};

/// Every card of the board (open or archived) marked with the page's id.
fn cards_of(w: &World, page: &str) -> Vec<SandboxCard> {
    (w.cards(P).into_iter())
        .filter(|c| marker(c) == page)
        .collect()
}

/// A page with its card, then the page trashed and its card archived; answers (page, card id).
async fn trashed_page(w: &World) -> (String, String) {
    let page = user_creates(w, &[("Name", "Ada"), ("Status", "New")]);
    eventually(w, "a card for the page", |w| cards_of(w, &page).len() == 1).await;
    let card = cards_of(w, &page).remove(0).id;
    let nt = w.notion.as_ref().expect("emulator");
    nt.user_trash_page(&page, true).expect("trashed");
    eventually(w, "the card archived", |w| {
        w.trello.card(&card).is_some_and(|c| c.closed)
    })
    .await;
    (page, card)
}

/// The page's one card is `card`, open, and edits on both sides keep syncing.
async fn restored_and_syncing(w: &World, page: &str, card: &str) {
    eventually(w, "the same card unarchived", |w| {
        w.trello.card(card).is_some_and(|c| !c.closed)
    })
    .await;
    w.settle(SETTLE).await.expect("settles");
    assert_eq!(w.cards(P).len(), 1, "no second card on the board");
    assert_eq!(cards_of(w, page)[0].id, card);
    user_updates(w, page, &[("Status", "Qualified")]);
    eventually(w, "the page's status on the card", |w| {
        (w.trello.card(card)).is_some_and(|c| w.list_name(P, &c.id_list) == "Qualified")
    })
    .await;
    let rename = UserCardChange {
        name: Some("Ada Lovelace".into()),
        ..UserCardChange::default()
    };
    w.user_updates_card(card, rename).expect("renamed");
    eventually(w, "the card's name in the page", |w| {
        prop(w, page, "Name") == "Ada Lovelace"
    })
    .await;
    assert_eq!(w.cards(P).len(), 1, "still one card");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_page_restored_from_the_trash_unarchives_its_own_card_and_keeps_syncing() {
    let w = notion_world_with(WorldOptions::default()).await;
    let (page, card) = trashed_page(&w).await;
    let nt = w.notion.as_ref().expect("emulator");
    nt.user_trash_page(&page, false).expect("restored");
    restored_and_syncing(&w, &page, &card).await;
    let db = &w.state().expect("running").db;
    let entries = (activity::recent(&db.pool, Some(&page), 100).await).expect("activity");
    let said = |d: &str| entries.iter().any(|e| e.decision == d);
    assert!(said("row_deleted") && said("lead_restored"), "both noted");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_restore_whose_event_was_dropped_is_found_by_polling_with_its_own_card() {
    let w = notion_world_with(WorldOptions {
        notion_poll_secs: 1,
        ..WorldOptions::default()
    })
    .await;
    let (page, card) = trashed_page(&w).await;
    let nt = w.notion.as_ref().expect("emulator");
    nt.drop_deliveries(true);
    nt.user_trash_page(&page, false).expect("restored");
    restored_and_syncing_by_poll(&w, &page, &card).await;
}

/// As [`restored_and_syncing`], with Notion's events still dropped: the page side by polls.
async fn restored_and_syncing_by_poll(w: &World, page: &str, card: &str) {
    eventually(w, "the same card unarchived by a poll", |w| {
        w.trello.card(card).is_some_and(|c| !c.closed)
    })
    .await;
    assert_eq!(w.cards(P).len(), 1, "no second card on the board");
    user_updates(w, page, &[("Status", "Contacted")]);
    eventually(w, "the polled status on the card", |w| {
        (w.trello.card(card)).is_some_and(|c| w.list_name(P, &c.id_list) == "Contacted")
    })
    .await;
    assert_eq!(w.cards(P).len(), 1, "still one card");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_restore_no_event_or_poll_told_is_found_by_reconciliation_with_its_own_card() {
    let w = notion_world_with(WorldOptions {
        notion_poll_secs: 0,
        ..WorldOptions::default()
    })
    .await;
    let (page, card) = trashed_page(&w).await;
    // Renamed on the archived card while the page is in the trash: the lead's agreed state,
    // kept with its tombstone, tells the restore that the card changed and the page did not.
    let rename = UserCardChange {
        name: Some("Ada (renamed meanwhile)".into()),
        ..UserCardChange::default()
    };
    w.user_updates_card(&card, rename).expect("renamed");
    let nt = w.notion.as_ref().expect("emulator");
    nt.drop_deliveries(true);
    nt.user_trash_page(&page, false).expect("restored");
    w.settle(SETTLE).await.expect("settles");
    assert!(
        w.trello.card(&card).is_some_and(|c| c.closed),
        "nothing told"
    );
    w.reconcile(SETTLE).await.expect("reconciles");
    eventually(&w, "the same card unarchived by reconciliation", |w| {
        w.trello.card(&card).is_some_and(|c| !c.closed)
    })
    .await;
    eventually(&w, "the card's edit kept, copied to the page", |w| {
        prop(w, &page, "Name") == "Ada (renamed meanwhile)"
    })
    .await;
    let db = &w.state().expect("running").db;
    let entries = (activity::recent(&db.pool, Some(&page), 100).await).expect("activity");
    assert!(
        !entries.iter().any(|e| e.decision == "conflict"),
        "the restore is merged against the agreed state: no conflict"
    );
    nt.drop_deliveries(false);
    restored_and_syncing(&w, &page, &card).await;
    w.reconcile(SETTLE).await.expect("reconciles again");
    assert_eq!(w.cards(P).len(), 1, "a second pass makes no second card");
}
