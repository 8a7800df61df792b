//! Applies one lead's debounced events inside the worker's transaction.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::SqliteConnection;

use crate::model::{Field, LeadId};
use crate::store::{StoreError, lead_state, links};
use crate::sync::context::PairContext;
use crate::sync::inbox::gone::record_gone;
use crate::sync::inbox::new_row::{NEW_ROW_WINDOW_MS, lead_of_new_row};
use crate::sync::merge::LeadObservation;
use crate::sync::merge::state::lead_state as merge_state;
use crate::sync::observe::{CardChange, RowObservation};
use crate::sync::plan::apply::{enqueue, note, record_plan};
use crate::sync::plan::commands::Command;
use crate::sync::plan::log::log_plan;
use crate::sync::plan::{LeadPlan, LinkView, plan_lead};

/// One lead's share of a batch of events, in arrival order.
#[derive(Debug, Default, Clone)]
pub struct Group {
    pub event_ids: Vec<i64>,
    pub rows: Vec<RowObservation>,
    pub cards: Vec<CardChange>,
    /// The tracker said the lead's record is deleted.
    pub record_gone: bool,
}

/// What to log once the batch has committed.
pub struct LeadLog {
    lead_id: String,
    card_id: Option<String>,
    plan: LeadPlan,
}

impl LeadLog {
    pub fn emit(&self, ctx: &PairContext) {
        log_plan(ctx, &self.lead_id, self.card_id.as_deref(), &self.plan);
    }
}

/// The latest observation of each field wins; equal times go to the later event. A user's
/// change wins over an echo of our own write whatever their times: the echo carries no intent,
/// and a change our write landed on must still reach the merge (which writes it back).
fn combine<'a>(observations: impl Iterator<Item = &'a LeadObservation>) -> LeadObservation {
    let mut out = LeadObservation::new();
    for obs in observations {
        for (field, o) in obs {
            let newer = match out.get(field) {
                Some(prev) => {
                    (!o.by_leadsync, o.changed_at) >= (!prev.by_leadsync, prev.changed_at)
                }
                None => true,
            };
            if newer {
                out.insert(*field, o.clone());
            }
        }
    }
    out
}

/// One lead's decision, in the worker's transaction and in this order: the link changes its
/// events imply, then its stored state read, its plan made with no I/O, and the plan written.
pub async fn apply_group(
    conn: &mut SqliteConnection,
    ctx: &PairContext,
    key: &str,
    group: Group,
    now: DateTime<Utc>,
) -> Result<Option<LeadLog>, StoreError> {
    let first_event = group.event_ids.iter().min().copied().unwrap_or_default();
    let key_prefix = format!("ev{first_event}");
    let last_row = row_of(&group);
    let Some((lead_id, id_write)) = lead_of_group(conn, ctx, key, &group, now).await? else {
        return Ok(None);
    };
    if group.record_gone {
        let gone = record_gone(conn, ctx, &lead_id, &key_prefix).await?;
        return Ok(gone.map(|plan| LeadLog {
            lead_id,
            card_id: None,
            plan,
        }));
    }
    let Ok(parsed_id) = LeadId::parse(&lead_id) else {
        tracing::warn!(pair = %ctx.name, lead_id, "the id cell holds an invalid lead id (A-Z, a-z, 0-9, _ and - only, at most 32); row left alone");
        return Ok(None);
    };
    let linked = linked(conn, ctx, &lead_id, &group, id_write.is_some()).await?;
    let Some(mut link) = linked else {
        return Ok(None);
    };
    let extra = card_gone(conn, ctx, &lead_id, &group, &mut link).await?;
    let (sheet, trello) = observations(conn, ctx, &lead_id, &group, now).await?;
    // The card's archived state as its latest event in the group left it: planning needs it
    // (a status set in the sheet brings an archived card back).
    let closed = group.cards.iter().rev().find_map(|c| match c {
        CardChange::Fields { closed, .. } => *closed,
        _ => None,
    });
    if let Some(closed) = closed.filter(|c| *c != link.card_closed) {
        links::set_closed(&mut *conn, &ctx.name, &lead_id, closed).await?;
        link.card_closed = closed;
    }
    let state = merge_state(&lead_state::load_lead(&mut *conn, &ctx.name, &lead_id).await?);
    let view = link_view(conn, ctx, parsed_id, &link).await?;
    let mut plan = plan_lead(ctx, &view, &state, &sheet, &trello, now);
    if let Some(id) = id_write {
        let name = group
            .rows
            .last()
            .and_then(|r| r.lead.fields.get(crate::model::Field::Name))
            .map(str::to_owned);
        // The id goes out first: a row that is gone by then drops its new lead before any
        // card is made for it.
        plan.commands.insert(
            0,
            Command::WriteRow {
                lead_id: id.clone(),
                row_hint: last_row,
                expect_name: name,
                cells: BTreeMap::from([(ctx.settings.columns.id.clone(), id)]),
            },
        );
    }
    let card_id = link.card_id;
    write_plan(
        conn,
        ctx,
        (&lead_id, card_id.as_deref()),
        &mut plan,
        extra,
        &key_prefix,
    )
    .await?;
    Ok(Some(LeadLog {
        lead_id,
        card_id,
        plan,
    }))
}

/// The sheet row the group's latest row event showed; `None` for a record, which has no
/// position (its id is the lead's).
fn row_of(group: &Group) -> Option<u32> {
    group.rows.last().map(|r| r.row).filter(|row| *row > 0)
}

/// The lead a group of events is about, and the id to write to its row when that row had
/// none. `None` for a card with no lead: a user made it in Trello, and the reconciler reads
/// the whole card (description, custom fields) before turning it into a row, so nothing is lost.
async fn lead_of_group(
    conn: &mut SqliteConnection,
    ctx: &PairContext,
    key: &str,
    group: &Group,
    now: DateTime<Utc>,
) -> Result<Option<(String, Option<String>)>, StoreError> {
    let (kind, value) = key.split_once(':').unwrap_or(("", key));
    let last_row = row_of(group);
    match kind {
        "id" => Ok(Some((value.to_owned(), None))),
        "row" => {
            let row = i64::from(last_row.unwrap_or_default());
            let since = now.timestamp_millis() - NEW_ROW_WINDOW_MS;
            // When the user typed: an id that landed before that was in the row they edited.
            let edited = group
                .rows
                .iter()
                .flat_map(|r| r.fields.values().filter_map(|o| o.changed_at))
                .max()
                .unwrap_or(now)
                .timestamp_millis();
            let found = match group.rows.last() {
                Some(r) => {
                    lead_of_new_row(&mut *conn, &ctx.name, row, (since, edited), &r.fields).await?
                }
                None => None,
            };
            let lead = found.unwrap_or_else(|| LeadId::generate().to_string());
            Ok(Some((lead.clone(), Some(lead))))
        }
        _ => Ok(None),
    }
}

/// The lead's link, made when a row shows a lead for the first time; its row hint follows the
/// row. `None` when there is no link and no row to make one from.
async fn linked(
    conn: &mut SqliteConnection,
    ctx: &PairContext,
    lead_id: &str,
    group: &Group,
    id_assigned: bool,
) -> Result<Option<links::Link>, StoreError> {
    let last_row = row_of(group);
    let mut link = links::get_by_lead(&mut *conn, &ctx.name, lead_id).await?;
    if link.is_none() {
        if group.rows.is_empty() {
            return Ok(None);
        }
        links::insert(
            &mut *conn,
            &links::NewLink {
                pair: ctx.name.clone(),
                lead_id: lead_id.to_owned(),
                row_hint: last_row.map(i64::from),
                id_assigned,
                ..links::NewLink::default()
            },
        )
        .await?;
        note(
            &mut *conn,
            ctx,
            lead_id,
            None,
            "lead_created",
            json!({"from": ctx.tracker.side_name(), "row": last_row}),
        )
        .await?;
        link = links::get_by_lead(&mut *conn, &ctx.name, lead_id).await?;
    }
    if let Some(link) = &link
        && let (Some(row), Some(hint)) = (last_row, link.row_hint)
        && i64::from(row) != hint
    {
        links::set_row_hint(&mut *conn, &ctx.name, lead_id, i64::from(row)).await?;
    }
    Ok(link)
}

/// A deleted card is noted and unlinked; the commands that clear its row's card cell are
/// returned, to go out after the plan's.
async fn card_gone(
    conn: &mut SqliteConnection,
    ctx: &PairContext,
    lead_id: &str,
    group: &Group,
    link: &mut links::Link,
) -> Result<Vec<Command>, StoreError> {
    let mut extra = Vec::new();
    if let Some(card_id) = group.cards.iter().find_map(|c| match c {
        CardChange::Deleted { card_id } => Some(card_id.clone()),
        _ => None,
    }) {
        lead_state::mark_card_deleted(&mut *conn, &ctx.name, lead_id).await?;
        note(
            &mut *conn,
            ctx,
            lead_id,
            Some(&card_id),
            "card_deleted",
            json!({}),
        )
        .await?;
        if let Some(header) = &ctx.settings.columns.card {
            extra.push(Command::WriteRow {
                lead_id: lead_id.to_owned(),
                row_hint: link.row_hint.and_then(|r| u32::try_from(r).ok()),
                expect_name: None,
                cells: BTreeMap::from([(header.clone(), String::new())]),
            });
        }
        link.card_id = None;
    }
    Ok(extra)
}

/// What the group's rows and cards show, the latest of each field winning.
async fn observations(
    conn: &mut SqliteConnection,
    ctx: &PairContext,
    lead_id: &str,
    group: &Group,
    now: DateTime<Utc>,
) -> Result<(LeadObservation, LeadObservation), StoreError> {
    let mut sheet = combine(group.rows.iter().map(|r| &r.fields));
    // An Apps Script event carries every cell of the row, edited or not. A cell that a write
    // of ours set after the edit, or is still to set, showed the value that write replaces:
    // read as fresh, it would undo the change the write carries. (A user edit of that very
    // cell before our write landed was made without seeing it: concurrent, and our write
    // decides.)
    let edited = sheet
        .values()
        .filter_map(|o| o.changed_at)
        .max()
        .unwrap_or(now)
        .timestamp_millis();
    let overwritten =
        lead_state::row_cells_written_after(&mut *conn, &ctx.name, lead_id, edited).await?;
    sheet.retain(|f, _| !overwritten.contains(&ctx.header(*f).trim().to_lowercase()));
    let trello = combine(group.cards.iter().filter_map(|c| match c {
        CardChange::Fields { fields, .. } => Some(fields),
        _ => None,
    }));
    Ok((sheet, trello))
}

/// What the planner needs of the lead's link, read from the store.
async fn link_view(
    conn: &mut SqliteConnection,
    ctx: &PairContext,
    lead_id: LeadId,
    link: &links::Link,
) -> Result<LinkView, StoreError> {
    let id = lead_id.as_str();
    Ok(LinkView {
        has_card: link.card_id.is_some(),
        create_pending: lead_state::create_pending(&mut *conn, &ctx.name, id).await?,
        card_closed: link.card_closed,
        card_deleted: lead_state::is_card_deleted(&mut *conn, &ctx.name, id).await?,
        row_hint: link.row_hint.and_then(|r| u32::try_from(r).ok()),
        in_flight: in_flight(
            ctx,
            &lead_state::unsent_payloads(&mut *conn, &ctx.name, id).await?,
        ),
        lead_id,
    })
}

/// The plan's one write: its decisions and commands, then the extra commands after them.
async fn write_plan(
    conn: &mut SqliteConnection,
    ctx: &PairContext,
    (lead_id, card_id): (&str, Option<&str>),
    plan: &mut LeadPlan,
    extra: Vec<Command>,
    key_prefix: &str,
) -> Result<(), StoreError> {
    if plan
        .commands
        .iter()
        .any(|c| matches!(c, Command::CreateCard { .. }))
    {
        lead_state::clear_card_deleted(&mut *conn, &ctx.name, lead_id).await?;
    }
    record_plan(&mut *conn, ctx, lead_id, card_id, plan, key_prefix).await?;
    for (i, cmd) in extra.iter().enumerate() {
        enqueue(
            &mut *conn,
            ctx,
            cmd,
            &format!("{key_prefix}:{lead_id}:x{i}"),
        )
        .await?;
    }
    plan.commands.extend(extra);
    Ok(())
}

/// The (side, field) pairs the stored commands write: what lands after a decision made now.
fn in_flight(ctx: &PairContext, payloads: &[String]) -> Vec<(crate::model::Side, Field)> {
    payloads
        .iter()
        .filter_map(|p| serde_json::from_str::<Command>(p).ok())
        .flat_map(|cmd| cmd.fields_written(ctx))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::merge::Observed;
    use crate::sync::test_support::t;

    #[test]
    fn a_users_change_outranks_a_later_echo_of_our_write_in_one_group() {
        let user: LeadObservation = [(Field::Name, Observed::user("Admiral", Some(t(10))))].into();
        let echo: LeadObservation =
            [(Field::Name, Observed::leadsync("Grace", Some(t(12))))].into();
        let later: LeadObservation = [(Field::Name, Observed::user("Amazing", Some(t(11))))].into();
        let got = combine([&user, &echo].into_iter());
        assert_eq!(got[&Field::Name].value, "Admiral");
        let got = combine([&user, &echo, &later].into_iter());
        assert_eq!(got[&Field::Name].value, "Amazing", "the latest user change");
    }
}
