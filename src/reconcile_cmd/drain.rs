//! The sending half of `leadsync reconcile`: every command the run planned goes out, or, at its
//! deadline (`--max-duration`), the round stops between calls and what is left is counted. How
//! far it has come is shown on stderr while it runs.

use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::progress::Progress;
use crate::store::outbox_depth::{self, RunProgress};
use crate::store::{Db, now_ms};
use crate::sync::outbox::Dispatcher;

/// The pause when commands are left but none is due (a retry's backoff, a lead whose earlier
/// command another dispatcher holds).
const IDLE: Duration = Duration::from_millis(250);

/// How often the progress is read from the outbox.
const PROGRESS_TICK: Duration = Duration::from_secs(1);

/// What the sending did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sent {
    /// Commands sent by this run (a call made and its outcome recorded).
    pub sent: usize,
    /// Commands of the run's pairs still waiting when it ended (only past a deadline).
    pub left: i64,
    /// Commands of the run's pairs dead-lettered while it ran.
    pub dead: i64,
}

/// Sends the outbox of `pairs` until it is drained or `deadline` passes.
pub async fn send_planned(
    dispatcher: &Dispatcher,
    db: &Db,
    pairs: &[String],
    deadline: Option<Instant>,
) -> anyhow::Result<Sent> {
    let since = now_ms();
    let stop = CancellationToken::new();
    let timer = deadline.map(|at| {
        let stop = stop.clone();
        tokio::spawn(async move {
            tokio::time::sleep_until(at).await;
            stop.cancel();
        })
    });
    let watching = CancellationToken::new();
    let watcher = tokio::spawn(watch(db.clone(), pairs.to_vec(), since, watching.clone()));
    let sent = drain(dispatcher, db, pairs, since, &stop).await;
    if let Some(timer) = timer {
        timer.abort();
    }
    watching.cancel();
    let _ = watcher.await;
    let sent = sent?;
    let state = state_of(db, pairs, since).await?;
    Ok(Sent {
        sent,
        left: state.left,
        dead: state.dead,
    })
}

/// Rounds until nothing of `pairs` is left or `stop` is cancelled (which ends a round between
/// calls, its unsent commands released); answers how many commands were sent.
async fn drain(
    dispatcher: &Dispatcher,
    db: &Db,
    pairs: &[String],
    since: i64,
    stop: &CancellationToken,
) -> anyhow::Result<usize> {
    let mut sent = 0;
    while !stop.is_cancelled() && state_of(db, pairs, since).await?.left > 0 {
        let report = dispatcher.run_round(stop).await?;
        sent += report.sent;
        if report.claimed == 0 {
            tokio::select! {
                () = stop.cancelled() => {}
                () = tokio::time::sleep(IDLE) => {}
            }
        }
    }
    Ok(sent)
}

/// The run's progress over its pairs.
async fn state_of(db: &Db, pairs: &[String], since: i64) -> anyhow::Result<RunProgress> {
    let all = outbox_depth::run_progress(&db.pool, since).await?;
    Ok(
        (pairs.iter().filter_map(|p| all.get(p))).fold(RunProgress::default(), |acc, p| {
            RunProgress {
                sent: acc.sent + p.sent,
                dead: acc.dead + p.dead,
                left: acc.left + p.left,
            }
        }),
    )
}

/// Shows the progress every [`PROGRESS_TICK`] until `done`.
async fn watch(db: Db, pairs: Vec<String>, since: i64, done: CancellationToken) {
    let mut progress = Progress::start();
    let mut tick = tokio::time::interval(PROGRESS_TICK);
    loop {
        tokio::select! {
            // The first tick is at once: even a short run shows where it starts.
            biased;
            _ = tick.tick() => {}
            () = done.cancelled() => break,
        }
        match state_of(&db, &pairs, since).await {
            Ok(s) => progress.update(count(s.sent), count(s.dead), count(s.left)),
            Err(err) => tracing::warn!(error = %err, "reconcile progress unavailable"),
        }
    }
    progress.finish();
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}
