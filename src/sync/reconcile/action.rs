//! The steps a reconciliation plans, as `--dry-run` prints them and `apply` carries them out.

use serde::Serialize;

use crate::model::Side;
use crate::sync::context::PairContext;
use crate::sync::merge::{Decision, DecisionKind};
use crate::sync::plan::LeadPlan;
use crate::sync::plan::commands::Command;
use crate::sync::plan::names::SideNames;

/// One step of a reconciliation.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    LinkLead {
        lead_id: String,
        card_id: Option<String>,
        card_short_url: Option<String>,
        row: Option<u32>,
        /// The id is new, made for a row the read showed without one.
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        new_id_for_row: bool,
    },
    AdoptCard {
        lead_id: String,
        card_id: String,
        card_short_url: String,
    },
    CardDeleted {
        lead_id: String,
        card_id: String,
    },
    /// The card's archived state differs from what the link remembers (an archive or restore
    /// whose webhook never arrived).
    CardClosed {
        lead_id: String,
        closed: bool,
    },
    RowHint {
        lead_id: String,
        row: u32,
    },
    RowMissing {
        lead_id: String,
    },
    RowSeen {
        lead_id: String,
    },
    DropLink {
        lead_id: String,
        reason: String,
        /// The plan archives the lead's card for its deletion (a restored record unarchives it).
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        card_archived: bool,
    },
    Lead {
        lead_id: String,
        card_id: Option<String>,
        #[serde(skip)]
        plan: LeadPlan,
        decisions: Vec<PlannedDecision>,
        commands: Vec<Command>,
    },
    Warning {
        message: String,
    },
    /// A cell the write check emptied, written back by the new lead of its row: forgotten.
    BlankWrittenBack {
        key: String,
    },
}

impl Action {
    /// The lead an action is about, if any.
    pub fn lead_id(&self) -> Option<&str> {
        match self {
            Action::LinkLead { lead_id, .. }
            | Action::AdoptCard { lead_id, .. }
            | Action::CardDeleted { lead_id, .. }
            | Action::CardClosed { lead_id, .. }
            | Action::RowHint { lead_id, .. }
            | Action::RowMissing { lead_id }
            | Action::RowSeen { lead_id }
            | Action::DropLink { lead_id, .. }
            | Action::Lead { lead_id, .. } => Some(lead_id),
            Action::Warning { .. } | Action::BlankWrittenBack { .. } => None,
        }
    }
}

/// A decision as `--dry-run` prints it, the sides named as the pair's logs name them.
#[derive(Debug, Clone, Serialize)]
pub struct PlannedDecision {
    pub field: &'static str,
    pub decision: String,
    /// The side whose value is written to the other: the changed side of a copy, the winner
    /// of a conflict (`sheet`, `airtable` or `trello`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<&'static str>,
    /// What chose a conflict's winner: `initial_source` (a first link, nothing agreed yet) or
    /// the `conflict_policy` by name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<&'static str>,
}

impl PlannedDecision {
    fn of(names: SideNames, d: &Decision) -> Self {
        let source = match d.kind {
            DecisionKind::CopyToTrello => Some(Side::Sheet),
            DecisionKind::CopyToSheet => Some(Side::Trello),
            DecisionKind::Conflict { winner } => Some(winner),
            DecisionKind::Echo | DecisionKind::Noop => None,
        };
        let decided_by = match d.kind {
            DecisionKind::Conflict { .. } => Some(names.decided_by(&d.record)),
            _ => None,
        };
        Self {
            field: d.field.as_str(),
            decision: names.decision(d.kind),
            source: source.map(|side| names.side(side)),
            decided_by,
        }
    }
}

/// A read that finds both sides agreeing is not an echo (nothing came back from a write): it
/// is a no-op, and like every no-op it is not stored in the activity log, so reconciling
/// thousands of unchanged leads adds nothing to it.
fn without_echoes(mut plan: LeadPlan) -> LeadPlan {
    for d in &mut plan.decisions {
        if d.kind == DecisionKind::Echo {
            d.kind = DecisionKind::Noop;
            d.record.decision = DecisionKind::Noop.as_str();
        }
    }
    plan
}

pub(crate) fn lead_action(
    ctx: &PairContext,
    lead_id: &str,
    card_id: Option<&str>,
    plan: LeadPlan,
) -> Action {
    let plan = without_echoes(plan);
    let names = SideNames::of(ctx);
    let decisions = plan
        .decisions
        .iter()
        .map(|d| PlannedDecision::of(names, d))
        .collect();
    Action::Lead {
        lead_id: lead_id.to_owned(),
        card_id: card_id.map(str::to_owned),
        commands: plan.commands.clone(),
        plan,
        decisions,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Field;
    use crate::sync::merge::{Agreed, FieldState, Observed, merge_field};
    use crate::sync::test_support::{airtable_ctx, ctx, t};

    /// The name field both sides changed (tracker at t(10), Trello at t(20)) and a status only
    /// Trello changed, as `--dry-run` prints them.
    fn planned(ctx: &PairContext) -> serde_json::Value {
        let agreed = |v: &str| FieldState {
            agreed: Some(Agreed::new(v, t(0), None)),
            ..FieldState::default()
        };
        let (tracker, trello) = (
            Observed::user("Ada L", Some(t(10))),
            Observed::user("Ada K", Some(t(20))),
        );
        let conflict = merge_field(
            Field::Name,
            &agreed("Ada"),
            Some(&tracker),
            Some(&trello),
            ctx.policy,
            t(30),
        );
        let lost = Observed::user("Lost", Some(t(20)));
        let copy = merge_field(
            Field::Status,
            &agreed("New"),
            None,
            Some(&lost),
            ctx.policy,
            t(30),
        );
        let plan = LeadPlan {
            decisions: vec![conflict, copy],
            ..LeadPlan::default()
        };
        serde_json::to_value(lead_action(ctx, "L1", Some("c1"), plan)).expect("json")
    }

    #[test]
    fn a_sheets_dry_run_plan_keeps_its_names() {
        let v = planned(&ctx());
        assert_eq!(v["decisions"][0]["decision"], "conflict");
        assert_eq!(v["decisions"][0]["source"], "trello");
        assert_eq!(v["decisions"][0]["decided_by"], "last_writer_wins");
        assert_eq!(v["decisions"][1]["decision"], "copy_to_sheet");
        assert_eq!(v["decisions"][1]["source"], "trello");
    }

    #[test]
    fn an_airtable_dry_run_plan_names_the_tracker_side_airtable() {
        let v = planned(&airtable_ctx());
        assert_eq!(v["decisions"][0]["decision"], "conflict");
        assert_eq!(v["decisions"][0]["source"], "airtable");
        assert_eq!(v["decisions"][0]["decided_by"], "prefer_tracker");
        assert_eq!(v["decisions"][1]["decision"], "copy_to_airtable");
    }
}
