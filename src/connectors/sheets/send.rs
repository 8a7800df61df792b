//! Sheet commands of the dispatcher, batched per pair: one read of the whole sheet locates every
//! row, one `batchUpdate` writes every cell, one `append` adds every new row. Sheets allow about
//! one call per second, so never one call per command.

use crate::connectors::sheets::SheetsTracker;
use crate::connectors::sheets::batch::{Grid, Header, SheetBatch, Shown, appended, hint};
use crate::connectors::sheets::client::a1::A1Range;
use crate::connectors::sheets::verify::{Columns, Written, misses};
use crate::sync::connector::{Claimed, FollowUp, Outcome};
use crate::sync::context::PairContext;

impl SheetsTracker {
    /// Sends the sheet commands of one pair; answers one outcome per command, in order.
    pub(super) async fn send_batch(&self, ctx: &PairContext, batch: &[Claimed]) -> Vec<Outcome> {
        let (ss, sheet) = (&ctx.settings.spreadsheet_id, &ctx.settings.sheet);
        let read = match self.client.read_sheet(ss, sheet).await {
            Ok(read) => read,
            Err(e) => return batch.iter().map(|_| Outcome::failed(&e)).collect(),
        };
        let header = Header {
            cells: read.values.first().map_or(&[][..], Vec::as_slice),
            sheet,
        };
        let id_col = match header.column(&ctx.columns.id) {
            Ok(c) => c as usize - 1,
            Err(e) => return batch.iter().map(|_| Outcome::Invalid(e.clone())).collect(),
        };
        let grid = Grid::new(&read.values, id_col);
        let shown = Shown { ctx, header, grid };
        let mut sorted = SheetBatch::sort(&shown, batch);
        self.send_writes(&shown, &read.values, &mut sorted).await;
        self.send_appends(ctx, &mut sorted).await;
        sorted
            .outcomes
            .into_iter()
            .map(|o| o.unwrap_or_else(|| Outcome::Invalid("no outcome was decided".into())))
            .collect()
    }

    /// One `batchUpdate` for every located write, checked by one more read of the sheet.
    async fn send_writes(&self, shown: &Shown<'_>, pre: &[Vec<String>], b: &mut SheetBatch) {
        let ctx = shown.ctx;
        let ss = &ctx.settings.spreadsheet_id;
        let id_col = shown.grid.id_col;
        let result = match b.data.is_empty() {
            true => Ok(Vec::new()),
            false => match self.client.batch_update(ss, &b.data).await {
                Ok(_) => Ok(self.missed_rows(ctx, pre, id_col, &b.writes).await),
                Err(e) => Err(e),
            },
        };
        let id_column = shown.header.column(&ctx.columns.id).unwrap_or(0);
        for w in &b.writes {
            b.outcomes[w.index] = Some(match &result {
                Ok(missed) if missed.contains(&w.index) => Outcome::Failed {
                    retryable: true,
                    error: "the sheet's rows moved while this write was sent; it is sent again \
                            to the row that holds the lead"
                        .into(),
                },
                Ok(_) => Outcome::sent(FollowUp {
                    id_landed: w.cells.iter().any(|(c, _)| *c == id_column),
                    ..hint(w.row)
                }),
                Err(e) => Outcome::failed(e),
            });
        }
    }

    /// One `append` for every new row.
    async fn send_appends(&self, ctx: &PairContext, b: &mut SheetBatch) {
        if b.new_rows.is_empty() {
            return;
        }
        let (ss, sheet) = (&ctx.settings.spreadsheet_id, &ctx.settings.sheet);
        let width = b.new_rows.iter().map(Vec::len).max().unwrap_or(1);
        let width = u32::try_from(width).unwrap_or(u32::MAX);
        let table = A1Range::rect(sheet, 1, 1, width, None).to_string();
        let result = self.client.append(ss, &table, &b.new_rows).await;
        for (n, &i) in b.appends.iter().enumerate() {
            b.outcomes[i] = Some(appended(&result, n));
        }
    }
}

impl SheetsTracker {
    /// Reads the sheet again after a batch was written and returns the batch indexes of writes
    /// that landed on a row that moved in between; what they overwrote there is put back.
    async fn missed_rows(
        &self,
        ctx: &PairContext,
        pre: &[Vec<String>],
        id_col: usize,
        writes: &[Written],
    ) -> Vec<usize> {
        let (ss, sheet) = (&ctx.settings.spreadsheet_id, &ctx.settings.sheet);
        let header = Header {
            cells: pre.first().map_or(&[][..], Vec::as_slice),
            sheet,
        };
        let Ok(name) = header.column(&ctx.columns.name) else {
            return Vec::new();
        };
        let post = match self.client.read_sheet(ss, sheet).await {
            Ok(read) => read.values,
            // Unverified is what every write was before: leave it to the next reconciliation.
            Err(e) => {
                tracing::warn!(pair = %ctx.name, error = %e, "could not read the sheet back after writing");
                return Vec::new();
            }
        };
        let cols = Columns {
            id: id_col,
            name: name as usize - 1,
        };
        let found = misses(pre, &post, cols, writes, sheet);
        if !found.restore.is_empty() {
            tracing::warn!(pair = %ctx.name, writes = found.commands.len(), "rows moved while the sheet was written; putting back what landed on other rows");
            if let Err(e) = self.client.batch_update(ss, &found.restore).await {
                tracing::error!(pair = %ctx.name, error = %e, "could not put back cells written to rows that moved");
            }
        }
        found.commands
    }
}

#[cfg(test)]
mod tests;
