//! The read that settles what a write did (the check after a `batchUpdate`, the settling of a
//! lost answer) is owed, not optional: without it a write that landed on a row sorted or
//! inserted into its place stays there, read later as that row's person's edit, and its lead's
//! row keeps its older value, read later as an edit reverting ours (chaos seed 4). So it is
//! tried again past the client's own retries, paced as they would go on.

use std::time::Duration;

use crate::clients::http::ClientError;
use crate::connectors::sheets::SheetsTracker;
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

    /// The pause before the settling read number `again` + 1 (0-based): the client's backoff
    /// after its own attempts, at least 1 ms.
    fn settle_pause(&self, again: u32) -> Duration {
        let policy = self.client.policy();
        let cap = policy.backoff_cap(policy.max_attempts.saturating_add(again));
        cap.max(Duration::from_millis(1))
    }
}
