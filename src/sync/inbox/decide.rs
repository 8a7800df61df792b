//! A lead's decision, with no I/O: from what the store holds of it ([`LeadFacts`]) and what
//! its events show ([`Group`]) to every store change they call for, as data ([`LeadDecision`]).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::model::{Field, LeadId, Side};
use crate::store::links::{Link, NewLink};
use crate::sync::context::PairContext;
use crate::sync::inbox::gone::record_gone_plan;
use crate::sync::inbox::group::{Group, LeadFacts};
use crate::sync::merge::{LeadObservation, Observed};
use crate::sync::plan::commands::Command;
use crate::sync::plan::{LeadPlan, LinkView, plan_lead};

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_blanks;

/// What one lead's events come to.
#[derive(Debug, Clone)]
pub enum Decided {
    /// Nothing to change: no link and no row to make one from, or a deleted record no lead holds.
    Nothing,
    /// The id cell holds no valid lead id: the row is left alone (and warned about).
    BadLeadId,
    Lead(Box<LeadDecision>),
}

/// Every store change one lead's events call for, each as data, in the order `write` makes them.
#[derive(Debug, Clone, Default)]
pub struct LeadDecision {
    pub lead_id: String,
    /// Prefix of the outbox idempotency keys ([`Group::key_prefix`]).
    pub key_prefix: String,
    /// A row shows the lead for the first time: its link, noted `lead_created`.
    pub new_link: Option<NewLink>,
    /// The lead's deleted record is back: `new_link` revives its tombstoned link (noted
    /// `lead_restored`), and the plan unarchives the card the deletion archived.
    pub revived: bool,
    /// The row the lead's row moved to.
    pub row_hint: Option<i64>,
    /// The card deleted in Trello: the link forgets it, and keeps a tombstone (noted
    /// `card_deleted`, naming it).
    pub card_deleted: Option<String>,
    /// The card's archived state, when the events changed it.
    pub closed: Option<bool>,
    /// The plan makes a new card: the deleted card's tombstone is lifted.
    pub clear_card_deleted: bool,
    /// The card the plan's activity rows name.
    pub card_id: Option<String>,
    /// The decisions and commands to record.
    pub plan: LeadPlan,
    /// Commands enqueued after the plan's (the deleted card's cell cleared).
    pub extra: Vec<Command>,
    /// Keys of the emptied cells ([`LeadFacts::blanked`]) the plan writes back.
    pub blanks_used: Vec<String>,
    /// The tracker deleted the lead's record: after its plan, noted `row_deleted` and its link
    /// tombstoned (no lead anyone reads, until the record comes back).
    pub forget: bool,
}

/// One lead's decision, in this order: the link changes its events imply, then its plan.
pub fn decide(facts: &LeadFacts, group: &Group, ctx: &PairContext, now: DateTime<Utc>) -> Decided {
    let mut d = LeadDecision {
        lead_id: facts.lead_id.clone(),
        key_prefix: group.key_prefix(),
        ..LeadDecision::default()
    };
    if group.record_gone {
        let Some(link) = &facts.link else {
            return Decided::Nothing;
        };
        d.plan = record_gone_plan(ctx, link);
        d.card_id = link.card_id.clone();
        d.forget = true;
        return Decided::Lead(Box::new(d));
    }
    let Ok(parsed_id) = LeadId::parse(&facts.lead_id) else {
        return Decided::BadLeadId;
    };
    let Some(mut link) = linked(ctx, facts, group, &mut d) else {
        return Decided::Nothing;
    };
    if let Some(card_id) = group.deleted_card() {
        d.card_deleted = Some(card_id.to_owned());
        d.extra.extend(clear_card_cell(ctx, &facts.lead_id, &link));
        link.card_id = None;
    }
    let (sheet, trello) = observations(facts, group, ctx);
    // Planning needs the card's archived state (a status set in the sheet brings an archived
    // card back).
    if let Some(closed) = group.closed().filter(|c| *c != link.card_closed) {
        d.closed = Some(closed);
        link.card_closed = closed;
    }
    let view = link_view(ctx, facts, d.card_deleted.is_some(), parsed_id, &link);
    let mut plan = plan_lead(ctx, &view, &facts.state, &sheet, &trello, now);
    if d.revived
        && let Some(tomb) = facts.tombstone.as_ref().filter(|t| t.archived)
        && let Some(card_id) = &link.card_id
    {
        // First, so the card is open before the plan's own updates land on it.
        plan.commands
            .insert(0, Command::unarchive(&tomb.link.lead_id, card_id));
    }
    if d.revived && ctx.tracker.assigns_ids() {
        let header = &ctx.settings.columns.id;
        plan.commands
            .push(Command::revived_id(header, &facts.lead_id));
    }
    if facts.id_for_row {
        // The id goes out first: a row that is gone by then drops its new lead before any
        // card is made for it.
        plan.commands
            .insert(0, id_write(ctx, &facts.lead_id, group));
        // After the id (a write naming no expected name lands only on the row holding it).
        d.extra
            .extend(write_back(&facts.lead_id, group, &facts.blanked));
        d.blanks_used = facts.blanked.iter().map(|(k, ..)| k.clone()).collect();
    } else if !facts.put_back.is_empty() {
        let (back, used) = put_back_write(ctx, &facts.lead_id, group, facts, &sheet, &plan);
        d.extra.extend(back);
        d.blanks_used = used;
    }
    d.clear_card_deleted = plan
        .commands
        .iter()
        .any(|c| matches!(c, Command::CreateCard { .. }));
    d.card_id = link.card_id;
    d.plan = plan;
    Decided::Lead(Box::new(d))
}

/// The lead's link as the plan sees it, made when a row shows the lead for the first time; its
/// row hint follows the row (the plan keeps the hint the link had). `None` when there is no
/// link and no row to make one from.
fn linked(
    ctx: &PairContext,
    facts: &LeadFacts,
    group: &Group,
    d: &mut LeadDecision,
) -> Option<Link> {
    let last_row = group.last_row().map(i64::from);
    if let Some(link) = &facts.link {
        if let (Some(row), Some(hint)) = (last_row, link.row_hint)
            && row != hint
        {
            d.row_hint = Some(row);
        }
        return Some(link.clone());
    }
    if group.rows.is_empty() {
        return None;
    }
    let new = NewLink {
        pair: ctx.name.clone(),
        lead_id: facts.lead_id.clone(),
        row_hint: last_row,
        id_assigned: facts.id_for_row,
        ..NewLink::default()
    };
    if let Some(tomb) = &facts.tombstone {
        // The deleted record is back (a page restored from the trash): its link, card and
        // agreed states are the lead's again, the card open once the plan unarchives it.
        let mut link = tomb.link.clone();
        link.card_closed &= !tomb.archived;
        d.new_link = Some(new);
        d.revived = true;
        return Some(link);
    }
    let link = Link {
        pair: new.pair.clone(),
        lead_id: new.lead_id.clone(),
        row_hint: new.row_hint,
        ..Link::default()
    };
    d.new_link = Some(new);
    Some(link)
}

/// A deleted card's row loses its card cell (when the pair has one), after the plan's commands.
fn clear_card_cell(ctx: &PairContext, lead_id: &str, link: &Link) -> Option<Command> {
    let header = ctx.settings.columns.card.as_ref()?;
    Some(Command::WriteRow {
        lead_id: lead_id.to_owned(),
        row_hint: link.row_hint.and_then(|r| u32::try_from(r).ok()),
        expect_name: None,
        cells: BTreeMap::from([(header.clone(), String::new())]),
    })
}

/// What the group's rows and cards show, the latest of each field winning.
fn observations(
    facts: &LeadFacts,
    group: &Group,
    ctx: &PairContext,
) -> (LeadObservation, LeadObservation) {
    let mut sheet = group.sheet_observation();
    // An Apps Script event carries every cell of the row, edited or not. A cell it only
    // shows, that a write of ours set after the edit or is still to set, showed the value that
    // write replaces: read as fresh, it would undo the change the write carries. A cell the
    // change itself set (named in the event's `edited`; an Airtable change lists them) is that
    // person's word at its time, kept for the merge to weigh against the write's: the later
    // wins, and a winner over a write still on its way is written again after it.
    sheet.retain(|f, o| {
        o.set
            || !facts
                .cells_written
                .contains(&ctx.header(*f).trim().to_lowercase())
    });
    (sheet, group.card_observation())
}

/// What the planner needs of the lead's link; `card_deleted` when this decision deletes it.
fn link_view(
    ctx: &PairContext,
    facts: &LeadFacts,
    card_deleted: bool,
    lead_id: LeadId,
    link: &Link,
) -> LinkView {
    LinkView {
        has_card: link.card_id.is_some(),
        create_pending: facts.create_pending,
        card_closed: link.card_closed,
        card_deleted: card_deleted || (facts.link.is_some() && facts.card_deleted),
        row_hint: link.row_hint.and_then(|r| u32::try_from(r).ok()),
        in_flight: in_flight(ctx, &facts.unsent_payloads),
        lead_id,
    }
}

/// The (side, field) pairs the stored commands write: what lands after a decision made now.
fn in_flight(ctx: &PairContext, payloads: &[String]) -> Vec<(Side, Field)> {
    payloads
        .iter()
        .filter_map(|p| serde_json::from_str::<Command>(p).ok())
        .flat_map(|cmd| cmd.fields_written(ctx))
        .collect()
}

/// The id leadsync gave a row that had none, written to its id cell where the row last was
/// and only if the row still shows the lead's name.
fn id_write(ctx: &PairContext, lead_id: &str, group: &Group) -> Command {
    let name = group
        .rows
        .last()
        .and_then(|r| r.lead.fields.get(Field::Name))
        .map(str::to_owned);
    Command::WriteRow {
        lead_id: lead_id.to_owned(),
        row_hint: group.last_row(),
        expect_name: name,
        cells: BTreeMap::from([(ctx.settings.columns.id.clone(), lead_id.to_owned())]),
    }
}

/// What the row's event shows in the cells the write check emptied (a write meant for another
/// row landed there before the event was read), written back, an empty one too: the check's
/// put-back may have failed, leaving the other lead's value there, which a later read would
/// take for this row's (seed 12's shape).
fn write_back(
    lead_id: &str,
    group: &Group,
    blanked: &[(String, String, String)],
) -> Option<Command> {
    let cells: BTreeMap<String, String> = (blanked.iter())
        .map(|(_, header, typed)| (header.clone(), typed.clone()))
        .collect();
    (!cells.is_empty()).then(|| Command::WriteRow {
        lead_id: lead_id.to_owned(),
        row_hint: group.last_row(),
        expect_name: None,
        cells,
    })
}

/// What the row's event shows in the cells the write check put back to an older read's value
/// (a person may have typed there after that read, seed 298: the rename the put-back undid),
/// written back, and the kept cells this settles. A cell whose event value the merge does not
/// weigh (a write of ours lands after it) or that is older than the agreed value waits for a
/// later event; one the plan writes itself (the card's newer value) is settled by that write.
fn put_back_write(
    ctx: &PairContext,
    lead_id: &str,
    group: &Group,
    facts: &LeadFacts,
    sheet: &LeadObservation,
    plan: &LeadPlan,
) -> (Option<Command>, Vec<String>) {
    let planned: Vec<(Side, Field)> = (plan.commands.iter())
        .flat_map(|c| c.fields_written(ctx))
        .collect();
    let (mut cells, mut used) = (BTreeMap::new(), Vec::new());
    for (key, header, shown) in &facts.put_back {
        let Some(field) = ctx.field_of_header(header) else {
            continue;
        };
        // An event older than the agreed value (a delivery held back) shows what was there
        // before a newer change: not the person's latest word, so the cell waits.
        let agreed = facts.state.get(&field).and_then(|f| f.agreed.as_ref());
        let older = |o: &Observed| {
            agreed.is_some_and(|a| o.changed_at.is_some_and(|t| t < a.agreed_at))
                && agreed.is_some_and(|a| a.value.trim() != shown.trim())
        };
        if sheet.get(&field).is_none_or(older) {
            continue;
        }
        if !planned.contains(&(Side::Sheet, field)) {
            cells.insert(header.clone(), shown.clone());
        }
        used.push(key.clone());
    }
    let cmd = (!cells.is_empty()).then(|| Command::WriteRow {
        lead_id: lead_id.to_owned(),
        row_hint: group.last_row(),
        expect_name: None,
        cells,
    });
    (cmd, used)
}
