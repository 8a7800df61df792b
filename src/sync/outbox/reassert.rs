//! Cells of a lead's row that a sheet write meant for another row landed on, in a row a person
//! typed after the write was planned: the sheet cannot tell what the person typed there (the
//! check after the write only empties the cell), so the lead's agreed value of that field is
//! written to its row again, found by its id. A lead with no agreed value for it yet (its
//! row's event still to come) is left to that event.

use std::collections::BTreeMap;

use crate::store::Conn;

use crate::model::Field;
use crate::store::outbox::{self, Command as Stored};
use crate::store::{StoreError, lead_state};
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
        cells: &[(String, String)],
    ) -> Result<(), StoreError> {
        let Some(ctx) = self.pair(&row.pair) else {
            return Ok(());
        };
        for (lead, header) in cells {
            let same = |f: &Field| ctx.header(*f).trim().eq_ignore_ascii_case(header.trim());
            let Some(field) = Field::ALL.into_iter().find(same) else {
                continue;
            };
            let state = merge_state(&lead_state::load_lead(&mut *tx, &ctx.name, lead).await?);
            let Some(agreed) = state.get(&field).and_then(|f| f.agreed.as_ref()) else {
                continue;
            };
            let cmd = Command::WriteRow {
                lead_id: lead.clone(),
                row_hint: None,
                expect_name: None,
                cells: BTreeMap::from([(header.clone(), agreed.value.clone())]),
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
