//! From one lead's observations to its decisions and outbox commands. Pure: the worker and the
//! reconciler both call it, and it is tested without I/O. Its `commands` are what the outbox
//! dispatcher later sends; `apply` commits a plan in the caller's transaction (the stage's only
//! I/O, kept apart from the pure planning) and `log` says what it decided, with the sides named
//! by `names`; `operator` plans an operator's edit from the console the same way.

pub mod apply;
pub mod commands;
pub mod log;
pub mod names;
mod operator;
mod restore;

pub use operator::plan_operator_edit;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::model::{Field, LeadId, Side};
use crate::sync::context::PairContext;
use crate::sync::mapping::compose_description;
use crate::sync::merge::{Decision, DecisionKind, LeadObservation, LeadState, Write, merge_lead};
use crate::sync::plan::commands::Command;

/// What the planner needs of a lead's link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkView {
    pub lead_id: LeadId,
    pub has_card: bool,
    /// A create is queued and not done yet: later changes become updates of that card.
    pub create_pending: bool,
    pub card_closed: bool,
    /// The card was deleted in Trello: no new card until the sheet's status next changes.
    pub card_deleted: bool,
    pub row_hint: Option<u32>,
    /// Fields this lead has writes of on their way to a side (not sent yet, or dead-lettered):
    /// they land after this decision and may carry values it replaces.
    pub in_flight: Vec<(Side, Field)>,
}

#[derive(Debug, Clone, Default)]
pub struct LeadPlan {
    pub decisions: Vec<Decision>,
    pub commands: Vec<Command>,
    /// Things left as they are, to log as warnings (unmapped statuses …).
    pub warnings: Vec<String>,
}

/// Merges every observed field and turns the writes into commands: one card update (or one
/// create), one custom-field write and one row write at most.
pub fn plan_lead(
    ctx: &PairContext,
    link: &LinkView,
    state: &LeadState,
    sheet: &LeadObservation,
    trello: &LeadObservation,
    now: DateTime<Utc>,
) -> LeadPlan {
    let mut decisions = merge_lead(state, sheet, trello, ctx.rules(), now);
    overwrite_in_flight(state, link, &mut decisions);
    commands_of(ctx, link, state, sheet, decisions)
}

/// The decisions' writes as commands: one card update (or one create), one custom-field write
/// and one row write at most.
pub(super) fn commands_of(
    ctx: &PairContext,
    link: &LinkView,
    state: &LeadState,
    sheet: &LeadObservation,
    decisions: Vec<Decision>,
) -> LeadPlan {
    let mut to_trello: BTreeMap<Field, String> = BTreeMap::new();
    let mut to_sheet: BTreeMap<Field, String> = BTreeMap::new();
    // Values put back on a card we wrote over: asked of the card's history first. Only a
    // card that exists has one; a card still to be made gets them as ordinary values.
    let mut put_back: BTreeMap<Field, (String, DateTime<Utc>)> = BTreeMap::new();
    for d in &decisions {
        for w in &d.writes {
            match (w.side, w.restores) {
                (Side::Trello, Some(at)) if link.has_card => {
                    put_back.insert(d.field, (w.value.clone(), at));
                }
                (Side::Trello, _) => {
                    to_trello.insert(d.field, w.value.clone());
                }
                (Side::Sheet, _) => {
                    to_sheet.insert(d.field, w.value.clone());
                }
            }
        }
    }
    unarchive_if_status_moved_on(ctx, link, state, &decisions, &mut to_trello);
    let mut plan = LeadPlan::default();
    if !to_trello.is_empty() {
        if link.has_card || link.create_pending {
            card_updates(ctx, link, &to_trello, &mut plan);
        } else if !link.card_deleted || sheet_changed_status(&decisions) {
            create_card(ctx, link, state, &decisions, sheet, &mut plan);
        }
    }
    restore::restore_card(ctx, link, &put_back, &mut plan);
    if !to_sheet.is_empty() {
        let cells = to_sheet
            .into_iter()
            .map(|(f, v)| (ctx.header(f).to_owned(), v))
            .collect();
        plan.commands.push(Command::WriteRow {
            lead_id: link.lead_id.to_string(),
            row_hint: link.row_hint,
            expect_name: None,
            cells,
        });
    }
    plan.decisions = decisions;
    plan
}

/// A new agreed value is written again to a side that still has a write of that field on its
/// way: it was decided earlier, may carry the value this one replaces, and would otherwise
/// land last (a write queued now lands after it, per lead, in order).
pub(super) fn overwrite_in_flight(state: &LeadState, link: &LinkView, decisions: &mut [Decision]) {
    for d in decisions {
        let Some(agreed) = &d.next.agreed else {
            continue;
        };
        let before = state.get(&d.field).and_then(|f| f.agreed.as_ref());
        if before.is_some_and(|b| b.hash == agreed.hash) {
            continue;
        }
        for (side, _) in link.in_flight.iter().filter(|(_, f)| *f == d.field) {
            if !d.writes.iter().any(|w| w.side == *side) {
                d.writes.push(Write::new(*side, agreed.value.clone()));
            }
        }
    }
}

/// An archived card stands for the archived status (`on_card_archived = "status:X"`). While
/// the agreed status is another one, the card comes back to that status's list: a sheet edit
/// decided before the archive was heard of wins over it, and would otherwise leave the card
/// archived, for the next reconciliation to read as the archived status again.
fn unarchive_if_status_moved_on(
    ctx: &PairContext,
    link: &LinkView,
    state: &LeadState,
    decisions: &[Decision],
    to_trello: &mut BTreeMap<Field, String>,
) {
    let Some(archived) = ctx.archived_status.as_deref() else {
        return;
    };
    if !link.has_card || !link.card_closed || to_trello.contains_key(&Field::Status) {
        return;
    }
    let decided = decisions
        .iter()
        .find(|d| d.field == Field::Status)
        .and_then(|d| d.next.agreed.as_ref());
    let agreed = decided.or_else(|| state.get(&Field::Status).and_then(|f| f.agreed.as_ref()));
    if let Some(agreed) = agreed
        && agreed.value != archived
    {
        to_trello.insert(Field::Status, agreed.value.clone());
    }
}

fn sheet_changed_status(decisions: &[Decision]) -> bool {
    decisions.iter().any(|d| {
        d.field == Field::Status
            && matches!(
                d.kind,
                DecisionKind::CopyToTrello
                    | DecisionKind::Conflict {
                        winner: Side::Sheet
                    }
            )
    })
}

/// The list a status moves the card to, and whether that brings an archived card back: a
/// status set in the sheet does, unless it is the very status archiving stands for. `None`
/// (warned about) for a status with no list.
pub(super) fn list_move(
    ctx: &PairContext,
    link: &LinkView,
    status: &str,
    plan: &mut LeadPlan,
) -> Option<(String, Option<bool>)> {
    let Some(list) = ctx.list_for_status(status) else {
        plan.warnings.push(format!(
            "status \"{status}\" has no list in status_lists; card not moved"
        ));
        return None;
    };
    let back = link.card_closed && ctx.archived_status.as_deref() != Some(status);
    Some((list.to_owned(), back.then_some(false)))
}

fn card_updates(
    ctx: &PairContext,
    link: &LinkView,
    writes: &BTreeMap<Field, String>,
    plan: &mut LeadPlan,
) {
    let lead_id = link.lead_id.to_string();
    let (id_list, closed) = match writes.get(&Field::Status) {
        Some(status) => list_move(ctx, link, status, plan).unzip(),
        None => (None, None),
    };
    let closed = closed.flatten();
    let name = writes.get(&Field::Name).cloned();
    let desc = writes
        .get(&Field::Notes)
        .map(|notes| compose_description(notes, &link.lead_id));
    if name.is_some() || desc.is_some() || id_list.is_some() || closed.is_some() {
        plan.commands.push(Command::UpdateCard {
            lead_id: lead_id.clone(),
            card_id: None,
            name,
            desc,
            id_list,
            closed,
        });
    }
    // Every changed custom field in one command, hence one Trello call, not one per field.
    let fields: BTreeMap<String, String> = [Field::Email, Field::Phone, Field::Company]
        .into_iter()
        .filter_map(|field| Some((ctx.field_id(field)?.to_owned(), writes.get(&field)?.clone())))
        .collect();
    if !fields.is_empty() {
        plan.commands
            .push(Command::SetCustomFields { lead_id, fields });
    }
}

/// The card gets every field's value as now agreed (falling back to what the sheet shows).
fn create_card(
    ctx: &PairContext,
    link: &LinkView,
    state: &LeadState,
    decisions: &[Decision],
    sheet: &LeadObservation,
    plan: &mut LeadPlan,
) {
    let value = |field: Field| -> String {
        decisions
            .iter()
            .find(|d| d.field == field)
            .and_then(|d| d.next.agreed.as_ref())
            .or_else(|| state.get(&field).and_then(|s| s.agreed.as_ref()))
            .map(|a| a.value.clone())
            .or_else(|| sheet.get(&field).map(|o| o.value.clone()))
            .unwrap_or_default()
    };
    let status = value(Field::Status);
    let Some(list_id) = ctx.list_for_status(&status) else {
        plan.warnings.push(format!(
            "status \"{status}\" has no list in status_lists; no card created until it has one"
        ));
        return;
    };
    let custom = [Field::Email, Field::Phone, Field::Company]
        .into_iter()
        .filter_map(|f| {
            let text = value(f);
            let id = ctx.field_id(f)?;
            (!text.is_empty()).then(|| (id.to_owned(), text))
        })
        .collect();
    plan.commands.push(Command::CreateCard {
        lead_id: link.lead_id.to_string(),
        list_id: list_id.to_owned(),
        name: value(Field::Name),
        desc: compose_description(&value(Field::Notes), &link.lead_id),
        custom,
    });
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_restore;
