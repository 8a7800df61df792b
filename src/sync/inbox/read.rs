//! A lead's one read: everything its decision needs, in the worker's transaction and before
//! anything of that lead is written, gathered into [`LeadFacts`].

use crate::store::Conn;
use chrono::{DateTime, Utc};

use crate::model::LeadId;
use std::collections::HashMap;

use crate::store::{StoreError, lead_state, links, sheet_blanks, tombstones};
use crate::sync::context::PairContext;
use crate::sync::inbox::group::{Group, LeadFacts};
use crate::sync::inbox::new_row::{NEW_ROW_WINDOW_MS, lead_of_new_row};
use crate::sync::inbox::own_writes::own_cells;
use crate::sync::mapping::SheetLead;
use crate::sync::merge::state::lead_state as merge_state;

/// What the store holds of the lead a group of events is about. `None` for a card with no
/// lead: a user made it in Trello, and the reconciler reads the whole card (description,
/// custom fields) before turning it into a row, so nothing is lost.
pub async fn read_lead(
    conn: &mut Conn,
    ctx: &PairContext,
    key: &str,
    group: &Group,
    now: DateTime<Utc>,
) -> Result<Option<LeadFacts>, StoreError> {
    let Some((lead_id, id_for_row)) = lead_of_group(conn, ctx, key, group, now).await? else {
        return Ok(None);
    };
    let pair = ctx.name.as_str();
    let link = links::get_by_lead(&mut *conn, pair, &lead_id).await?;
    let mut facts = LeadFacts {
        lead_id,
        id_for_row,
        link,
        ..LeadFacts::default()
    };
    // A deleted record needs only its link; a lead with no link and no row or record to make
    // one from is left alone. Nothing more to read for either.
    let nothing_to_link = group.rows.is_empty() && group.records.is_empty();
    if group.record_gone || (facts.link.is_none() && nothing_to_link) {
        return Ok(Some(facts));
    }
    let lead = facts.lead_id.as_str();
    if facts.link.is_none() {
        facts.tombstone = tombstones::get(&mut *conn, pair, lead).await?;
    }
    let edited = group.edited_ms(now);
    // A record change made through the API may be leadsync's own write coming back; one no
    // lead holds may be the record of a create whose answer is not recorded yet.
    if group.records.iter().any(|r| r.change.by_api()) {
        let now_ms = now.timestamp_millis();
        facts.own_cells = own_cells(&mut *conn, pair, lead, now_ms).await?;
        if facts.link.is_none() {
            facts.appends_unfinished = lead_state::appends_unfinished(&mut *conn, pair).await?;
        }
    }
    facts.cells_written =
        lead_state::row_cells_written_after(&mut *conn, pair, lead, edited).await?;
    facts.state = merge_state(&lead_state::load_lead(&mut *conn, pair, lead).await?);
    facts.create_pending = lead_state::create_pending(&mut *conn, pair, lead).await?;
    facts.card_deleted = lead_state::is_card_deleted(&mut *conn, pair, lead).await?;
    facts.unsent_payloads = lead_state::unsent_payloads(&mut *conn, pair, lead).await?;
    if facts.id_for_row
        && let Some(row) = group.rows.last()
    {
        facts.blanked = blanked_cells(&mut *conn, ctx, &row.lead).await?;
    } else if let Some(row) = group.rows.last() {
        let lead = facts.lead_id.clone();
        facts.put_back = put_back_cells(&mut *conn, ctx, &lead, &row.lead).await?;
    }
    Ok(Some(facts))
}

/// The cells of the lead's row that the write check put back to an older read's value, each
/// with what the row's event shows there.
async fn put_back_cells(
    conn: &mut Conn,
    ctx: &PairContext,
    lead: &str,
    row: &SheetLead,
) -> Result<Vec<(String, String, String)>, StoreError> {
    let values: HashMap<String, String> = (row.fields.iter())
        .map(|(f, v)| (ctx.header(f).to_owned(), v.to_owned()))
        .collect();
    let blanks = sheet_blanks::of_pair(&mut *conn, &ctx.name).await?;
    Ok((blanks.into_iter())
        .filter(|b| b.is_lead_row(&ctx.settings.columns.id, lead))
        .map(|b| {
            let shown = b.value_in(&values).to_owned();
            (b.key, b.header, shown)
        })
        .collect())
}

/// The cells of a row without an id that the write check emptied (a write meant for another
/// row landed on them), each with what the row's event shows there.
async fn blanked_cells(
    conn: &mut Conn,
    ctx: &PairContext,
    row: &SheetLead,
) -> Result<Vec<(String, String, String)>, StoreError> {
    let values: HashMap<String, String> = (row.fields.iter())
        .map(|(f, v)| (ctx.header(f).to_owned(), v.to_owned()))
        .collect();
    let blanks = sheet_blanks::of_pair(&mut *conn, &ctx.name).await?;
    Ok((blanks.into_iter())
        .filter(|b| b.is_row(&values))
        .map(|b| {
            let typed = b.value_in(&values).to_owned();
            (b.key, b.header, typed)
        })
        .collect())
}

/// The lead a group of events is about, and whether its row had no id (so the id goes to it).
/// A row without an id is the lead leadsync made for it earlier when there is one, else new.
async fn lead_of_group(
    conn: &mut Conn,
    ctx: &PairContext,
    key: &str,
    group: &Group,
    now: DateTime<Utc>,
) -> Result<Option<(String, bool)>, StoreError> {
    let (kind, value) = key.split_once(':').unwrap_or(("", key));
    match kind {
        "id" => Ok(Some((value.to_owned(), false))),
        "row" => {
            let row = i64::from(group.last_row().unwrap_or_default());
            let since = now.timestamp_millis() - NEW_ROW_WINDOW_MS;
            let times = (since, group.rows_edited_ms(now));
            let found = match group.rows.last() {
                Some(r) => lead_of_new_row(&mut *conn, &ctx.name, row, times, &r.fields).await?,
                None => None,
            };
            let lead = found.unwrap_or_else(|| LeadId::generate().to_string());
            Ok(Some((lead, true)))
        }
        _ => Ok(None),
    }
}
