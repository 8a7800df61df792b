//! Sheet commands of the dispatcher, batched per pair (up to [`super::SHEET_BATCH`] commands): one read
//! of the whole sheet locates every row, one `batchUpdate` writes every cell, one `append` adds
//! every new row (more only past Google's recommended 2 MB a request). Sheets allow about one
//! call per second, so never one call per command.

use std::collections::HashMap;
use std::ops::Range;

use crate::clients::http::ClientError;
use crate::connectors::sheets::SheetsTracker;
use crate::connectors::sheets::batch::{Grid, Header, SheetBatch, Shown, appended, hint};
use crate::connectors::sheets::client::ValueRange;
use crate::connectors::sheets::client::a1::{A1Range, cell_at};
use crate::connectors::sheets::verify::{Columns, Written};
use crate::store::Db;
use crate::sync::connector::{Blanked, Claimed, FollowUp, Outcome, Reassert};
use crate::sync::context::PairContext;

use lost::Settled;

mod known;
mod lost;
mod read_back;

impl SheetsTracker {
    /// Sends the sheet commands of one pair; answers one outcome per command, in order.
    pub(super) async fn send_batch(
        &self,
        ctx: &PairContext,
        batch: &[Claimed],
        db: &Db,
    ) -> Vec<Outcome> {
        let (ss, sheet) = (&ctx.settings.spreadsheet_id, &ctx.settings.sheet);
        // Until the check after the writes is done, a read may show a value on the wrong row.
        let settling = self.settling.batch(db, ss, sheet).await;
        let outcomes = self.send_held(ctx, batch, db).await;
        settling.release().await;
        outcomes
    }

    /// [`Self::send_batch`] once its sheet is held.
    async fn send_held(&self, ctx: &PairContext, batch: &[Claimed], db: &Db) -> Vec<Outcome> {
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
        let name_col = header.column(&ctx.columns.name).ok();
        let known = known::renamed_rows(db, ctx, &grid, name_col, batch).await;
        let shown = Shown {
            ctx,
            header,
            grid,
            known,
        };
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

    /// `batchUpdate`s of every located write (one unless the body would pass [`MAX_BODY`]),
    /// checked by one more read of the sheet. A call that fails fails its writes and every
    /// later one (they would meet the same quota or outage); the earlier ones are checked. A
    /// call whose answer was lost is settled by a read, never sent again blindly (`settle`).
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
        // The writes' ranges lie in `data` in the writes' order, one per cell.
        let sizes = (b.writes.iter()).scan(0, |at, w| {
            let ranges = &b.data[*at..*at + w.cells.len()];
            *at += w.cells.len();
            Some(ranges.iter().map(range_size).sum::<usize>())
        });
        let (mut sent, mut at, mut failed) = (0, 0, None);
        let mut settled = HashMap::new();
        // The read that settled a lost answer is taken after every call made: it serves as
        // the read-back check too, rather than reading the sheet once more.
        let mut read_back = None;
        for chunk in chunks(sizes, MAX_BODY) {
            let cells: usize = b.writes[chunk.clone()].iter().map(|w| w.cells.len()).sum();
            match self
                .client
                .batch_update_once(ss, &b.data[at..at + cells])
                .await
            {
                Ok(()) => (sent, at) = (chunk.end, at + cells),
                Err(e) => {
                    if e.is_timeout_or_connection() {
                        let writes = &b.writes[chunk.clone()];
                        match self.settle_lost(shown, pre, batch, writes).await {
                            Settled::Landed(post, cols) => {
                                sent = chunk.end;
                                read_back = Some((post, cols));
                            }
                            Settled::Decided(outcomes) => settled = outcomes,
                        }
                    }
                    failed = Some(e);
                    break;
                }
            }
        }
        let missed = match (sent, read_back) {
            (0, _) => Ok(Missed::default()),
            (_, Some((post, cols))) => Ok(self
                .put_back(ctx, pre, &post, cols, &b.writes[..sent])
                .await),
            (_, None) => self.missed_rows(ctx, pre, id_col, &b.writes[..sent]).await,
        };
        let (missed, unchecked) = match missed {
            Ok(missed) => (missed, None),
            Err(e) => (Missed::default(), Some(e)),
        };
        let id_column = shown.header.column(&ctx.columns.id).unwrap_or(0);
        for (k, w) in b.writes.iter().enumerate() {
            b.outcomes[w.index] = Some(match (&failed, &unchecked) {
                (Some(e), _) if k >= sent => settled
                    .remove(&w.index)
                    .unwrap_or_else(|| Outcome::failed(e)),
                (_, Some(e)) => unchecked_outcome(e),
                _ if missed.resend.contains(&w.index) => Outcome::Failed {
                    retryable: true,
                    error: "the sheet's rows moved while this write was sent; it is sent again \
                            to the row that holds the lead"
                        .into(),
                    reassert: missed.reassert(w.index),
                },
                _ => Outcome::sent(FollowUp {
                    id_landed: w.cells.iter().any(|(c, _)| *c == id_column),
                    reassert: missed.reassert(w.index),
                    ..hint(w.row)
                }),
            });
        }
    }

    /// `append`s of every new row: one unless the body would pass [`MAX_BODY`]. One whose
    /// answer was lost is settled by a read at once (`lost`).
    async fn send_appends(&self, ctx: &PairContext, id_col: usize, b: &mut SheetBatch) {
        if b.new_rows.is_empty() {
            return;
        }
        let (ss, sheet) = (&ctx.settings.spreadsheet_id, &ctx.settings.sheet);
        let width = b.new_rows.iter().map(Vec::len).max().unwrap_or(1);
        let width = u32::try_from(width).unwrap_or(u32::MAX);
        let table = A1Range::rect(sheet, 1, 1, width, None).to_string();
        let sizes = b.new_rows.iter().map(|row| row_size(row));
        for chunk in chunks(sizes, MAX_BODY) {
            let result = self
                .client
                .append(ss, &table, &b.new_rows[chunk.clone()])
                .await;
            if let Err(e) = &result
                && e.is_timeout_or_connection()
            {
                self.settle_append(ctx, id_col, b, chunk, e).await;
                continue;
            }
            for (n, &i) in b.appends[chunk].iter().enumerate() {
                b.outcomes[i] = Some(appended(&result, n));
            }
        }
    }
}

/// A write that landed but was never checked is not done: the reconciler would read its lead's
/// row (which may not hold it) as a person's edit, and the row it may have taken instead as
/// that row's (seed 4). It is sent again from a fresh read, which finds the row by its id.
fn unchecked_outcome(e: &ClientError) -> Outcome {
    Outcome::Failed {
        retryable: true,
        error: format!(
            "written, but the sheet could not be read back to check that the write landed in \
             its lead's row ({e}); sent again"
        ),
        reassert: Reassert::default(),
    }
}

/// The most one `batchUpdate` or `append` body carries before the rest goes in another call:
/// Google recommends at most 2 MB per request; the estimate below errs high.
const MAX_BODY: usize = 1_500_000;

/// About what one range takes in a `batchUpdate` body (JSON quoting and keys included).
fn range_size(r: &ValueRange) -> usize {
    64 + r.range.len()
        + r.values
            .iter()
            .flatten()
            .map(|v| v.len() + 4)
            .sum::<usize>()
}

fn row_size(row: &[String]) -> usize {
    8 + row.iter().map(|v| v.len() + 4).sum::<usize>()
}

/// Consecutive items grouped into calls of at most `max` bytes each (an item larger than
/// `max` goes alone).
fn chunks(sizes: impl Iterator<Item = usize>, max: usize) -> Vec<Range<usize>> {
    let (mut out, mut start, mut total, mut n) = (Vec::new(), 0, 0, 0);
    for (i, size) in sizes.enumerate() {
        if i > start && total + size > max {
            out.push(start..i);
            (start, total) = (i, 0);
        }
        total += size;
        n = i + 1;
    }
    if n > start {
        out.push(start..n);
    }
    out
}

impl SheetsTracker {
    /// Reads the sheet again after a batch was written and returns the batch indexes of writes
    /// that landed on a row that moved in between; what they overwrote there is put back. An
    /// error: the sheet could not be read (`read_to_settle`), so no write is checked.
    async fn missed_rows(
        &self,
        ctx: &PairContext,
        pre: &[Vec<String>],
        id_col: usize,
        writes: &[Written],
    ) -> Result<Missed, ClientError> {
        let header = Header {
            cells: pre.first().map_or(&[][..], Vec::as_slice),
            sheet: &ctx.settings.sheet,
        };
        let Ok(name) = header.column(&ctx.columns.name) else {
            return Ok(Missed::default());
        };
        let post = self.read_to_settle(ctx).await.inspect_err(|e| {
            tracing::warn!(pair = %ctx.name, error = %e, "could not read the sheet back after writing; its writes are sent again");
        })?;
        let cols = Columns {
            id: id_col,
            name: name as usize - 1,
        };
        Ok(self.put_back(ctx, pre, &post, cols, writes).await)
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
    ) -> Missed {
        let (found, post) = self
            .put_back_owed(ctx, pre, post.to_vec(), cols, writes)
            .await;
        let post = post.as_slice();
        let header = pre.first().map_or(&[][..], Vec::as_slice);
        let unknown = (found.unknown.into_iter())
            .map(|(i, lead, c)| (i, lead, cell_at(pre, 0, c as usize - 1).trim().to_owned()))
            .collect();
        let blanked = blanked_cells(header, post, &found.blanked);
        let stale = (found.stale.into_iter())
            .map(|(i, lead, c, was)| {
                let head = cell_at(pre, 0, c as usize - 1).trim().to_owned();
                (i, (lead, head, was))
            })
            .collect();
        Missed {
            resend: found.commands,
            unknown,
            blanked,
            stale,
        }
    }
}

/// The cells the check emptied in rows typed since without an id (`found`: write index, row of
/// `post`, column), each with its row's other cells (the ones no write of the batch took), by
/// header, to tell the row by when its event comes.
fn blanked_cells(
    header: &[String],
    post: &[Vec<String>],
    found: &[(usize, usize, u32)],
) -> Vec<(usize, Blanked)> {
    let head = |c: usize| header.get(c).map_or("", |h| h.trim()).to_owned();
    (found.iter())
        .map(|&(i, q, c)| {
            let taken = |col: usize| found.iter().any(|f| f.1 == q && f.2 as usize - 1 == col);
            let row = (0..header.len())
                .filter(|&col| !taken(col))
                .map(|col| (head(col), cell_at(post, q, col).trim().to_owned()))
                .filter(|(h, v)| !h.is_empty() && !v.is_empty())
                .collect();
            let blank = Blanked {
                row,
                header: head(c as usize - 1),
                written: cell_at(post, q, c as usize - 1).trim().to_owned(),
            };
            (i, blank)
        })
        .collect()
}

/// What the check after a batch found: the writes to send again (by index in the batch), and
/// per write the cells it landed on in rows typed since, as (that row's lead id, header), in
/// rows typed since without an id, and in rows with an id put back from the first read (lead
/// id, header, value put back).
#[derive(Default)]
struct Missed {
    resend: Vec<usize>,
    unknown: Vec<(usize, String, String)>,
    blanked: Vec<(usize, Blanked)>,
    stale: Vec<(usize, (String, String, String))>,
}

impl Missed {
    fn reassert(&self, index: usize) -> Reassert {
        Reassert {
            cells: (self.unknown.iter())
                .filter(|(i, ..)| *i == index)
                .map(|(_, lead, header)| (lead.clone(), header.clone()))
                .collect(),
            blanked: (self.blanked.iter())
                .filter(|(i, _)| *i == index)
                .map(|(_, b)| b.clone())
                .collect(),
            stale: (self.stale.iter())
                .filter(|(i, _)| *i == index)
                .map(|(_, s)| s.clone())
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_batching;
#[cfg(test)]
mod tests_blanks;
#[cfg(test)]
mod tests_lost;
#[cfg(test)]
mod tests_read_back;
