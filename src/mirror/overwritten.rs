//! A user's edit overwritten by a pass that had not seen it (issue 14, chaos seed 36): a pass
//! reads both cards, a user then edits one, and the pass's write, decided from the older read,
//! lands over the edit (Trello has no conditional write). The edit's event comes after: that
//! side holds the base although its user changed the field after the base's pass read the cards
//! (`decide`'s `unseen`). The card's history then tells whether a write of ours came after that
//! user's change; if so, the user's value is the side's, merged with the other side's as the
//! conflict it was (the policy decides): put back on its card when it wins, or logged as lost.
//! The fields an update's action carries whole (name, description, list, archived state), and
//! those whose lost value is undone from the history: a label set and a due date (`undo`).

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::Arc;

use crate::inbound::trello_event;
use crate::model::LeadId;
use crate::model::board::{BoardEvent, CardAction, CardUpdate};
use crate::store::mirror_links::{self, FieldBase, MirrorLink, MirrorSide};
use crate::store::now_ms;
use crate::sync::board::OnLost;
use crate::sync::mapping::split_description;

use super::context::{BY_USER, MirrorContext};
use super::decide::Outcome;
use super::details::Target;
use super::log::{self, At, Conflict};
use super::merge::{Merge, Sides, merge};
use super::reader::Reader;
use super::{Error, Mirrors, Times};

/// The value and time of the user's change of `field` on `side`'s card that a write of ours
/// replaced: the card's latest change of the field (by `actions`, its history) is ours, and the
/// latest user's change before it came after `read_at` (the read our write was decided from).
/// The value is the one that change gave the card (its action shows it whole), or for a label
/// set or a due date what the card, holding `held` now, held before our writes (`undo`).
pub fn lost_edit(
    ctx: &MirrorContext,
    side: MirrorSide,
    actions: &[CardAction],
    field: &str,
    (held, read_at): (&str, i64),
) -> Option<(String, i64)> {
    let mut changes: Vec<&CardAction> = (actions.iter())
        .filter(|a| (a.keys.iter()).any(|k| super::history::field_of(k) == Some(field)))
        .collect();
    changes.sort_by(|x, y| (x.date, &x.action_id).cmp(&(y.date, &y.action_id)));
    let ours = |a: &CardAction| a.member_creator_id == ctx.member_id;
    if !ours(changes.last()?) {
        return None;
    }
    let user = changes.iter().rposition(|a| !ours(a))?;
    let at = changes[user].date.timestamp_millis();
    if at <= read_at {
        return None;
    }
    let value = match field {
        "labels" | "due" => super::undo::before(field, held, &changes[user + 1..])?,
        _ => {
            let event = trello_event::parse(&changes[user].delivery).ok()?;
            value_of(ctx, side, &event, field)?
        }
    };
    Some((value, at))
}

/// The value of `field` an update's action shows the card was given.
fn value_of(
    ctx: &MirrorContext,
    side: MirrorSide,
    event: &BoardEvent,
    field: &str,
) -> Option<String> {
    let BoardEvent::UpdateCard { card, list_id, .. } = event else {
        return None;
    };
    match field {
        "name" => card.name.clone(),
        "desc" => card.desc.as_deref().map(|d| split_description(d).0),
        "list" => (list_id.as_deref().or(card.list_id.as_deref()))
            .and_then(|id| ctx.mapped(side, id))
            .map(str::to_owned),
        "closed" => card.closed.map(|c| c.to_string()),
        _ => None,
    }
}

impl Mirrors {
    /// Each user's edit that the outcomes' `unseen` sides lost to a write of ours, merged with
    /// the other side's value: logged as a conflict, put back on its card when it wins, and the
    /// other side's value kept as the base (the pass, reading again, then copies the edit over).
    /// Answers whether any field was decided here.
    pub(super) async fn overwritten(
        &self,
        ctx: &MirrorContext,
        at: &At<'_>,
        link: &MirrorLink,
        outcomes: &[(String, Outcome)],
        times: &Times,
    ) -> Result<bool, Error> {
        let mut histories: HashMap<MirrorSide, Vec<CardAction>> = HashMap::new();
        let mut decided = false;
        for (field, o) in outcomes {
            let Some((side, read_at)) = o.unseen else {
                continue;
            };
            let Some(card_id) = link.card(side) else {
                continue;
            };
            if let Entry::Vacant(slot) = histories.entry(side) {
                slot.insert(self.board.card_history(card_id).await?);
            }
            let (held, other) = match side {
                MirrorSide::A => (&o.values.0, &o.values.1),
                MirrorSide::B => (&o.values.1, &o.values.0),
            };
            let history = &histories[&side];
            let Some((lost, lost_at)) = lost_edit(ctx, side, history, field, (held, read_at))
            else {
                continue;
            };
            // The other side's value: still the base, it was read before the lost edit (older
            // than it); else its user's change here, if this pass has its event (not our own
            // writes' times, which the base's carry).
            let other_at = if o.merge == Merge::Same {
                Some(read_at)
            } else {
                let user = (side.other(), format!("{BY_USER}{field}"));
                times.get(&user).copied()
            };
            if lost == *held {
                continue;
            }
            let (a, b, a_at, b_at) = match side {
                MirrorSide::A => (lost.as_str(), other.as_str(), Some(lost_at), other_at),
                MirrorSide::B => (other.as_str(), lost.as_str(), other_at, Some(lost_at)),
            };
            decided = true;
            let merged = merge(None, Sides { a, b, a_at, b_at }, ctx.policy, None);
            if let Merge::Conflict { winner } = merged {
                let c = Conflict {
                    a,
                    b,
                    a_at,
                    b_at,
                    winner,
                    policy: ctx.policy,
                };
                log::conflict(&self.db.pool, at, field, &c).await?;
                if winner == side {
                    self.put_back(ctx, link, side, field, &lost).await?;
                }
            }
            // The base the pass then merges from: the other side's value once the edit is put
            // back (the edit is copied over); else what the side holds (the other side's value,
            // if it changed since our write, is copied over it). Saved after the write: a pass
            // stopped before it finds the edit lost again.
            let put_back = merged == (Merge::Conflict { winner: side });
            let base = FieldBase {
                base_value: if put_back { other } else { held }.clone(),
                a_changed_at: a_at,
                b_changed_at: b_at,
                read_at: Some(now_ms()),
            };
            mirror_links::save_field(&self.db.pool, &ctx.name, at.link_id, field, &base).await?;
        }
        Ok(decided)
    }
}

impl Mirrors {
    /// Writes a lost edit's value back on its card: a label set by its own call (both cards
    /// read again for it: the set replaces the card's, a missing label takes the twin's colour).
    async fn put_back(
        &self,
        ctx: &MirrorContext,
        link: &MirrorLink,
        side: MirrorSide,
        field: &str,
        value: &str,
    ) -> Result<(), Error> {
        let (Some(card_id), Some(twin_id)) = (link.card(side), link.card(side.other())) else {
            return Ok(());
        };
        if field == "labels" {
            let reader = Reader::live(Arc::clone(&self.board));
            let (Some(card), Some(twin)) =
                (reader.card(card_id).await?, reader.card(twin_id).await?)
            else {
                return Ok(());
            };
            let to = Target {
                side,
                card: &card,
                twin: &twin,
            };
            return self.write_labels(ctx, &reader, &to, value).await;
        }
        let link_id = LeadId::parse(&link.link_id).map_err(|e| Error::Link(e.to_string()))?;
        let mut update = CardUpdate::default();
        ctx.write(side, &mut update, field, value, &link_id);
        (self.board)
            .update_card(card_id, &update, OnLost::Report)
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::MirrorPolicySetting;

    fn ctx() -> MirrorContext {
        let settings = crate::config::MirrorSettings {
            name: "m".into(),
            board_a: "board-a".into(),
            board_b: "board-b".into(),
            conflict_policy: MirrorPolicySetting::LastWriterWins,
            lists: Default::default(),
        };
        let layout = crate::sync::context::BoardLayout {
            lists: Vec::new(),
            custom_fields: Vec::new(),
        };
        MirrorContext::resolve(&settings, "us".into(), &layout, &layout).expect("no lists")
    }

    fn rename(member: &str, at: i64, name: &str) -> CardAction {
        let action = serde_json::json!({
            "id": format!("act{at:04}"),
            "type": "updateCard",
            "date": chrono::DateTime::from_timestamp_millis(at).expect("a time").to_rfc3339(),
            "idMemberCreator": member,
            "data": {
                "board": {"id": "board-a"},
                "card": {"id": "c1", "name": name},
                "old": {"name": "before"}
            }
        });
        let delivery = serde_json::json!({"action": action, "model": {"id": "board-a"}});
        CardAction {
            action_id: format!("act{at:04}"),
            date: chrono::DateTime::from_timestamp_millis(at).expect("a time"),
            member_creator_id: member.into(),
            keys: vec!["name".into()],
            delivery: serde_json::to_vec(&delivery).expect("json"),
        }
    }

    #[test]
    fn a_user_s_change_after_the_read_then_ours_is_lost_and_else_it_is_not() {
        let ctx = ctx();
        let lost =
            |actions: &[CardAction]| lost_edit(&ctx, MirrorSide::A, actions, "name", ("x", 100));
        // The user renamed after our read (100), our write (decided before it) landed after.
        let overwritten = [rename("user", 120, "Mine"), rename("us", 121, "Theirs")];
        assert_eq!(lost(&overwritten), Some(("Mine".into(), 120)));
        // The user's change is the latest: it stands, nothing was lost.
        let kept = [rename("us", 90, "Theirs"), rename("user", 120, "Mine")];
        assert_eq!(lost(&kept), None);
        // Our write's pass had read the user's change (before 100): decided, not lost.
        let seen = [rename("user", 95, "Mine"), rename("us", 121, "Theirs")];
        assert_eq!(lost(&seen), None);
        // Another field's changes say nothing of this one.
        assert_eq!(
            lost_edit(&ctx, MirrorSide::A, &overwritten, "desc", ("x", 100)),
            None
        );
    }
}
