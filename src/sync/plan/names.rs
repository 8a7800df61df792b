//! The names decisions, logs, activity entries and reconcile plans give the two sides: the
//! tracker side by its kind (`sheet`, `airtable`, from [`TrackerKind::side_name`]), the other
//! `trello`. The merge keeps calling the tracker side `Side::Sheet`; only what is shown is named
//! by kind, so a new tracker kind needs nothing here.

use crate::model::{Side, TrackerKind};
use crate::sync::context::PairContext;
use crate::sync::merge::{DecisionKind, DecisionRecord};

/// How one pair names its sides and its conflict policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SideNames {
    tracker: TrackerKind,
    policy: &'static str,
}

impl SideNames {
    pub fn of(ctx: &PairContext) -> Self {
        Self {
            tracker: ctx.tracker,
            policy: ctx.policy_name,
        }
    }

    /// `sheet` / `airtable` for the tracker side, `trello` for the board.
    pub fn side(self, side: Side) -> &'static str {
        match side {
            Side::Sheet => self.tracker.side_name(),
            Side::Trello => Side::Trello.as_str(),
        }
    }

    /// The `decision` name: `copy_to_airtable` where the merge says `CopyToSheet`.
    pub fn decision(self, kind: DecisionKind) -> String {
        match kind {
            DecisionKind::CopyToSheet => format!("copy_to_{}", self.side(Side::Sheet)),
            DecisionKind::CopyToTrello => format!("copy_to_{}", self.side(Side::Trello)),
            other => other.as_str().to_owned(),
        }
    }

    /// A per-side key: `field(Side::Sheet, "value_hash")` is `airtable_value_hash` on an
    /// Airtable pair.
    pub fn field(self, side: Side, what: &str) -> String {
        format!("{}_{what}", self.side(side))
    }

    /// The configured `conflict_policy` as the operator spelled it.
    pub fn policy(self) -> &'static str {
        self.policy
    }

    /// What chose a conflict's winner: `initial_source` (a first link) or the policy by name.
    pub fn decided_by(self, record: &DecisionRecord) -> &'static str {
        if record.by_initial_source {
            "initial_source"
        } else {
            self.policy
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::test_support::{airtable_ctx, ctx};

    #[test]
    fn a_sheets_pair_keeps_the_names_it_always_had() {
        let n = SideNames::of(&ctx());
        assert_eq!(n.decision(DecisionKind::CopyToSheet), "copy_to_sheet");
        assert_eq!(n.decision(DecisionKind::CopyToTrello), "copy_to_trello");
        assert_eq!(n.side(Side::Sheet), "sheet");
        assert_eq!(n.field(Side::Sheet, "value_hash"), "sheet_value_hash");
        assert_eq!(n.field(Side::Trello, "changed_at"), "trello_changed_at");
        assert_eq!(n.policy(), "last_writer_wins");
    }

    #[test]
    fn an_airtable_pair_names_its_tracker_side_airtable() {
        let n = SideNames::of(&airtable_ctx());
        assert_eq!(n.decision(DecisionKind::CopyToSheet), "copy_to_airtable");
        assert_eq!(n.decision(DecisionKind::CopyToTrello), "copy_to_trello");
        assert_eq!(
            n.decision(DecisionKind::Conflict {
                winner: Side::Sheet
            }),
            "conflict"
        );
        assert_eq!(n.side(Side::Sheet), "airtable");
        assert_eq!(n.side(Side::Trello), "trello");
        assert_eq!(n.field(Side::Sheet, "value_hash"), "airtable_value_hash");
        assert_eq!(n.policy(), "prefer_tracker");
    }
}
