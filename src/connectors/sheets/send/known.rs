//! The agreed values of the leads whose id write finds neither the id nor the expected name in
//! the sheet: the row was renamed since the write was planned, and is found by its other cells
//! (`batch::Grid::by_cells`). Skipped as gone, the row would stay without an id and the next
//! reconciliation would make it a second lead with a second card (chaos seeds 53 and 273).

use std::collections::{BTreeMap, HashMap};

use crate::connectors::sheets::batch::Grid;
use crate::model::Field;
use crate::store::{Db, lead_state};
use crate::sync::connector::Claimed;
use crate::sync::context::PairContext;
use crate::sync::plan::commands::Command;

/// Per such lead, its agreed values by header (the name left out: it is what changed). One
/// query for the batch, and only for the writes that need it; a store error leaves them as
/// they were (skipped as gone).
pub(super) async fn renamed_rows(
    db: &Db,
    ctx: &PairContext,
    grid: &Grid<'_>,
    name_col: Option<u32>,
    batch: &[Claimed],
) -> HashMap<String, BTreeMap<String, String>> {
    let id_header = ctx.columns.id.trim();
    let names = name_col
        .map(|col| grid.names_without_id(col))
        .unwrap_or_default();
    let leads: Vec<&str> = (batch.iter())
        .filter_map(|c| match &c.cmd {
            Command::WriteRow {
                lead_id,
                expect_name: Some(name),
                cells,
                ..
            } if cells
                .keys()
                .any(|h| h.trim().eq_ignore_ascii_case(id_header))
                && !grid.has_id(lead_id)
                && !names.contains(name.trim()) =>
            {
                Some(lead_id.as_str())
            }
            _ => None,
        })
        .collect();
    if leads.is_empty() {
        return HashMap::new();
    }
    let stored = match lead_state::load_leads(&db.pool, &ctx.name, &leads).await {
        Ok(stored) => stored,
        Err(e) => {
            tracing::warn!(pair = %ctx.name, error = %e, "could not read the leads of renamed rows");
            return HashMap::new();
        }
    };
    (stored.into_iter())
        .map(|(lead, fields)| {
            let values = (fields.into_iter())
                .filter_map(|f| {
                    let field = Field::ALL.into_iter().find(|x| x.as_str() == f.field)?;
                    (field != Field::Name).then(|| (ctx.header(field).to_owned(), f.agreed_value))
                })
                .collect();
            (lead, values)
        })
        .collect()
}
