//! Sending a [`Command::RestoreCard`]: a value put back on a card over a blind write of ours is
//! written only if no person changed that field of the card again after the change put back.
//! Such a later change was made before our write landed and its delivery never reached us (it
//! was lost): putting the older value back would revert it. The card's history shows it, so it
//! is read into the inbox like the delivery it should have been (the worker weighs it as any
//! change), and the field is left for that decision.

use std::collections::{BTreeMap, BTreeSet};

use crate::clients::http::ClientError;
use crate::inbound::Source;
use crate::model::board::{CardAction, CardUpdate};
use crate::store::links::Link;
use crate::store::{StoreError, inbox};
use crate::sync::board::OnLost;
use crate::sync::connector::{Claimed, FollowUp, Outcome};
use crate::sync::context::PairContext;
use crate::sync::outbox::Dispatcher;
use crate::sync::outbox::trello::card_gone;
use crate::sync::plan::commands::Command;

impl Dispatcher {
    pub(super) async fn restore_card(
        &self,
        ctx: &PairContext,
        claimed: &Claimed,
        link: &Link,
    ) -> Result<Outcome, StoreError> {
        let Command::RestoreCard {
            fields,
            since,
            closed,
            ..
        } = &claimed.cmd
        else {
            return Ok(Outcome::Invalid("not a restore_card command".into()));
        };
        let Some(card_id) = link.card_id.as_deref() else {
            return Ok(Outcome::skipped("the lead has no card to update"));
        };
        let history = match self.board.card_history(card_id).await {
            Ok(history) => history,
            Err(ClientError::NotFound { .. }) => return Ok(card_gone(ctx, claimed, link, card_id)),
            Err(e) => return Ok(Outcome::failed(&e)),
        };
        let later = later_changes(&history, &ctx.member_id, since);
        let superseded: BTreeSet<&str> = later
            .iter()
            .flat_map(|a| a.keys.iter().map(String::as_str))
            .collect();
        for action in &later {
            inbox::insert_fetched(
                &self.db.pool,
                Source::Trello,
                &action.action_id,
                &ctx.name,
                &action.delivery,
            )
            .await?;
        }
        if !superseded.is_empty() {
            tracing::info!(pair = %ctx.name, lead_id = %link.lead_id, card_id,
                fields = ?superseded, changes = later.len(),
                "not put back: the card changed again after; that change is read now");
        }
        let keep = |key: &str| !superseded.contains(key);
        let value = |key: &str| fields.get(key).filter(|_| keep(key)).cloned();
        let update = CardUpdate {
            name: value("name"),
            desc: value("desc"),
            list_id: value("idList"),
            closed: closed.filter(|_| keep("idList")),
            ..CardUpdate::default()
        };
        let custom: BTreeMap<String, String> = (fields.iter())
            .filter(|(k, _)| !matches!(k.as_str(), "name" | "desc" | "idList") && keep(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Ok(self.put_back(card_id, &update, &custom).await)
    }

    async fn put_back(
        &self,
        card_id: &str,
        update: &CardUpdate,
        custom: &BTreeMap<String, String>,
    ) -> Outcome {
        if update.is_empty() && custom.is_empty() {
            return Outcome::skipped("superseded by a later change of the card");
        }
        if !update.is_empty()
            && let Err(e) = self
                .board
                .update_card(card_id, update, OnLost::Repeat)
                .await
        {
            return match e {
                ClientError::NotFound { .. } => Outcome::skipped("the card is gone"),
                e => Outcome::failed(&e),
            };
        }
        // A repeat after a failure here sends the update again: it carries the same values.
        match self.board.set_custom_texts(card_id, custom).await {
            Ok(()) => Outcome::sent(FollowUp {
                closed: update.closed,
                ..FollowUp::default()
            }),
            Err(ClientError::NotFound { .. }) => Outcome::skipped("the card is gone"),
            Err(e) => Outcome::failed(&e),
        }
    }
}

/// A person's changes of a restored key made after the change put back for that key.
fn later_changes<'h>(
    history: &'h [CardAction],
    ours: &str,
    since: &BTreeMap<String, i64>,
) -> Vec<&'h CardAction> {
    history
        .iter()
        .filter(|a| a.member_creator_id != ours)
        .filter(|a| {
            a.keys.iter().any(|key| {
                since
                    .get(key)
                    .is_some_and(|at| a.date.timestamp_millis() > *at)
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;

    fn action(id: &str, at_ms: i64, member: &str, keys: &[&str]) -> CardAction {
        CardAction {
            action_id: id.into(),
            date: Utc.timestamp_millis_opt(at_ms).unwrap(),
            member_creator_id: member.into(),
            keys: keys.iter().map(|k| (*k).to_owned()).collect(),
            delivery: Vec::new(),
        }
    }

    #[test]
    fn only_a_persons_later_change_of_a_restored_key_supersedes_it() {
        let history = [
            action("a1", 2_000, "person", &["desc"]),
            action("a2", 3_000, "us", &["desc"]),
            action("a3", 4_000, "person", &["name"]),
            action("a4", 900, "person", &["idList"]),
            action("a5", 1_000, "person", &["desc"]),
        ];
        let since = BTreeMap::from([("desc".to_owned(), 1_000), ("idList".to_owned(), 1_000)]);
        let later: Vec<&str> = later_changes(&history, "us", &since)
            .iter()
            .map(|a| a.action_id.as_str())
            .collect();
        // Ours (a2) is the write put back over; a3 changed a key not put back; a4 and a5 are
        // not later than the change put back (a5 is that change itself).
        assert_eq!(later, vec!["a1"]);
    }
}
