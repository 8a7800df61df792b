//! One dispatch round: claim a batch of due commands, send them (Trello ones concurrently, each
//! pair's tracker ones as one batch, a sheet's up to thousands) and record every outcome. A stop ends the round between
//! calls: commands not yet handed to a client go back to pending, unsent and with their
//! attempts unchanged, and only the calls already made are waited for.

use std::collections::BTreeMap;
use std::sync::Arc;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::store::outbox::{self, Command as Stored, Parsed, Targets};
use crate::store::{StoreError, dispatch_support, now_ms};
use crate::sync::connector::{Claimed, Outcome};
use crate::sync::outbox::heartbeat::Heartbeat;
use crate::sync::outbox::record::report;
use crate::sync::outbox::types::Recorded;
use crate::sync::outbox::{DispatchReport, Dispatcher};
use crate::sync::plan::commands::Command;

type Task = Result<Vec<Recorded>, StoreError>;

impl Dispatcher {
    /// Claims up to `batch` due commands, sends them, records every outcome and waits for all.
    /// A store error is returned after the round; commands whose outcome it kept from being
    /// recorded stay claimed until their lease runs out and are then sent again.
    pub async fn run_once(&self) -> Result<DispatchReport, StoreError> {
        self.run_round(&CancellationToken::new()).await
    }

    /// [`Dispatcher::run_once`] that `stop` ends between calls. A rate-limited round of a full
    /// batch can take longer than a shutdown's grace; with the stop, each command still waiting
    /// for its turn is released (pending again, due now, attempts unchanged: it was never sent)
    /// and the round returns as soon as the calls under way are recorded. Nothing is claimed
    /// once `stop` is cancelled.
    pub async fn run_round(&self, stop: &CancellationToken) -> Result<DispatchReport, StoreError> {
        if stop.is_cancelled() {
            return Ok(DispatchReport::default());
        }
        let claimed = self.claim_round().await?;
        let ids = claimed.iter().map(|p| p.row.id).collect();
        // Held to the round's end (or its drop): its claims stay ours however long it sends.
        let _heartbeat = Heartbeat::start(self.db.clone(), ids, self.options.lease);
        let mut report = DispatchReport {
            claimed: claimed.len(),
            ..DispatchReport::default()
        };
        let mut tasks: JoinSet<Task> = JoinSet::new();
        let permits = Arc::new(Semaphore::new(self.options.trello_concurrency.max(1)));
        let mut tracker_batches = batches_sized(&claimed);
        let mut first_error = None;
        for Parsed { row, payload } in claimed {
            // The payload was parsed from its stored text straight into a `Command`: a first
            // sync's sheet batch is 10 000 commands, whose JSON trees (~1.3 KB each) were
            // profiled at 13.7 MB of a 48 MB heap peak.
            let cmd = match payload {
                Ok(cmd) => cmd,
                Err(e) => {
                    let why = Outcome::Invalid(format!("unreadable command payload: {e}"));
                    let recorded = self.record(&row, None, why).await;
                    keep(&mut report, &mut first_error, recorded);
                    continue;
                }
            };
            if !self.pairs.contains_key(&row.pair) {
                let why = Outcome::Invalid(format!("pair {} is not configured", row.pair));
                let recorded = self.record(&row, None, why).await;
                keep(&mut report, &mut first_error, recorded);
                continue;
            }
            let claimed = Claimed { row, cmd };
            if claimed.cmd.is_tracker() {
                let pair = claimed.row.pair.clone();
                tracker_batches.entry(pair).or_default().push(claimed);
                continue;
            }
            tasks.spawn(
                self.clone()
                    .trello_task(claimed, permits.clone(), stop.clone()),
            );
        }
        for (pair, batch) in tracker_batches {
            // A pair whose commands were all unreadable or whose pair is gone: nothing to send.
            if batch.is_empty() {
                continue;
            }
            let (this, stop) = (self.clone(), stop.clone());
            tasks.spawn(async move {
                if stop.is_cancelled() {
                    let rows: Vec<Stored> = batch.into_iter().map(|c| c.row).collect();
                    return this.release_all(&rows).await;
                }
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
        if report.released > 0 {
            tracing::info!(
                released = report.released,
                "dispatch round stopped; unsent commands released"
            );
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(report),
        }
    }

    /// The round's commands: up to `batch` of Trello's (with the tracker commands sent in
    /// rounds), then each batching tracker's (up to its connector's limit, far more than a
    /// round's batch). While Trello work is queued (its claim was full), a batching tracker's
    /// commands wait until the longest-waiting one has waited `tracker_linger`, so the sheet
    /// writes that each finished card makes due (its URL) go out together, not 64 at a time.
    async fn claim_round(&self) -> Result<Vec<Parsed<Command>>, StoreError> {
        let (pair, o) = (self.claim_pair.as_deref(), &self.options);
        let batching = self.trackers.batching();
        let kinds: Vec<String> = (batching.iter())
            .map(|(kind, _)| kind.as_str().to_owned())
            .collect();
        let rest = match kinds.is_empty() {
            true => Targets::Any,
            false => Targets::Except(kinds),
        };
        let mut claimed = outbox::claim_due_parsed(&self.db, pair, &rest, o.batch, o.lease).await?;
        let busy = i64::try_from(claimed.len()).unwrap_or(i64::MAX) >= o.batch;
        for (kind, limit) in batching {
            let only = Targets::Only(vec![kind.as_str().to_owned()]);
            if busy {
                let Some(since) = outbox::due_since(&self.db.pool, pair, &only).await? else {
                    continue;
                };
                if now_ms().saturating_sub(since) < outbox::ms(o.tracker_linger) {
                    continue;
                }
            }
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let more = outbox::claim_due_parsed(&self.db, pair, &only, limit, o.lease).await?;
            // Exactly: grown by doubling, a batch of 10 000 would leave room for 16 384.
            claimed.reserve_exact(more.len());
            claimed.extend(more);
        }
        Ok(claimed)
    }

    /// Sends one Trello command when its turn comes (a concurrency permit), unless `stop`
    /// comes first: then it is released unsent.
    async fn trello_task(
        self,
        claimed: Claimed,
        permits: Arc<Semaphore>,
        stop: CancellationToken,
    ) -> Task {
        let permit = tokio::select! {
            // A stop and a free permit at once: the stop wins, nothing more is started.
            biased;
            () = stop.cancelled() => None,
            // The semaphore is never closed, so acquiring only fails if it were.
            permit = permits.acquire_owned() => permit.ok(),
        };
        if permit.is_none() || stop.is_cancelled() {
            return self.release_all(std::slice::from_ref(&claimed.row)).await;
        }
        let outcome = self.send_trello(&claimed).await?;
        Ok(vec![
            self.record(&claimed.row, Some(&claimed.cmd), outcome)
                .await?,
        ])
    }

    /// Gives claimed commands back unsent: pending, due now, attempts and notes unchanged.
    async fn release_all(&self, rows: &[Stored]) -> Task {
        let mut recorded = Vec::new();
        for row in rows {
            let released = dispatch_support::release_unsent(&self.db.pool, row.id).await?;
            let r = if released {
                Recorded::Released
            } else {
                Recorded::Lost
            };
            report(row, r, None);
            recorded.push(r);
        }
        Ok(recorded)
    }
}

/// An empty batch per pair with room for exactly its tracker commands of the round: pushed
/// into one by one, a first sync's batch of 10 000 grew to room for 16 384 (profiled: 6.2 MB
/// of the heap's peak, held while the batch is sent).
fn batches_sized(claimed: &[Parsed<Command>]) -> BTreeMap<String, Vec<Claimed>> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for p in claimed {
        if p.payload.as_ref().is_ok_and(Command::is_tracker) {
            *counts.entry(p.row.pair.as_str()).or_default() += 1;
        }
    }
    (counts.into_iter())
        .map(|(pair, n)| (pair.to_owned(), Vec::with_capacity(n)))
        .collect()
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
