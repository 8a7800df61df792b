//! The outbox dispatcher: claims due commands, sends Trello ones concurrently and tracker ones
//! batched per pair through the pair's tracker connector, and records each outcome (done,
//! retried with backoff, or dead-lettered).

mod heartbeat;
mod mark;
mod reassert;
mod record;
mod restore;
mod round;
mod superseded;
mod trello;
mod types;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::store::dispatch_support::{self, Stale};
use crate::store::{Db, Dialect, StoreError};
use crate::sync::board::BoardConnector;
use crate::sync::connector::{Claimed, Outcome, Trackers};
use crate::sync::context::PairContext;
use crate::sync::outbox::types::Recorded;

pub use record::follow_up;

/// Knobs of the dispatcher; the defaults suit production.
#[derive(Debug, Clone)]
pub struct DispatchOptions {
    /// Commands claimed per round (a batching tracker's are claimed apart, up to its
    /// connector's `batch_limit`).
    pub batch: i64,
    /// How long a batching tracker's due commands may wait for more to join them while the
    /// round's claim is full of Trello work: a first sync's card URLs then cost a few sheet
    /// writes, not one per 64 cards. With nothing else queued they go out at once.
    pub tracker_linger: Duration,
    /// How long a claim holds before another dispatcher may take the command over (CONTRACT §9:
    /// at most 60 s). A round renews its claims every quarter of it while it sends them
    /// (`heartbeat.rs`), so a send may outlast it, and it can be short: a dead replica's (or a
    /// SIGKILLed one's, restarted on PostgreSQL) claims are taken over within it.
    pub lease: Duration,
    /// Trello calls in flight at once; the client's rate limiters pace them further.
    pub trello_concurrency: usize,
    /// Tries before a still-retryable command is dead-lettered.
    pub max_attempts: i64,
    /// Backoff of the first retry, doubled per failed attempt up to `max_backoff`.
    pub base_backoff: Duration,
    pub max_backoff: Duration,
    /// Pause of [`Dispatcher::run`] after a round that found nothing due.
    pub idle: Duration,
    /// How long a round under way may go on after a stop before it is dropped. The round
    /// itself stops between calls (only the calls already made finish), so this bounds a call
    /// that hangs or sits in its client's retries.
    pub stop_grace: Duration,
}

impl Default for DispatchOptions {
    fn default() -> Self {
        Self {
            batch: 64,
            tracker_linger: Duration::from_secs(30),
            lease: Duration::from_secs(20),
            trello_concurrency: 8,
            max_attempts: 8,
            base_backoff: Duration::from_secs(2),
            max_backoff: Duration::from_secs(600),
            idle: Duration::from_millis(250),
            stop_grace: Duration::from_secs(3),
        }
    }
}

/// What one round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DispatchReport {
    pub claimed: usize,
    pub sent: usize,
    /// Completed without a call (nothing left to change, row or card gone).
    pub skipped: usize,
    pub retried: usize,
    pub dead: usize,
    /// Claimed, then given back unsent because the round was stopped.
    pub released: usize,
}

impl DispatchReport {
    fn add(&mut self, recorded: Recorded) {
        match recorded {
            Recorded::Sent => self.sent += 1,
            Recorded::Skipped => self.skipped += 1,
            Recorded::Retried => self.retried += 1,
            Recorded::Dead => self.dead += 1,
            Recorded::Released => self.released += 1,
            Recorded::Lost => {}
        }
    }
}

/// Sends the outbox through the real clients. Cheap to clone: every part is shared.
#[derive(Clone)]
pub struct Dispatcher {
    pub(crate) db: Db,
    /// Where each pair's card commands go.
    pub(crate) board: Arc<dyn BoardConnector>,
    /// Where each pair's tracker commands go, by the pair's tracker kind.
    pub(crate) trackers: Trackers,
    pub(crate) pairs: HashMap<String, Arc<PairContext>>,
    pub(crate) options: DispatchOptions,
    /// Claims only this pair's commands (`None`: every pair's).
    pub(crate) claim_pair: Option<String>,
}

impl Dispatcher {
    pub fn new(
        db: Db,
        board: Arc<dyn BoardConnector>,
        trackers: Trackers,
        pairs: impl IntoIterator<Item = Arc<PairContext>>,
    ) -> Self {
        Self {
            db,
            board,
            trackers,
            pairs: pairs.into_iter().map(|p| (p.name.clone(), p)).collect(),
            options: DispatchOptions::default(),
            claim_pair: None,
        }
    }

    /// Sends only `pair`'s commands (a `reconcile --pair` run leaves the others to the daemon).
    pub fn only_pair(mut self, pair: Option<String>) -> Self {
        self.claim_pair = pair;
        self
    }

    pub fn with_options(mut self, options: DispatchOptions) -> Self {
        self.options = options;
        self
    }

    /// Dispatches until `shutdown` is cancelled, pausing briefly whenever nothing was due. A
    /// round under way stops between calls: the calls made are recorded, the commands not yet
    /// sent go back to pending, so no claimed command is left behind. Claims found at
    /// start-up on SQLite belong to a daemon that was killed: they are released first, so its
    /// unfinished commands go out now rather than when their lease runs out. On PostgreSQL only
    /// expired ones are: the leader before this one may still be sending (its heartbeat renews
    /// those), until its lock check fails and its round stops.
    pub async fn run(self, shutdown: CancellationToken) {
        let stale = match self.db.dialect() {
            Dialect::Sqlite => Stale::All,
            Dialect::Postgres => Stale::Expired,
        };
        match dispatch_support::release_stale_claims(&self.db.pool, stale).await {
            Ok(0) => {}
            Ok(n) => tracing::warn!(
                commands = n,
                "resuming commands a stopped daemon left in flight"
            ),
            Err(e) => tracing::error!(error = %e, "could not release stale outbox claims"),
        }
        while !shutdown.is_cancelled() {
            let busy = match self.round_until(&shutdown).await {
                Some(Ok(report)) => report.claimed > 0,
                Some(Err(e)) => {
                    tracing::error!(error = %e, "outbox dispatch round failed");
                    false
                }
                None => break,
            };
            if !busy {
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    () = tokio::time::sleep(self.options.idle) => {}
                }
            }
        }
    }

    /// One round, which a stop ends between calls; the calls under way then get `stop_grace`
    /// to be recorded, and are dropped past it, with their retry sleeps and rate-limit waits.
    /// `None`: dropped. The claims of dropped calls are released at the next start, as after a
    /// crash.
    async fn round_until(
        &self,
        shutdown: &CancellationToken,
    ) -> Option<Result<DispatchReport, StoreError>> {
        let round = self.run_round(shutdown);
        let mut round = std::pin::pin!(round);
        tokio::select! {
            result = &mut round => Some(result),
            () = shutdown.cancelled() => {
                let finished = tokio::time::timeout(self.options.stop_grace, &mut round).await.ok();
                if finished.is_none() {
                    tracing::warn!(grace_ms = self.options.stop_grace.as_millis() as u64, "dispatch round abandoned at shutdown; its commands are resent at the next start");
                }
                finished
            }
        }
    }

    pub(crate) fn pair(&self, name: &str) -> Option<&Arc<PairContext>> {
        self.pairs.get(name)
    }

    /// Sends one pair's tracker commands through its connector; one outcome per command.
    async fn send_tracker(
        &self,
        pair: &str,
        batch: &[Claimed],
    ) -> Result<Vec<Outcome>, StoreError> {
        let each = |why: String| {
            batch
                .iter()
                .map(|_| Outcome::Invalid(why.clone()))
                .collect()
        };
        let Some(ctx) = self.pair(pair) else {
            return Ok(each(format!("pair {pair} is not configured")));
        };
        let connector = match self.trackers.of(ctx) {
            Ok(connector) => connector,
            Err(why) => return Ok(each(format!("pair {pair}: {why}"))),
        };
        let outcomes = connector.send(ctx, batch, &self.db).await?;
        if outcomes.len() == batch.len() {
            return Ok(outcomes);
        }
        // A command without its outcome would stay claimed until its lease ran out.
        let error = format!(
            "the {} connector answered {} outcomes for {} commands",
            ctx.tracker,
            outcomes.len(),
            batch.len()
        );
        Ok((batch.iter())
            .map(|_| Outcome::Failed {
                retryable: true,
                error: error.clone(),
                reassert: Default::default(),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_blanks;
#[cfg(test)]
mod tests_board;
#[cfg(test)]
mod tests_lease;
#[cfg(test)]
mod tests_reassert;
#[cfg(test)]
mod tests_superseded;
