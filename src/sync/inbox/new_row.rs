//! A row without an id that is edited again before the id leadsync gave it has reached it:
//! which lead it is, so a second edit does not make a second lead.

use crate::store::Conn;

use std::collections::HashMap;

use crate::store::{StoreError, lead_state, sheet_blanks};
use crate::sync::context::PairContext;
use crate::sync::inbox::group::Item;
use crate::sync::merge::LeadObservation;
use crate::sync::merge::state::lead_state as merge_state;
use crate::sync::observe::RowObservation;
use crate::sync::observe::resemblance;

pub(crate) use crate::store::id_landing::NEW_ROW_WINDOW_MS;

/// The lead leadsync made for a row without an id that is edited again before its id reached
/// it (`times` = (made since, edited at), unix ms): a row is no new lead while it may be one
/// leadsync has given an id that it did not show yet. Rows move and are deleted and typed anew,
/// so neither position nor content alone is an identity: the lead made at that position
/// qualifies if the row still shows what it holds (one edit changes one cell: a row differing
/// in two filled fields is another row typed there); a lead made at another position (the rows
/// moved before the event was read) qualifies if it is the only one with the row's name and
/// agrees on every other filled field.
pub(crate) async fn lead_of_new_row(
    conn: &mut Conn,
    pair: &str,
    row: i64,
    (since, edited): (i64, i64),
    shown: &LeadObservation,
) -> Result<Option<String>, StoreError> {
    let candidates = lead_state::unlanded_new_leads(&mut *conn, pair, since, edited).await?;
    let mut elsewhere = Vec::new();
    for (lead, hint) in candidates {
        let state = merge_state(&lead_state::load_lead(&mut *conn, pair, &lead).await?);
        let r = resemblance(&state, shown);
        if hint == Some(row) && r.differing < 2 {
            return Ok(Some(lead));
        }
        if r.same_name && r.differing == 0 {
            elsewhere.push(lead);
        }
    }
    Ok((elsewhere.len() == 1).then(|| elsewhere.remove(0)))
}

/// What an event's rows without an id that are no lead leadsync just made call for.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum NewRows {
    /// Made leads (if any), as the event shows them.
    Take,
    /// Wait while an id leadsync gave some row is still on its way: rows move, so a row may be
    /// that very row, read before its id landed. Once the id lands, the row is recognised (or
    /// is a new lead).
    Wait,
    /// These (by index in `items`) are shown as they were before an id leadsync gave some row
    /// of the pair landed: the event's picture of which rows lack an id is older than that id,
    /// and rows move, so the row may be one that has its id by now. Made a lead from that
    /// picture it could get a second id and a second card; a reconciliation reads the sheet as
    /// it is instead.
    Stale(Vec<usize>),
}

/// Sorts an event's rows without an id (each recognised once, with `lead_of_new_row`).
pub(crate) async fn new_rows(
    conn: &mut Conn,
    pair: &str,
    items: &[(String, Item)],
    edited: i64,
    now: i64,
) -> Result<NewRows, StoreError> {
    let since = now - NEW_ROW_WINDOW_MS;
    let mut unknown = Vec::new();
    for (i, (key, item)) in items.iter().enumerate() {
        let (Some(row), Item::Row(shown)) = (
            key.strip_prefix("row:").and_then(|r| r.parse::<i64>().ok()),
            item,
        ) else {
            continue;
        };
        let known = lead_of_new_row(&mut *conn, pair, row, (since, edited), &shown.fields).await?;
        if known.is_none() {
            unknown.push(i);
        }
    }
    if unknown.is_empty() {
        return Ok(NewRows::Take);
    }
    if lead_state::ids_on_their_way(&mut *conn, pair).await? {
        return Ok(NewRows::Wait);
    }
    let landed = crate::store::id_landing::last_id_landing(&mut *conn, pair).await?;
    Ok(match landed {
        Some(at) if at > edited => NewRows::Stale(unknown),
        _ => NewRows::Take,
    })
}

/// Rows of an event set aside for a reconciliation: the cells the write check emptied in them
/// (a write meant for another row landed there) are told what the event shows there, so the
/// lead the reconciliation makes of the row writes it back (`store::sheet_blanks`).
pub(crate) async fn tell_blanks(
    conn: &mut Conn,
    ctx: &PairContext,
    rows: impl Iterator<Item = &RowObservation>,
) -> Result<(), StoreError> {
    let blanks = sheet_blanks::of_pair(&mut *conn, &ctx.name).await?;
    if blanks.is_empty() {
        return Ok(());
    }
    for row in rows {
        let values: HashMap<String, String> = (row.lead.fields.iter())
            .map(|(f, v)| (ctx.header(f).to_owned(), v.to_owned()))
            .collect();
        for blank in blanks.iter().filter(|b| b.is_row(&values)) {
            sheet_blanks::set_typed(&mut *conn, &blank.key, blank.value_in(&values)).await?;
        }
    }
    Ok(())
}
