//! Trello's cards as the engine's (`model::board`) and the engine's card writes as the client's
//! request bodies: the engine's card keeps what it reads (its link is the short URL).

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::connectors::trello::client;
use crate::model::board::{Card, CardAction, CardUpdate, NewCard};

impl From<client::Card> for Card {
    fn from(c: client::Card) -> Self {
        Self {
            id: c.id,
            short_url: c.short_url,
            name: c.name,
            desc: c.desc,
            list_id: c.id_list,
            closed: c.closed,
            custom_texts: c.custom_texts,
            labels: c.labels,
            due: c.due,
            due_complete: c.due_complete,
            checklists: c.checklists,
        }
    }
}

/// A new card goes where Trello puts it by default (the bottom of its list).
pub(super) fn new_card(card: &NewCard) -> client::NewCard {
    client::NewCard {
        id_list: card.list_id.clone(),
        name: card.name.clone(),
        desc: card.desc.clone(),
        pos: None,
    }
}

/// Only what the update sets is sent (the pairs never set a due date; the mirrors do).
pub(super) fn card_update(update: &CardUpdate) -> client::CardUpdate {
    client::CardUpdate {
        name: update.name.clone(),
        desc: update.desc.clone(),
        id_list: update.list_id.clone(),
        closed: update.closed,
        due: update.due.clone(),
        due_complete: update.due_complete,
        id_labels: update.label_ids.as_ref().map(|ids| ids.join(",")),
    }
}

/// An action of a card's history as the engine's [`CardAction`]: the keys it changed are those
/// of an update's `data.old`, a custom field change's field id, or `idLabels` for a label put
/// on or taken off; its delivery wraps it as a
/// webhook of its board would. `None` for an action without id, date, member or board.
pub(super) fn card_action(action: &Value) -> Option<CardAction> {
    let data = &action["data"];
    let keys = match action["type"].as_str()? {
        "updateCard" => data["old"].as_object()?.keys().cloned().collect(),
        "updateCustomFieldItem" => vec![data["customField"]["id"].as_str()?.to_owned()],
        // A label change names no key of `data.old`: it is the card's `idLabels`.
        "addLabelToCard" | "removeLabelFromCard" => vec!["idLabels".to_owned()],
        _ => return None,
    };
    let board_id = data["board"]["id"].as_str()?;
    let delivery = json!({"action": action, "model": {"id": board_id}});
    Some(CardAction {
        action_id: action["id"].as_str()?.to_owned(),
        date: action["date"].as_str()?.parse::<DateTime<Utc>>().ok()?,
        member_creator_id: action["idMemberCreator"].as_str()?.to_owned(),
        keys,
        delivery: serde_json::to_vec(&delivery).ok()?,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn a_trello_card_keeps_what_the_engine_reads() {
        let card = client::Card {
            id: "c1".into(),
            short_link: "s1".into(),
            short_url: "https://trello.com/c/s1".into(),
            name: "Ada".into(),
            desc: "notes".into(),
            id_list: "l1".into(),
            id_board: "b1".into(),
            closed: true,
            due: Some("2026-12-01T00:00:00Z".into()),
            custom_texts: BTreeMap::from([("f1".into(), "+44".into())]),
            date_last_activity: chrono::DateTime::UNIX_EPOCH,
            due_complete: true,
            labels: vec![client::Label {
                id: "lb1".into(),
                name: "Hot".into(),
                color: Some("red".into()),
            }],
            checklists: Vec::new(),
        };
        let seen = Card::from(card);
        assert_eq!(seen.id, "c1");
        assert_eq!(seen.short_url, "https://trello.com/c/s1");
        assert_eq!((seen.name.as_str(), seen.desc.as_str()), ("Ada", "notes"));
        assert_eq!(seen.list_id, "l1");
        assert!(seen.closed);
        assert_eq!(seen.custom_texts["f1"], "+44");
        assert_eq!(seen.due.as_deref(), Some("2026-12-01T00:00:00Z"));
        assert!(seen.due_complete);
        assert_eq!(seen.labels[0].name, "Hot");
    }

    #[test]
    fn the_engine_s_writes_become_trello_bodies_that_leave_the_rest_alone() {
        let new = new_card(&NewCard {
            list_id: "l1".into(),
            name: "Ada".into(),
            desc: "d".into(),
        });
        assert_eq!(
            serde_json::to_value(&new).unwrap(),
            serde_json::json!({"idList": "l1", "name": "Ada", "desc": "d"})
        );
        let update = card_update(&CardUpdate {
            list_id: Some("l2".into()),
            closed: Some(false),
            ..CardUpdate::default()
        });
        assert_eq!(
            serde_json::to_value(&update).unwrap(),
            serde_json::json!({"idList": "l2", "closed": false})
        );
    }

    #[test]
    fn a_history_action_names_the_keys_it_changed_and_delivers_as_a_webhook_would() {
        let update = json!({"id": "a1", "type": "updateCard", "date": "2026-12-03T07:25:16.697Z",
            "idMemberCreator": "m-user", "data": {"board": {"id": "b1"},
            "card": {"id": "c1", "desc": "two"}, "old": {"desc": "one"}}});
        let action = card_action(&update).expect("an update");
        assert_eq!(
            (action.action_id.as_str(), action.member_creator_id.as_str()),
            ("a1", "m-user")
        );
        assert_eq!(action.keys, vec!["desc".to_owned()]);
        assert_eq!(action.date.timestamp_millis() % 1000, 697);
        let event = crate::inbound::trello_event::parse(&action.delivery).expect("a delivery");
        assert_eq!(event.meta().action_id, "a1");
        assert_eq!(event.meta().model_id.as_deref(), Some("b1"));

        let custom = json!({"id": "a2", "type": "updateCustomFieldItem",
            "date": "2026-12-03T07:25:17Z", "idMemberCreator": "m-user",
            "data": {"board": {"id": "b1"}, "card": {"id": "c1"}, "customField": {"id": "f9"}}});
        assert_eq!(
            card_action(&custom).expect("a field change").keys,
            vec!["f9"]
        );
        let comment = json!({"id": "a3", "type": "commentCard", "date": "2026-12-03T07:25:17Z",
            "idMemberCreator": "m-user", "data": {"board": {"id": "b1"}}});
        assert!(card_action(&comment).is_none());
    }
}
