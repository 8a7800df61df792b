//! Labels, due dates and checklists through the client against the emulator: each call, what a
//! card read answers after it, and the action each change records (as a webhook delivers it).

use super::tests::setup;
use super::*;
use crate::inbound::trello_event;
use crate::model::board::{BoardEvent, CardDetail};

/// The types of the card's recorded actions (oldest first), each parsed as the door parses it.
fn kinds(sb: &crate::connectors::trello::sandbox::TrelloSandbox, card: &str) -> Vec<String> {
    (sb.card_actions(card).into_iter())
        .map(|a| {
            let body = serde_json::to_vec(&json!({"action": a, "model": {"id": "b"}})).unwrap();
            let parsed = trello_event::parse(&body).expect("the door parses it");
            if let BoardEvent::CardDetail { card_id, .. } = &parsed {
                assert_eq!(card_id, card);
            }
            a["type"].as_str().unwrap().to_owned()
        })
        .collect()
}

#[tokio::test]
async fn labels_are_read_created_put_on_and_taken_off_a_card() {
    let (sb, c, b) = setup().await;
    let card = sb.user_create_card(&b.lists["New"], "Ada", "").unwrap();
    assert!(c.board_labels(&b.board_id).await.unwrap().is_empty());
    let hot = c
        .create_label(&b.board_id, "Hot", Some("red"))
        .await
        .unwrap();
    let plain = c.create_label(&b.board_id, "", None).await.unwrap();
    let labels = c.board_labels(&b.board_id).await.unwrap();
    assert_eq!(labels, vec![hot.clone(), plain.clone()]);
    assert_eq!(
        (hot.name.as_str(), hot.color.as_deref()),
        ("Hot", Some("red"))
    );
    assert!(
        c.create_label(&b.board_id, "X", Some("mauve"))
            .await
            .is_err()
    );

    c.add_label(&card, &hot.id).await.unwrap();
    c.add_label(&card, &plain.id).await.unwrap();
    let read = c.card(&card).await.unwrap();
    assert_eq!(read.labels, vec![hot.clone(), plain.clone()]);
    // A second add is refused, as Trello refuses it.
    assert!(c.add_label(&card, &hot.id).await.is_err());
    c.remove_label(&card, &hot.id).await.unwrap();
    assert_eq!(c.card(&card).await.unwrap().labels, vec![plain]);
    let kinds = kinds(&sb, &card);
    assert_eq!(
        kinds[1..],
        ["addLabelToCard", "addLabelToCard", "removeLabelFromCard"]
    );
}

#[tokio::test]
async fn due_and_due_complete_are_set_read_and_recorded_with_their_old_values() {
    let (sb, c, b) = setup().await;
    let card = sb.user_create_card(&b.lists["New"], "Ada", "").unwrap();
    let update = CardUpdate {
        due: Some(Some("2026-12-24T10:00:00Z".into())),
        due_complete: Some(true),
        ..CardUpdate::default()
    };
    let read = c.update_card(&card, &update).await.unwrap();
    assert_eq!(read.due.as_deref(), Some("2026-12-24T10:00:00.000Z"));
    assert!(read.due_complete);
    let actions = sb.card_actions(&card);
    assert_eq!(actions[1]["data"]["old"]["due"], json!(null));
    assert_eq!(actions[2]["data"]["old"]["dueComplete"], json!(false));
    let body = serde_json::to_vec(&json!({"action": actions[2], "model": {"id": "b"}})).unwrap();
    let BoardEvent::UpdateCard { old, .. } = trello_event::parse(&body).unwrap() else {
        panic!("an update")
    };
    assert_eq!(old.due_complete, Some(false));
}

#[tokio::test]
async fn checklists_and_items_are_made_renamed_checked_and_removed_and_read_with_the_cards() {
    let (sb, c, b) = setup().await;
    let card = sb.user_create_card(&b.lists["New"], "Ada", "").unwrap();
    let list = c.create_checklist(&card, "Launch").await.unwrap();
    let brief = c.add_check_item(&list.id, "Brief", false).await.unwrap();
    let site = c.add_check_item(&list.id, "Site", true).await.unwrap();
    c.update_check_item(&card, &brief.id, Some("Brief v2"), Some(true))
        .await
        .unwrap();
    c.update_check_item(&card, &site.id, None, Some(false))
        .await
        .unwrap();
    let read = c.card(&card).await.unwrap();
    assert_eq!(read.checklists.len(), 1);
    let items: Vec<(&str, bool)> = (read.checklists[0].items.iter())
        .map(|i| (i.name.as_str(), i.complete))
        .collect();
    assert_eq!(items, [("Brief v2", true), ("Site", false)]);
    // The board's cards come with their checklists: one call reads them all.
    let all = c.board_cards(&b.board_id).await.unwrap();
    assert_eq!(all[0].checklists, read.checklists);

    c.delete_check_item(&list.id, &site.id).await.unwrap();
    sb.user_rename_checklist(&list.id, "Go-live").unwrap();
    c.delete_checklist(&list.id).await.unwrap();
    assert!(c.card(&card).await.unwrap().checklists.is_empty());
    let expected = [
        "createCard",
        "addChecklistToCard",
        "createCheckItem",
        "createCheckItem",
        "updateCheckItem",
        "updateCheckItemStateOnCard",
        "updateCheckItemStateOnCard",
        "deleteCheckItem",
        "updateChecklist",
        "removeChecklistFromCard",
    ];
    assert_eq!(kinds(&sb, &card), expected);
    let detail = trello_event::detail("updateCheckItemStateOnCard");
    assert_eq!(detail, Some(CardDetail::Checklists));
}
