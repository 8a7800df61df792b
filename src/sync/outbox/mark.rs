//! Sending a [`Command::MarkCard`]: the lead's marker put into a card a user made, around the
//! description the card has when it is sent. Trello has no conditional write, so a person who
//! changes the description between our read of the card and our write has it replaced by the
//! notes we read (seed 53: the write's 429s, retried by the client, widened those two calls to
//! a few hundred milliseconds; the person's notes were lost, and a reconciliation then copied
//! the older, empty notes to the sheet). The card's history tells: our write's `old.desc` is
//! what the card held just before it. When that is not what we read, the marker is written
//! once more around the person's notes.

use serde_json::Value;

use crate::clients::http::ClientError;
use crate::model::LeadId;
use crate::model::board::{CardAction, CardUpdate};
use crate::sync::board::OnLost;
use crate::sync::connector::{FollowUp, Outcome};
use crate::sync::context::PairContext;
use crate::sync::mapping::{compose_description, split_description};
use crate::sync::outbox::Dispatcher;
#[cfg(doc)]
use crate::sync::plan::commands::Command;

impl Dispatcher {
    /// Reads the card's description now and writes it back with the lead's marker, so that
    /// notes a user typed since the reconciler read the card are kept; then checks that no
    /// person changed it between the read and the write (`typed_meanwhile`).
    pub(super) async fn mark_card(
        &self,
        ctx: &PairContext,
        card_id: &str,
        lead_id: &str,
    ) -> Outcome {
        let card = match self.board.card(card_id).await {
            Ok(card) => card,
            Err(ClientError::NotFound { .. }) => return Outcome::skipped("the card is gone"),
            Err(e) => return Outcome::failed(&e),
        };
        let (notes, marker) = split_description(&card.desc);
        if marker.is_some_and(|m| m.as_str() == lead_id) {
            return Outcome::skipped("the card carries the marker already");
        }
        let Ok(id) = LeadId::parse(lead_id) else {
            return Outcome::Invalid(format!("mark_card names an invalid lead id {lead_id}"));
        };
        // Once: a lost answer is settled by the next try's read of the card (its marker is
        // there, or the description it composes from is the user's latest), never by sending
        // this description again over notes a user typed since.
        if let Some(outcome) = self.write_marked(card_id, &notes, &id).await {
            return outcome;
        }
        let history = match self.board.card_history(card_id).await {
            Ok(history) => history,
            // Unchecked, as every mark was before the check: the reconciler's next read of
            // the card takes what it shows.
            Err(e) => {
                tracing::warn!(pair = %ctx.name, card_id, error = %e, "could not read the card's history after marking it");
                return Outcome::sent(FollowUp::default());
            }
        };
        let Some(typed) = typed_meanwhile(&history, &ctx.member_id, &card.desc) else {
            return Outcome::sent(FollowUp::default());
        };
        tracing::warn!(pair = %ctx.name, card_id, "the card's notes changed between its read and the marker's write; the marker is written again around them");
        let (notes, _) = split_description(&typed);
        self.write_marked(card_id, &notes, &id)
            .await
            .unwrap_or_else(|| Outcome::sent(FollowUp::default()))
    }

    /// Writes `notes` with the marker of `id`; `None` once written, else the outcome.
    async fn write_marked(&self, card_id: &str, notes: &str, id: &LeadId) -> Option<Outcome> {
        let update = CardUpdate {
            desc: Some(compose_description(notes, id)),
            ..CardUpdate::default()
        };
        match self
            .board
            .update_card(card_id, &update, OnLost::Report)
            .await
        {
            Ok(_) => None,
            Err(ClientError::NotFound { .. }) => Some(Outcome::skipped("the card is gone")),
            Err(e) => Some(Outcome::failed(&e)),
        }
    }
}

/// What the card's description was just before our newest write of it (`history` newest
/// first, `ours` our member id), when that is not `read`, the description our write was
/// composed from: a person's change landed between the two.
fn typed_meanwhile(history: &[CardAction], ours: &str, read: &str) -> Option<String> {
    let write = (history.iter())
        .find(|a| a.member_creator_id == ours && a.keys.iter().any(|k| k == "desc"))?;
    let delivery: Value = serde_json::from_slice(&write.delivery).ok()?;
    let before = delivery["action"]["data"]["old"]["desc"].as_str()?;
    (before.trim() != read.trim()).then(|| before.to_owned())
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use serde_json::json;

    use super::*;

    fn action(member: &str, old_desc: &str) -> CardAction {
        let delivery = json!({"action": {"data": {"old": {"desc": old_desc}}}});
        CardAction {
            action_id: "a".into(),
            date: Utc::now(),
            member_creator_id: member.into(),
            keys: vec!["desc".into()],
            delivery: serde_json::to_vec(&delivery).expect("json"),
        }
    }

    #[test]
    fn a_persons_notes_between_our_read_and_our_write_are_what_our_write_replaced() {
        let history = [action("us", "typed"), action("person", "")];
        assert_eq!(
            typed_meanwhile(&history, "us", "").as_deref(),
            Some("typed")
        );
        assert_eq!(
            typed_meanwhile(&history, "us", "typed"),
            None,
            "what we read"
        );
        assert_eq!(
            typed_meanwhile(&history[1..], "us", ""),
            None,
            "no write of ours"
        );
    }
}
