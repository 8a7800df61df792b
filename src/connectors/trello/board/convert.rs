//! Trello's cards as the engine's (`model::board`) and the engine's card writes as the client's
//! request bodies: the engine's card keeps what it reads (its link is the short URL).

use crate::connectors::trello::client;
use crate::model::board::{Card, CardUpdate, NewCard};

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

/// The engine never sets a due date: it is left as it is.
pub(super) fn card_update(update: &CardUpdate) -> client::CardUpdate {
    client::CardUpdate {
        name: update.name.clone(),
        desc: update.desc.clone(),
        id_list: update.list_id.clone(),
        closed: update.closed,
        due: None,
    }
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
        };
        let seen = Card::from(card);
        assert_eq!(seen.id, "c1");
        assert_eq!(seen.short_url, "https://trello.com/c/s1");
        assert_eq!((seen.name.as_str(), seen.desc.as_str()), ("Ada", "notes"));
        assert_eq!(seen.list_id, "l1");
        assert!(seen.closed);
        assert_eq!(seen.custom_texts["f1"], "+44");
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
}
