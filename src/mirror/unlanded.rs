//! A write of ours still pending (a pass stopped before its bases were saved) whose side its
//! user has edited since: `decide` takes the pending value for the base (what the pass left
//! both sides agreeing on) when the write may have landed. When it did not, that value was
//! never on both cards, and taking it for the base makes the other side look changed: a user's
//! undo there (a label put on and taken off again while its copy was failing, chaos seed 4)
//! becomes a conflict the policy may decide against the edit that was really made. The card's
//! history tells (one read, only then): no write of ours to the field since the pending one was
//! decided means it never landed, and the stored base still stands.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::model::board::CardAction;
use crate::store::mirror_links::{MirrorLink, MirrorSide};
use crate::store::mirror_pending::Pending;

use super::context::{MirrorContext, RESTORABLE};
use super::decide::edited_since;
use super::history::field_of;
use super::{Error, Mirrors, Times};

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
    /// The pending fields whose side was edited since and whose write never landed.
    pub(super) async fn unlanded(
        &self,
        ctx: &MirrorContext,
        link: &MirrorLink,
        pending: &BTreeMap<String, Pending>,
        times: &Times,
    ) -> Result<BTreeSet<String>, Error> {
        let mut histories: HashMap<MirrorSide, Vec<CardAction>> = HashMap::new();
        let mut unlanded = BTreeSet::new();
        for (field, p) in pending {
            if !RESTORABLE.contains(&field.as_str()) || !edited_since(times, field, p.side, p.at) {
                continue;
            }
            let Some(card_id) = link.card(p.side) else {
                continue;
            };
            if let Entry::Vacant(slot) = histories.entry(p.side) {
                slot.insert(self.board.card_history(card_id).await?);
            }
            if !written_since(&histories[&p.side], &ctx.member_id, field, p.at) {
                unlanded.insert(field.clone());
            }
        }
        Ok(unlanded)
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
