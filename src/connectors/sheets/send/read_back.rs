//! The read that settles what a write did (the check after a `batchUpdate`, the settling of a
//! lost answer) is owed, not optional: without it a write that landed on a row sorted or
//! inserted into its place stays there, read later as that row's person's edit, and its lead's
//! row keeps its older value, read later as an edit reverting ours (chaos seed 4). So it is
//! tried again past the client's own retries, paced as they would go on.

use std::time::Duration;

use crate::clients::http::ClientError;
use crate::connectors::sheets::SheetsTracker;
use crate::connectors::sheets::verify::{Columns, Misses, Written, misses};
use crate::sync::context::PairContext;

/// Reads of the sheet past the first call (each with the client's own retries) before the
/// read that settles a write is given up.
const READS_AGAIN: u32 = 3;

impl SheetsTracker {
    /// The whole sheet, read to settle a write: the first call, then up to [`READS_AGAIN`]
    /// more, each after a pause as long as the client's backoff would be by then.
    pub(super) async fn read_to_settle(
        &self,
        ctx: &PairContext,
    ) -> Result<Vec<Vec<String>>, ClientError> {
        let (ss, sheet) = (&ctx.settings.spreadsheet_id, &ctx.settings.sheet);
        let mut again = 0;
        loop {
            match self.client.read_sheet(ss, sheet).await {
                Ok(read) => return Ok(read.values),
                Err(e) if again >= READS_AGAIN || !e.is_retryable() => return Err(e),
                Err(e) => {
                    tracing::warn!(pair = %ctx.name, error = %e, "could not read the sheet to settle a write; reading it again");
                    tokio::time::sleep(self.settle_pause(again)).await;
                    again += 1;
                }
            }
        }
    }

    /// Compares `post`, read after the batch's writes, with `pre` and puts back what landed
    /// on rows that moved. The put-back is owed as the read is: a write that took another
    /// row's id cell, left there, makes that row another lead's (chaos seed 4: an id write
    /// over the id of the row above after a row was inserted; the put-back failed, and the
    /// fallback below finds a lead's row by the id that was lost). So a failed put-back is
    /// tried again, after reading the sheet again and comparing anew (rows may have moved
    /// since, and a put-back whose answer was lost may have landed), up to [`READS_AGAIN`]
    /// times; given up, its cells are named by their rows' leads (`Misses::unrestored`).
    /// Answers the misses and the read they were found in.
    pub(super) async fn put_back_owed(
        &self,
        ctx: &PairContext,
        pre: &[Vec<String>],
        mut post: Vec<Vec<String>>,
        cols: Columns,
        writes: &[Written],
    ) -> (Misses, Vec<Vec<String>>) {
        let (ss, sheet) = (&ctx.settings.spreadsheet_id, &ctx.settings.sheet);
        let mut found = misses(pre, &post, cols, writes, sheet);
        let mut again = 0;
        while !found.restore.is_empty() {
            tracing::warn!(pair = %ctx.name, writes = found.commands.len(), "rows moved while the sheet was written; putting back what landed on other rows");
            let error = match self.client.batch_update(ss, &found.restore).await {
                Ok(_) => break,
                Err(e) => e,
            };
            let read = match again < READS_AGAIN && error.is_retryable() {
                true => {
                    tracing::warn!(pair = %ctx.name, error = %error, "could not put back cells written to rows that moved; reading the sheet again to put them back");
                    tokio::time::sleep(self.settle_pause(again)).await;
                    again += 1;
                    self.client.read_sheet(ss, sheet).await.map(|r| r.values)
                }
                false => Err(error),
            };
            match read {
                Ok(values) => {
                    post = values;
                    found = misses(pre, &post, cols, writes, sheet);
                }
                Err(e) => {
                    tracing::error!(pair = %ctx.name, error = %e, "could not put back cells written to rows that moved; their leads' values are written again");
                    found.unrestored(&post, cols, writes);
                    break;
                }
            }
        }
        (found, post)
    }

    /// The pause before the settling read number `again` + 1 (0-based): the client's backoff
    /// after its own attempts, at least 1 ms.
    fn settle_pause(&self, again: u32) -> Duration {
        let policy = self.client.policy();
        let cap = policy.backoff_cap(policy.max_attempts.saturating_add(again));
        cap.max(Duration::from_millis(1))
    }
}
