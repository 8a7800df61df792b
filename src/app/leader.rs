//! One engine leader per database (CONTRACT §9): on PostgreSQL every replica serves HTTP, but
//! only the one holding the leader lock (`store::leader`) runs the background work — the
//! engine's loops, the mirrors, the Airtable webhook upkeep — and so makes all of a token's
//! calls. On SQLite (one process) the work starts at once.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::connectors::airtable::webhooks::upkeep::WebhookUpkeep;
use crate::mirror::Mirrors;
use crate::shutdown::{self, NamedTask};
use crate::store::leader::{self, LeaderLock, ReconcileRequests};
use crate::store::{Dialect, StoreError};
use crate::sync::engine::Engine;
use crate::sync::handle::EngineHandle;

/// A standby replica asks for the lock this often: the time a hand-over may take once the
/// leader's session is gone.
const TRY_EVERY: Duration = Duration::from_secs(2);
/// The leader checks its lock's session this often; a failed check stops its work at once.
const CHECK_EVERY: Duration = Duration::from_secs(2);
/// How long a new leader waits to be listening for reconcile requests before its loops start.
const LISTEN_BOUND: Duration = Duration::from_secs(5);
/// How long a replica that lost the lock waits for its loops to stop before aborting them.
const STOP_BOUND: Duration = Duration::from_secs(10);

/// Everything only the leader runs.
pub(super) struct Background {
    pub engine: Option<Engine>,
    pub mirrors: Option<Mirrors>,
    pub upkeep: Option<WebhookUpkeep>,
}

impl Background {
    fn is_empty(&self) -> bool {
        self.engine.is_none() && self.mirrors.is_none() && self.upkeep.is_none()
    }

    /// Starts every loop under `stop`; callable again once those have stopped.
    fn spawn(&self, stop: &CancellationToken) -> Vec<NamedTask> {
        let mut tasks = (self.engine.as_ref())
            .map(|e| e.spawn(stop))
            .unwrap_or_default();
        if let Some(mirrors) = &self.mirrors {
            let task = tokio::spawn(mirrors.clone().run(stop.clone()));
            tasks.push(("mirrors", task));
        }
        if let Some(upkeep) = &self.upkeep {
            let task = tokio::spawn(upkeep.clone().run(stop.clone()));
            tasks.push(("airtable webhook upkeep", task));
        }
        tasks
    }
}

/// Starts the background work: at once on SQLite; on PostgreSQL as a leadership loop that
/// runs it only while this replica holds the lock.
pub(super) fn start(
    background: Background,
    (url, dialect): (&str, Dialect),
    handle: Option<EngineHandle>,
    shutdown: &CancellationToken,
) -> Vec<NamedTask> {
    if dialect == Dialect::Sqlite || background.is_empty() {
        // One process: the lock is trivially its own.
        set_gauge(true);
        return background.spawn(shutdown);
    }
    if let Some(handle) = &handle {
        handle.set_standby(true);
    }
    set_gauge(false);
    let lead = lead(
        background,
        LeaderLock::new(url),
        url.to_owned(),
        handle,
        shutdown.clone(),
    );
    vec![("leadership", tokio::spawn(lead))]
}

/// Waits for the lock, runs the work while it holds, stops it the moment a check fails, and
/// waits again; gives the lock up when `shutdown` comes.
async fn lead(
    background: Background,
    mut lock: LeaderLock,
    url: String,
    handle: Option<EngineHandle>,
    shutdown: CancellationToken,
) {
    loop {
        while !lock.hold().await {
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(TRY_EVERY) => {}
            }
        }
        tracing::info!("leadership_acquired");
        let term = shutdown.child_token();
        // Listening first, then the loops: the pass that listening queues (see `listen`) is the
        // new leader's first work, so a request sent while no replica led is not lost.
        let ear = match &handle {
            Some(handle) => Some(start_listening(&url, handle).await),
            None => None,
        };
        let mut tasks = background.spawn(&term);
        if let Some(handle) = &handle {
            let ear = forward_reconcile_requests(
                url.clone(),
                handle.clone(),
                ear.flatten(),
                term.clone(),
            );
            tasks.push(("reconcile requests", tokio::spawn(ear)));
            handle.set_standby(false);
        }
        set_gauge(true);
        let lost = loop {
            tokio::select! {
                () = shutdown.cancelled() => break false,
                () = tokio::time::sleep(CHECK_EVERY) => {}
            }
            if !lock.hold().await {
                break true;
            }
        };
        term.cancel();
        if !lost {
            // The app's own shutdown joins nothing of ours: wait for the loops here, within
            // its deadline, and only then let the next leader in.
            let unstopped =
                shutdown::join_until(tasks, tokio::time::Instant::now() + STOP_BOUND).await;
            if !unstopped.is_empty() {
                tracing::warn!(tasks = ?unstopped, "tasks did not stop before the shutdown deadline; aborted");
            }
            lock.release().await;
            return;
        }
        if let Some(handle) = &handle {
            handle.set_standby(true);
        }
        set_gauge(false);
        tracing::warn!("leadership_lost: the engine's loops stop until this replica leads again");
        let unstopped = shutdown::join_until(tasks, tokio::time::Instant::now() + STOP_BOUND).await;
        if !unstopped.is_empty() {
            tracing::warn!(tasks = ?unstopped, "tasks did not stop after leadership was lost; aborted");
        }
    }
}

/// The leader's reconciler takes the requests other replicas' `POST /admin/reconcile` send.
async fn forward_reconcile_requests(
    url: String,
    handle: EngineHandle,
    mut ear: Option<ReconcileRequests>,
    stop: CancellationToken,
) {
    while !stop.is_cancelled() {
        let listening = async {
            let ear = match ear.take() {
                Some(ear) => ear,
                None => listen(&url, &handle).await?,
            };
            forward(ear, &handle).await
        };
        tokio::select! {
            () = stop.cancelled() => return,
            Err(err) = listening => {
                tracing::warn!(error = %err, "listening for reconcile requests failed; again shortly");
            }
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(TRY_EVERY) => {}
        }
    }
}

/// [`listen`], bounded: a leader whose first try fails starts its loops all the same, and
/// `forward_reconcile_requests` tries again.
async fn start_listening(url: &str, handle: &EngineHandle) -> Option<ReconcileRequests> {
    match tokio::time::timeout(LISTEN_BOUND, listen(url, handle)).await {
        Ok(Ok(ear)) => Some(ear),
        Ok(Err(err)) => {
            tracing::warn!(error = %err, "listening for reconcile requests failed; again shortly");
            None
        }
        Err(_) => None,
    }
}

/// Starts listening for [`leader::request_reconcile`], then queues a reconciliation of every
/// pair: `NOTIFY` keeps nothing for later, so a request sent while nobody listened (a
/// hand-over, or this connection lost and made again) is covered by that pass, which starts
/// after it; every later request is heard.
async fn listen(url: &str, handle: &EngineHandle) -> Result<ReconcileRequests, StoreError> {
    let ear = leader::reconcile_requests(url).await?;
    handle.queue_reconcile("*");
    Ok(ear)
}

/// Hands each request heard to this replica's reconciler; returns only on a failure.
async fn forward(mut ear: ReconcileRequests, handle: &EngineHandle) -> Result<(), StoreError> {
    loop {
        let pair = ear.recv().await?;
        tracing::info!(%pair, "reconciliation requested by another replica");
        handle.queue_reconcile(&pair);
    }
}

/// `leadsync_leader` in /metrics: 1 while this process leads.
fn set_gauge(leading: bool) {
    metrics::gauge!("leadsync_leader").set(if leading { 1.0 } else { 0.0 });
}
