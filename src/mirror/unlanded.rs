//! Whether a write of ours still pending (a pass stopped before its bases were saved) landed,
//! when its side no longer holds the value it wrote. `decide` cannot tell from the values: a
//! side holding what it held when the write was decided may be a write that never landed, or
//! one that landed and its user then moved back (chaos seed 8: a list move reverted once); a
//! side holding another value was edited since, over our write or not. Taking a write that
//! never landed for the base makes a user's undo on the other side look like a change (seed 4);
//! taking a landed one for unlanded copies the other side over its user's edit. The card's
//! history tells (one read, only then): a write of ours to the field since the pending one was
//! decided means it landed. Only for the fields the history shows, each written by one call
//! (name, description, list, archived state, labels, due date); a checklist keeps `decide`'s
//! rules. Assumes Trello's action dates and this host's clock agree, as the events' times do.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};

use crate::model::board::{Card, CardAction};
use crate::store::mirror_links::{MirrorLink, MirrorSide};
use crate::store::mirror_pending::Pending;

use super::context::{MirrorContext, RESTORABLE};
use super::history::field_of;
use super::{Error, Mirrors};

/// Whether `actions` (a card's history) hold a change of `field` by `member` made at or after
/// `at` (unix ms).
pub fn written_since(actions: &[CardAction], member: &str, field: &str, at: i64) -> bool {
    actions.iter().any(|a| {
        a.member_creator_id == member
            && a.date.timestamp_millis() >= at
            && a.keys.iter().any(|k| field_of(k) == Some(field))
    })
}

impl Mirrors {
    /// Whether each pending write to a history-shown field whose side no longer holds its value
    /// landed (`true`) or never did (`false`).
    pub(super) async fn pending_landed(
        &self,
        ctx: &MirrorContext,
        link: &MirrorLink,
        pending: &BTreeMap<String, Pending>,
        [a, b]: [&Card; 2],
    ) -> Result<BTreeMap<String, bool>, Error> {
        let mut histories: HashMap<MirrorSide, Vec<CardAction>> = HashMap::new();
        let mut landed = BTreeMap::new();
        for (field, p) in pending {
            let card = if p.side == MirrorSide::A { a } else { b };
            let holds = ctx.value(p.side, card, field);
            if !RESTORABLE.contains(&field.as_str()) || holds.as_deref() == Some(&p.value) {
                continue;
            }
            let Some(card_id) = link.card(p.side) else {
                continue;
            };
            if let Entry::Vacant(slot) = histories.entry(p.side) {
                slot.insert(self.board.card_history(card_id).await?);
            }
            let history = &histories[&p.side];
            landed.insert(
                field.clone(),
                written_since(history, &ctx.member_id, field, p.at),
            );
        }
        Ok(landed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn action(member: &str, at: i64, key: &str) -> CardAction {
        CardAction {
            action_id: format!("x{at}"),
            date: chrono::DateTime::from_timestamp_millis(at).expect("a time"),
            member_creator_id: member.into(),
            keys: vec![key.into()],
            delivery: Vec::new(),
        }
    }

    #[test]
    fn only_a_write_of_ours_to_the_field_since_the_pending_one_was_decided_counts() {
        let history = [
            action("us", 90, "idLabels"),
            action("user", 120, "idLabels"),
            action("us", 130, "name"),
        ];
        assert!(!written_since(&history, "us", "labels", 100), "older");
        assert!(written_since(&history, "us", "name", 100));
        assert!(written_since(&history, "us", "labels", 90));
    }
}
