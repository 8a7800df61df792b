//! A conflict under `last_writer_wins` found without both sides' change times (a reconciliation
//! reads the boards, not their events) gets them from the two cards' histories: without them it
//! would go to side a (CONTRACT §8), even when b's user edited the field later (chaos seed 18).
//! Trello's card history shows the card's own fields (name, description, list, archive, due
//! date) and its labels put on and taken off; a checklist conflict without times still goes to
//! side a.

use crate::config::MirrorPolicySetting;
use crate::model::board::CardAction;
use crate::store::mirror_links::MirrorSide;

use super::decide::Outcome;
use super::merge::Merge;
use super::{Error, Mirrors, Times};

/// The mirrored field an `updateCard` action's changed key stands for.
pub fn field_of(key: &str) -> Option<&'static str> {
    match key {
        "name" => Some("name"),
        "desc" => Some("desc"),
        "idList" => Some("list"),
        "closed" => Some("closed"),
        "due" | "dueComplete" => Some("due"),
        "idLabels" => Some("labels"),
        _ => None,
    }
}

/// Whether a pass's outcomes hold a conflict that the last writer should decide, but one of
/// whose sides' change times is unknown.
pub fn untimed(policy: MirrorPolicySetting, outcomes: &[(String, Outcome)]) -> bool {
    policy == MirrorPolicySetting::LastWriterWins
        && outcomes.iter().any(|(field, o)| {
            matches!(o.merge, Merge::Conflict { .. })
                && field_of_merged(field)
                && (o.base.a_changed_at.is_none() || o.base.b_changed_at.is_none())
        })
}

/// Whether the card history shows changes of this field.
fn field_of_merged(field: &str) -> bool {
    ["name", "desc", "list", "closed", "due", "labels"].contains(&field)
}

/// `times` with each side's latest change of every field by anyone but leadsync (`member`)
/// added from `actions` (a card's history).
pub fn with_history(
    times: &Times,
    member: &str,
    actions: [(MirrorSide, &[CardAction]); 2],
) -> Times {
    let mut times = times.clone();
    for (side, actions) in actions {
        for action in actions.iter().filter(|a| a.member_creator_id != member) {
            let at = action.date.timestamp_millis();
            for field in action.keys.iter().filter_map(|k| field_of(k)) {
                let slot = times.entry((side, field.to_owned())).or_insert(at);
                *slot = (*slot).max(at);
            }
        }
    }
    times
}

impl Mirrors {
    /// `times` with both cards' histories added.
    pub(super) async fn history_times(
        &self,
        member: &str,
        cards: [&str; 2],
        times: &Times,
    ) -> Result<Times, Error> {
        let a = self.board.card_history(cards[0]).await?;
        let b = self.board.card_history(cards[1]).await?;
        Ok(with_history(
            times,
            member,
            [(MirrorSide::A, &a), (MirrorSide::B, &b)],
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn action(member: &str, at: i64, keys: &[&str]) -> CardAction {
        CardAction {
            action_id: format!("x{at}"),
            date: chrono::DateTime::from_timestamp_millis(at).expect("a time"),
            member_creator_id: member.into(),
            keys: keys.iter().map(|k| (*k).to_owned()).collect(),
            delivery: Vec::new(),
        }
    }

    #[test]
    fn a_history_gives_each_side_its_users_latest_change_of_each_field() {
        let a = [action("user", 5, &["name"]), action("us", 9, &["name"])];
        let b = [
            action("user", 7, &["name", "idList"]),
            action("user", 3, &["dueComplete"]),
        ];
        let known = Times::from([((MirrorSide::A, "desc".to_owned()), 1)]);
        let times = with_history(&known, "us", [(MirrorSide::A, &a), (MirrorSide::B, &b)]);
        let at = |side, f: &str| times.get(&(side, f.to_owned())).copied();
        assert_eq!(
            at(MirrorSide::A, "name"),
            Some(5),
            "our own write is no user's"
        );
        assert_eq!(at(MirrorSide::B, "name"), Some(7));
        assert_eq!(at(MirrorSide::B, "list"), Some(7));
        assert_eq!(at(MirrorSide::B, "due"), Some(3));
        assert_eq!(at(MirrorSide::A, "desc"), Some(1), "known times are kept");
        assert_eq!(times.len(), 5);
    }
}
