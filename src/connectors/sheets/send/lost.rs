//! Calls whose answer was lost (a timeout, a reset, a 5xx after the server acted) are settled
//! by reading the sheet at once, never repeated blindly: a user who saw the first try land may
//! have typed over it or deleted its row since (`settle` decides what a read shows).

use std::collections::HashMap;
use std::ops::Range;

use crate::clients::http::ClientError;
use crate::connectors::sheets::SheetsTracker;
use crate::connectors::sheets::batch::{Header, SheetBatch, Shown, hint};
use crate::connectors::sheets::client::a1::cell_at;
use crate::connectors::sheets::settle::{Unlanded, batch_landed, unlanded};
use crate::connectors::sheets::verify::{Columns, Written, misses};
use crate::sync::connector::{Claimed, FollowUp, Outcome};
use crate::sync::context::PairContext;
use crate::sync::outbox::follow_up;
use crate::sync::plan::commands::Command;

impl SheetsTracker {
    /// An `append` whose answer was lost is settled by one read at once, not by the next
    /// round's (a user may delete the row in between, and a late retry would bring it back).
    /// An append lands whole: if any of its rows is there, all landed (one missing was deleted
    /// since, and stays deleted); if none is, it is sent again.
    pub(super) async fn settle_append(
        &self,
        ctx: &PairContext,
        id_col: usize,
        b: &mut SheetBatch,
        chunk: Range<usize>,
        lost: &ClientError,
    ) {
        let read = self.read_to_settle(ctx).await.unwrap_or_default();
        let found: Vec<Option<u32>> = b.new_rows[chunk.clone()]
            .iter()
            .map(|row| {
                let id = cell_at(std::slice::from_ref(row), 0, id_col).trim();
                (1..read.len())
                    .find(|&q| cell_at(&read, q, id_col).trim() == id)
                    .and_then(|q| u32::try_from(q + 1).ok())
            })
            .collect();
        let landed = found.iter().any(Option::is_some);
        for (n, &i) in b.appends[chunk].iter().enumerate() {
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

    /// Settles a `batchUpdate` whose answer was lost (its `writes`) by reading the sheet (see
    /// `settle`): it landed, or each write's outcome is decided here.
    pub(super) async fn settle_lost(
        &self,
        shown: &Shown<'_>,
        pre: &[Vec<String>],
        batch: &[Claimed],
        writes: &[Written],
    ) -> Settled {
        let ctx = shown.ctx;
        let sheet = &ctx.settings.sheet;
        let cols = match shown.header.column(&ctx.columns.name) {
            Ok(name) => Columns {
                id: shown.grid.id_col,
                name: name as usize - 1,
            },
            Err(e) => return Settled::all(writes, |_| Outcome::Invalid(e.clone())),
        };
        let post = match self.read_to_settle(ctx).await {
            Ok(read) => read,
            Err(e) => return Settled::all(writes, |_| Outcome::failed(&e)),
        };
        // Rows moved between the batch's read and its write: it landed, but on other rows,
        // so the leads' rows do not show it. The check after a write tells that apart; taken
        // for unlanded, the writes were sent again and the value each left in another lead's
        // row stayed there, read later as that row's edit (chaos seed 12).
        let elsewhere = || !misses(pre, &post, cols, writes, sheet).restore.is_empty();
        if batch_landed(pre, &post, cols, writes) || elsewhere() {
            return Settled::Landed(post, cols);
        }
        let header = &shown.header;
        let decided = writes
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
        Settled::Decided(decided)
    }
}

/// What a read showed of a `batchUpdate` whose answer was lost.
pub(super) enum Settled {
    /// It landed: its writes are checked with the others, against this read.
    Landed(Vec<Vec<String>>, Columns),
    /// It did not: each write's outcome, by its index in the batch.
    Decided(HashMap<usize, Outcome>),
}

impl Settled {
    /// Every write gets the same outcome.
    fn all(writes: &[Written], outcome: impl Fn(&Written) -> Outcome) -> Self {
        Self::Decided(writes.iter().map(|w| (w.index, outcome(w))).collect())
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
                reassert: Default::default(),
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
