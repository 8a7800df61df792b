//! Cells of a lead's row that a sheet write meant for another row landed on, in a row a person
//! typed after the write was planned: the sheet cannot tell what the person typed there (the
//! check after the write only empties the cell), so the lead's agreed value of that field is
//! written to its row again, found by its id. A lead with no agreed value for it yet (its
//! row's event still to come) has the emptied cell kept for that event to write back. The same cells in a row typed without an
//! id go to the lead made from that row's event, if it was read already (its id is still on its
//! way), else they are kept (`store::sheet_blanks`) for that event to write back. A cell put
//! back in a row with an id to what the read before the write showed is kept the same way for
//! that lead's next event (a person may have typed there since that read, seed 298); when the
//! lead's agreed value already differs from the value put back (its event was read first), that
//! agreed value is written again.

use std::collections::{BTreeMap, HashMap};

use crate::store::Conn;

use crate::model::Field;
use crate::store::id_landing::NEW_ROW_WINDOW_MS;
use crate::store::outbox::{self, Command as Stored};
use crate::store::{StoreError, lead_state, now_ms, sheet_blanks};
use crate::sync::connector::{Blanked, Reassert};
use crate::sync::context::PairContext;
use crate::sync::merge::state::lead_state as merge_state;
use crate::sync::outbox::Dispatcher;
use crate::sync::outbox::record::follow_up;
use crate::sync::plan::commands::Command;

impl Dispatcher {
    /// Enqueues, in the caller's transaction, a write of each cell's agreed value (`cells`: lead
    /// id, header), keyed by the command that landed wrong and its attempt.
    pub(super) async fn reassert(
        &self,
        tx: &mut Conn,
        row: &Stored,
        found: &Reassert,
    ) -> Result<(), StoreError> {
        let Some(ctx) = self.pair(&row.pair) else {
            return Ok(());
        };
        let mut cells = found.cells.clone();
        for blank in &found.blanked {
            match lead_of_blank(tx, ctx, blank).await? {
                Some(lead) => cells.push((lead, blank.header.clone())),
                None => {
                    sheet_blanks::keep(tx, &ctx.name, &blank.row, &blank.header, &blank.written)
                        .await?;
                    tracing::warn!(pair = %ctx.name, header = %blank.header,
                        "a sheet write landed on a row typed without an id; the cell waits for that row's event");
                }
            }
        }
        let id_header = ctx.settings.columns.id.as_str();
        for (lead, header, put) in &found.stale {
            sheet_blanks::keep_put_back(tx, &ctx.name, id_header, lead, header, put).await?;
            let agreed = agreed_of(tx, ctx, lead, header).await?;
            if agreed.is_some_and(|(_, a)| a.trim() != put.trim()) {
                cells.push((lead.clone(), header.clone()));
            }
        }
        for (lead, header) in &cells {
            let Some((field, agreed)) = agreed_of(tx, ctx, lead, header).await? else {
                // The lead's row event is still to come (seed 273: a row typed with its own id
                // while a write meant for another row was on its way). That event shows what
                // the person typed, and the lead it makes takes it for what the sheet holds:
                // the cell the check emptied is kept for it to write back (`put_back_write`).
                sheet_blanks::keep_put_back(tx, &ctx.name, id_header, lead, header, "").await?;
                continue;
            };
            let cmd = Command::WriteRow {
                lead_id: lead.clone(),
                row_hint: None,
                expect_name: None,
                cells: BTreeMap::from([(header.clone(), agreed)]),
            };
            let purpose = format!("reassert:{}:{lead}:{}", row.attempts, field.as_str());
            match follow_up(row, &purpose, &cmd, ctx.tracker) {
                Ok(new) => {
                    outbox::enqueue(&mut *tx, &new).await?;
                    tracing::warn!(pair = %ctx.name, lead_id = %lead, field = field.as_str(),
                        "a sheet write landed on this lead's row, typed meanwhile; its value is written again");
                }
                Err(e) => tracing::error!(pair = %ctx.name, lead_id = %lead, error = %e,
                    "could not plan writing a cell's value again"),
            }
        }
        Ok(())
    }
}

/// The field a header maps and the lead's agreed value of it, if it has one.
async fn agreed_of(
    tx: &mut Conn,
    ctx: &PairContext,
    lead: &str,
    header: &str,
) -> Result<Option<(Field, String)>, StoreError> {
    let Some(field) = ctx.field_of_header(header) else {
        return Ok(None);
    };
    let state = merge_state(&lead_state::load_lead(&mut *tx, &ctx.name, lead).await?);
    let agreed = state.get(&field).and_then(|f| f.agreed.as_ref());
    Ok(agreed.map(|a| (field, a.value.clone())))
}

/// The lead leadsync made from the event of the row a cell was emptied in, when that event was
/// read before the write landed: a lead whose id has not landed and whose agreed values are
/// that row's (`SheetBlank::is_row`).
async fn lead_of_blank(
    tx: &mut Conn,
    ctx: &PairContext,
    blank: &Blanked,
) -> Result<Option<String>, StoreError> {
    let now = now_ms();
    let leads =
        lead_state::unlanded_new_leads(&mut *tx, &ctx.name, now - NEW_ROW_WINDOW_MS, now).await?;
    let probe = sheet_blanks::SheetBlank {
        key: String::new(),
        row: blank.row.clone(),
        header: blank.header.clone(),
        written: blank.written.clone(),
        typed: None,
    };
    let mut found = Vec::new();
    for (lead, _) in leads {
        let state = merge_state(&lead_state::load_lead(&mut *tx, &ctx.name, &lead).await?);
        let values: HashMap<String, String> = (Field::ALL.into_iter())
            .filter_map(|f| {
                let agreed = state.get(&f)?.agreed.as_ref()?;
                Some((ctx.header(f).to_owned(), agreed.value.clone()))
            })
            .collect();
        if probe.is_row(&values) {
            found.push(lead);
        }
    }
    Ok((found.len() == 1).then(|| found.remove(0)))
}
