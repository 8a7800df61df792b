//! An operator's edit, planned through the same merge and commands as a user's: the console's
//! "apply the losing value" of a conflict.

use chrono::{DateTime, Utc};

use super::{LeadPlan, LinkView, commands_of, overwrite_in_flight};
use crate::model::{Field, Side};
use crate::sync::context::PairContext;
use crate::sync::merge::{LeadObservation, LeadState, Observed, Write, merge_lead};

/// An operator's edit (the console's "apply the losing value"): `value` observed on `side` as a
/// change made now, merged like any user edit (so it becomes the agreed value and goes to the
/// other side), and written to `side` too, which does not hold it (the edit was made in neither
/// system). Nothing is written when `value` is already the agreed one.
pub fn plan_operator_edit(
    ctx: &PairContext,
    link: &LinkView,
    state: &LeadState,
    side: Side,
    field: Field,
    value: &str,
    now: DateTime<Utc>,
) -> LeadPlan {
    let edit = LeadObservation::from([(field, Observed::user(value, Some(now)))]);
    let none = LeadObservation::new();
    let (sheet, trello) = match side {
        Side::Sheet => (&edit, &none),
        Side::Trello => (&none, &edit),
    };
    let mut decisions = merge_lead(state, sheet, trello, ctx.rules(), now);
    overwrite_in_flight(state, link, &mut decisions);
    for d in &mut decisions {
        // Only an edit the merge took (the agreed value is now this one, and was not before);
        // an echo or a no-op of the value already agreed writes nothing.
        let before = state.get(&d.field).and_then(|f| f.agreed.as_ref());
        let taken = d.next.agreed.as_ref().is_some_and(|a| a.value == value)
            && before.is_none_or(|b| b.value != value);
        if !taken || d.writes.iter().any(|w| w.side == side) {
            continue;
        }
        d.writes.push(Write::new(side, value.to_owned()));
        // Recorded like every write of ours: an older user change on that side is overwritten.
        match side {
            Side::Sheet => d.next.sheet.written_at = Some(now),
            Side::Trello => d.next.trello.written_at = Some(now),
        }
    }
    commands_of(ctx, link, state, sheet, decisions)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::LeadId;
    use crate::sync::merge::DecisionKind;
    use crate::sync::merge::{Agreed, FieldState, SideMemory};
    use crate::sync::plan::commands::Command;
    use crate::sync::test_support::{ctx, t};

    fn link() -> LinkView {
        LinkView {
            lead_id: LeadId::parse("L1").expect("id"),
            has_card: true,
            create_pending: false,
            card_closed: false,
            card_deleted: false,
            row_hint: Some(2),
            in_flight: Vec::new(),
        }
    }

    /// After a conflict Trello won: both sides hold "Ada K", the sheet's "Ada L" lost.
    fn after_conflict(field: Field) -> LeadState {
        let state = FieldState {
            agreed: Some(Agreed::new("Ada K", t(20), Some(Side::Trello))),
            sheet: SideMemory {
                seen_at: Some(t(10)),
                written_at: Some(t(21)),
            },
            trello: SideMemory {
                seen_at: Some(t(20)),
                written_at: None,
            },
        };
        LeadState::from([(field, state)])
    }

    #[test]
    fn the_losing_value_goes_to_both_sides_and_becomes_the_agreed_one() {
        let ctx = ctx();
        let state = after_conflict(Field::Name);
        let plan = plan_operator_edit(
            &ctx,
            &link(),
            &state,
            Side::Sheet,
            Field::Name,
            "Ada L",
            t(30),
        );
        let [d] = &plan.decisions[..] else {
            panic!("one decision: {:?}", plan.decisions)
        };
        assert_eq!(d.kind, DecisionKind::CopyToTrello);
        let agreed = d.next.agreed.as_ref().expect("agreed");
        assert_eq!((agreed.value.as_str(), agreed.agreed_at), ("Ada L", t(30)));
        assert_eq!(d.next.sheet.written_at, Some(t(30)));
        assert_eq!(d.next.trello.written_at, Some(t(30)));
        let card = plan.commands.iter().find_map(|c| match c {
            Command::UpdateCard { name, .. } => name.clone(),
            _ => None,
        });
        assert_eq!(card.as_deref(), Some("Ada L"), "{:?}", plan.commands);
        let row = plan.commands.iter().find_map(|c| match c {
            Command::WriteRow { cells, .. } => cells.get(ctx.header(Field::Name)).cloned(),
            _ => None,
        });
        assert_eq!(row.as_deref(), Some("Ada L"), "{:?}", plan.commands);
        assert_eq!(plan.commands.len(), 2, "{:?}", plan.commands);
    }

    #[test]
    fn a_losing_trello_value_is_written_to_the_card_and_the_row() {
        let ctx = ctx();
        let state = after_conflict(Field::Email);
        let plan = plan_operator_edit(
            &ctx,
            &link(),
            &state,
            Side::Trello,
            Field::Email,
            "k@x.io",
            t(30),
        );
        assert_eq!(plan.decisions[0].kind, DecisionKind::CopyToSheet);
        let kinds: Vec<&str> = plan.commands.iter().map(Command::kind).collect();
        assert_eq!(
            kinds,
            ["set_custom_fields", "write_row"],
            "{:?}",
            plan.commands
        );
    }

    #[test]
    fn a_value_already_agreed_plans_nothing() {
        let state = after_conflict(Field::Name);
        let plan = plan_operator_edit(
            &ctx(),
            &link(),
            &state,
            Side::Sheet,
            Field::Name,
            "Ada K",
            t(30),
        );
        assert!(plan.commands.is_empty(), "{:?}", plan.commands);
        assert!(plan.decisions.iter().all(|d| d.writes.is_empty()));
    }
}
