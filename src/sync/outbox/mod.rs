//! The outbox dispatcher: claims due commands, sends Trello ones concurrently and tracker ones
//! batched per pair through the pair's tracker connector, and records each outcome (done,
//! retried with backoff, or dead-lettered).

mod record;
mod trello;
mod types;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::clients::trello::TrelloClient;
use crate::store::outbox;
use crate::store::{Db, StoreError, dispatch_support};
use crate::sync::connector::{Claimed, Outcome, Trackers};
use crate::sync::context::PairContext;
use crate::sync::outbox::types::Recorded;
use crate::sync::plan::commands::Command;

pub use record::follow_up;

/// Knobs of the dispatcher; the defaults suit production.
#[derive(Debug, Clone)]
pub struct DispatchOptions {
    /// Commands claimed per round.
    pub batch: i64,
    /// How long a claim holds before another dispatcher may take the command over; longer
    /// than any round can take (rate-limited calls with their own retries).
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
    /// How long a round under way may go on after a stop before it is dropped.
    pub stop_grace: Duration,
}

impl Default for DispatchOptions {
    fn default() -> Self {
        Self {
            batch: 64,
            lease: Duration::from_secs(300),
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
}

impl DispatchReport {
    fn add(&mut self, recorded: Recorded) {
        match recorded {
            Recorded::Sent => self.sent += 1,
            Recorded::Skipped => self.skipped += 1,
            Recorded::Retried => self.retried += 1,
            Recorded::Dead => self.dead += 1,
            Recorded::Lost => {}
        }
    }
}

/// Sends the outbox through the real clients. Cheap to clone: every part is shared.
#[derive(Clone)]
pub struct Dispatcher {
    pub(crate) db: Db,
    pub(crate) trello: TrelloClient,
    /// Where each pair's tracker commands go, by the pair's tracker kind.
    pub(crate) trackers: Trackers,
    pub(crate) pairs: HashMap<String, Arc<PairContext>>,
    pub(crate) options: DispatchOptions,
}

impl Dispatcher {
    pub fn new(
        db: Db,
        trello: TrelloClient,
        trackers: Trackers,
        pairs: impl IntoIterator<Item = Arc<PairContext>>,
    ) -> Self {
        Self {
            db,
            trello,
            trackers,
            pairs: pairs.into_iter().map(|p| (p.name.clone(), p)).collect(),
            options: DispatchOptions::default(),
        }
    }

    pub fn with_options(mut self, options: DispatchOptions) -> Self {
        self.options = options;
        self
    }

    /// Claims up to `batch` due commands, sends them, records every outcome and waits for all.
    /// A store error is returned after the round; commands whose outcome it kept from being
    /// recorded stay claimed until their lease runs out and are then sent again.
    pub async fn run_once(&self) -> Result<DispatchReport, StoreError> {
        let claimed =
            outbox::claim_due(&self.db, None, self.options.batch, self.options.lease).await?;
        let mut report = DispatchReport {
            claimed: claimed.len(),
            ..DispatchReport::default()
        };
        let mut tasks: JoinSet<Result<Vec<Recorded>, StoreError>> = JoinSet::new();
        let permits = Arc::new(Semaphore::new(self.options.trello_concurrency.max(1)));
        let mut tracker_batches: BTreeMap<String, Vec<Claimed>> = BTreeMap::new();
        let mut first_error = None;
        for row in claimed {
            let cmd = match serde_json::from_value::<Command>(row.payload.clone()) {
                Ok(cmd) => cmd,
                Err(e) => {
                    let why = Outcome::Invalid(format!("unreadable command payload: {e}"));
                    keep(
                        &mut report,
                        &mut first_error,
                        self.record(&row, None, why).await,
                    );
                    continue;
                }
            };
            if !self.pairs.contains_key(&row.pair) {
                let why = Outcome::Invalid(format!("pair {} is not configured", row.pair));
                keep(
                    &mut report,
                    &mut first_error,
                    self.record(&row, None, why).await,
                );
                continue;
            }
            let claimed = Claimed { row, cmd };
            if claimed.cmd.is_tracker() {
                let pair = claimed.row.pair.clone();
                tracker_batches.entry(pair).or_default().push(claimed);
                continue;
            }
            let this = self.clone();
            let permits = permits.clone();
            tasks.spawn(async move {
                // The semaphore is never closed, so acquiring only fails if it were.
                let _permit = permits.acquire_owned().await.ok();
                let outcome = this.send_trello(&claimed).await?;
                Ok(vec![
                    this.record(&claimed.row, Some(&claimed.cmd), outcome)
                        .await?,
                ])
            });
        }
        for (pair, batch) in tracker_batches {
            let this = self.clone();
            tasks.spawn(async move {
                let outcomes = this.send_tracker(&pair, &batch).await?;
                this.record_batch(&batch, outcomes).await
            });
        }
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok(Ok(recorded)) => recorded.into_iter().for_each(|r| report.add(r)),
                Ok(Err(e)) => {
                    tracing::error!(error = %e, "dispatcher could not record an outcome");
                    first_error.get_or_insert(e);
                }
                Err(e) => tracing::error!(error = %e, "dispatch task failed"),
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(report),
        }
    }

    /// Dispatches until `shutdown` is cancelled, pausing briefly whenever nothing was due. A
    /// round under way is finished first, so no claimed command is left behind. Claims found at
    /// start-up belong to a daemon that was killed: they are released first, so its unfinished
    /// commands go out now rather than when their lease runs out.
    pub async fn run(self, shutdown: CancellationToken) {
        match dispatch_support::release_stale_claims(&self.db.pool).await {
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

    /// One round, unless a stop comes first: then the round gets `stop_grace` to finish
    /// (a send under way is usually recorded in time) and is dropped past it, with its
    /// outbound calls, their retry sleeps and rate-limit waits. `None`: dropped. Its claims are
    /// released at the next start, as after a crash.
    async fn round_until(
        &self,
        shutdown: &CancellationToken,
    ) -> Option<Result<DispatchReport, StoreError>> {
        let round = self.run_once();
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
            })
            .collect())
    }
}

fn keep(
    report: &mut DispatchReport,
    first_error: &mut Option<StoreError>,
    recorded: Result<Recorded, StoreError>,
) {
    match recorded {
        Ok(r) => report.add(r),
        Err(e) => {
            first_error.get_or_insert(e);
        }
    }
}

#[cfg(test)]
mod tests;
