//! Sheet commands of the dispatcher, batched per pair: one read of the whole sheet locates every
//! row, one `batchUpdate` writes every cell, one `append` adds every new row. Sheets allow about
//! one call per second, so never one call per command.

use crate::clients::http::ClientError;
use crate::connectors::sheets::SheetsTracker;
use crate::connectors::sheets::batch::{Grid, Header, SheetBatch, Shown, appended, hint};
use crate::connectors::sheets::client::a1::{A1Range, cell_at};
use crate::connectors::sheets::settle::{Unlanded, batch_landed, unlanded};
use crate::connectors::sheets::verify::{Columns, Written, misses};
use crate::sync::connector::{Claimed, FollowUp, Outcome};
use crate::sync::context::PairContext;
use crate::sync::outbox::follow_up;
use crate::sync::plan::commands::Command;

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
        self.send_writes(&shown, &read.values, batch, &mut sorted)
            .await;
        self.send_appends(ctx, id_col, &mut sorted).await;
        sorted
            .outcomes
            .into_iter()
            .map(|o| o.unwrap_or_else(|| Outcome::Invalid("no outcome was decided".into())))
            .collect()
    }

    /// One `batchUpdate` for every located write, checked by one more read of the sheet.
    async fn send_writes(
        &self,
        shown: &Shown<'_>,
        pre: &[Vec<String>],
        batch: &[Claimed],
        b: &mut SheetBatch,
    ) {
        let ctx = shown.ctx;
        let ss = &ctx.settings.spreadsheet_id;
        let id_col = shown.grid.id_col;
        let result = match b.data.is_empty() {
            true => Ok(Vec::new()),
            false => match self.client.batch_update_once(ss, &b.data).await {
                Ok(()) => Ok(self.missed_rows(ctx, pre, id_col, &b.writes).await),
                Err(e) if e.is_timeout_or_connection() => {
                    match self.settle_lost(shown, pre, batch, b).await {
                        Some(missed) => Ok(missed),
                        None => return,
                    }
                }
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
    async fn send_appends(&self, ctx: &PairContext, id_col: usize, b: &mut SheetBatch) {
        if b.new_rows.is_empty() {
            return;
        }
        let (ss, sheet) = (&ctx.settings.spreadsheet_id, &ctx.settings.sheet);
        let width = b.new_rows.iter().map(Vec::len).max().unwrap_or(1);
        let width = u32::try_from(width).unwrap_or(u32::MAX);
        let table = A1Range::rect(sheet, 1, 1, width, None).to_string();
        let result = self.client.append(ss, &table, &b.new_rows).await;
        if let Err(e) = &result
            && e.is_timeout_or_connection()
        {
            return self.settle_append(ctx, id_col, b, e).await;
        }
        for (n, &i) in b.appends.iter().enumerate() {
            b.outcomes[i] = Some(appended(&result, n));
        }
    }

    /// An `append` whose answer was lost is settled by one read at once, not by the next
    /// round's (a user may delete the row in between, and a late retry would bring it back).
    /// An append lands whole: if any of its rows is there, all landed (one missing was deleted
    /// since, and stays deleted); if none is, it is sent again.
    async fn settle_append(
        &self,
        ctx: &PairContext,
        id_col: usize,
        b: &mut SheetBatch,
        lost: &ClientError,
    ) {
        let (ss, sheet) = (&ctx.settings.spreadsheet_id, &ctx.settings.sheet);
        let read = match self.client.read_sheet(ss, sheet).await {
            Ok(read) => read.values,
            Err(_) => Vec::new(),
        };
        let found: Vec<Option<u32>> = b
            .new_rows
            .iter()
            .map(|row| {
                let id = cell_at(std::slice::from_ref(row), 0, id_col).trim();
                (1..read.len())
                    .find(|&q| cell_at(&read, q, id_col).trim() == id)
                    .and_then(|q| u32::try_from(q + 1).ok())
            })
            .collect();
        let landed = found.iter().any(Option::is_some);
        for (n, &i) in b.appends.iter().enumerate() {
            b.outcomes[i] = Some(match (landed, found[n]) {
                (true, Some(row)) => Outcome::sent(hint(row)),
                (true, None) => Outcome::skipped(
                    "the answer to the append was lost, and the row it added is gone from the \
                     sheet since (deleted by a user); not added again",
                ),
                (false, _) => Outcome::failed(lost),
            });
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
        self.put_back(ctx, pre, &post, cols, writes).await
    }

    /// The writes of a batch that landed on rows that moved in between (to send again), what
    /// they overwrote there put back.
    async fn put_back(
        &self,
        ctx: &PairContext,
        pre: &[Vec<String>],
        post: &[Vec<String>],
        cols: Columns,
        writes: &[Written],
    ) -> Vec<usize> {
        let (ss, sheet) = (&ctx.settings.spreadsheet_id, &ctx.settings.sheet);
        let found = misses(pre, post, cols, writes, sheet);
        if !found.restore.is_empty() {
            tracing::warn!(pair = %ctx.name, writes = found.commands.len(), "rows moved while the sheet was written; putting back what landed on other rows");
            if let Err(e) = self.client.batch_update(ss, &found.restore).await {
                tracing::error!(pair = %ctx.name, error = %e, "could not put back cells written to rows that moved");
            }
        }
        found.commands
    }
}

impl SheetsTracker {
    /// Settles a `batchUpdate` whose answer was lost by reading the sheet (see `settle`). When
    /// the batch landed, answers the writes that landed on rows that moved (as after a normal
    /// answer); otherwise decides every write's outcome itself and answers `None`.
    async fn settle_lost(
        &self,
        shown: &Shown<'_>,
        pre: &[Vec<String>],
        batch: &[Claimed],
        b: &mut SheetBatch,
    ) -> Option<Vec<usize>> {
        let ctx = shown.ctx;
        let (ss, sheet) = (&ctx.settings.spreadsheet_id, &ctx.settings.sheet);
        let cols = match shown.header.column(&ctx.columns.name) {
            Ok(name) => Columns {
                id: shown.grid.id_col,
                name: name as usize - 1,
            },
            Err(e) => {
                fill(b, |_| Outcome::Invalid(e.clone()));
                return None;
            }
        };
        let post = match self.client.read_sheet(ss, sheet).await {
            Ok(read) => read.values,
            Err(e) => {
                fill(b, |_| Outcome::failed(&e));
                return None;
            }
        };
        if batch_landed(pre, &post, cols, &b.writes) {
            return Some(self.put_back(ctx, pre, &post, cols, &b.writes).await);
        }
        let header = &shown.header;
        let decided: Vec<(usize, Outcome)> = b
            .writes
            .iter()
            .map(|w| {
                (
                    w.index,
                    resend(
                        ctx,
                        header,
                        &batch[w.index],
                        w,
                        unlanded(pre, &post, cols, w),
                    ),
                )
            })
            .collect();
        for (i, outcome) in decided {
            b.outcomes[i] = Some(outcome);
        }
        None
    }
}

/// Every write of the batch gets the same outcome.
fn fill(b: &mut SheetBatch, outcome: impl Fn(&Written) -> Outcome) {
    for w in &b.writes {
        b.outcomes[w.index] = Some(outcome(w));
    }
}

/// A write of a batch that did not land: sent again whole, in part (the cells a user did not
/// change since, as a new command after this one), or not at all.
fn resend(
    ctx: &PairContext,
    header: &Header<'_>,
    claimed: &Claimed,
    w: &Written,
    what: Option<Unlanded>,
) -> Outcome {
    let cells = match what {
        Some(Unlanded::Resend) => {
            return Outcome::Failed {
                retryable: true,
                error: "the answer to the sheet write was lost and the sheet does not show it; \
                        sent again"
                    .into(),
            };
        }
        None => {
            return Outcome::skipped(
                "the answer to the sheet write was lost and a user has changed its cells since; \
                 their values stand",
            );
        }
        Some(Unlanded::Partly(cells)) => cells,
    };
    let cells = cells
        .into_iter()
        .map(|(c, v)| {
            (
                header
                    .cells
                    .get(c as usize - 1)
                    .cloned()
                    .unwrap_or_default(),
                v,
            )
        })
        .collect();
    let cmd = Command::WriteRow {
        lead_id: w.lead_id.clone(),
        row_hint: Some(w.row),
        expect_name: w.expect_name.clone(),
        cells,
    };
    match follow_up(&claimed.row, "unlanded-cells", &cmd, ctx.tracker) {
        Ok(new) => Outcome::Done {
            follow: FollowUp {
                enqueue: vec![new],
                ..FollowUp::default()
            },
            skipped: Some(
                "the answer to the sheet write was lost and a user has changed some of its \
                 cells since; the others are sent again"
                    .into(),
            ),
        },
        Err(e) => Outcome::Invalid(e),
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_lost;
