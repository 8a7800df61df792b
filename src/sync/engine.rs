//! The running engine: resolves the pairs, then runs the inbox worker, the outbox dispatcher,
//! the reconciler, the housekeeping loop and the trackers' change feeds until shutdown.
//! `EngineHandle` is what the HTTP side sees of it. The board and tracker connectors are made
//! by the composition root (`app`, `reconcile_cmd`) and handed in.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::clients::http::ClientError;
use crate::config::Settings;
use crate::shutdown::NamedTask;
use crate::store::{Db, StoreError, activity, inbox_work, outbox};
use crate::sync::board::BoardConnector;
use crate::sync::connector::Trackers;
use crate::sync::context::PairContext;
use crate::sync::handle::EngineHandle;
use crate::sync::inbox::Worker;
use crate::sync::outbox::Dispatcher;
use crate::sync::reconcile::Reconciler;
use crate::sync::resolve::{ResolveError, resolve_pairs};

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error(transparent)]
    Resolve(#[from] ResolveError),
}

/// Worker, dispatcher, reconciler, housekeeping (and one task per change feed).
const TASKS: usize = 4;

/// A built engine, not yet running.
pub struct Engine {
    pub contexts: HashMap<String, Arc<PairContext>>,
    pub reconciler: Reconciler,
    pub worker: Worker,
    pub dispatcher: Dispatcher,
    /// The trackers, whose change feeds (Airtable's, Notion's) are made anew at each spawn.
    trackers: Trackers,
    /// Shared by every run of the reconciler: a replica that leads again (CONTRACT §9) keeps
    /// the requests queued meanwhile; one run at a time holds it.
    requests: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<String>>>,
    handle: EngineHandle,
    running: Arc<AtomicUsize>,
    reconcile_interval: Duration,
    retention_days: u32,
    db: Db,
}

impl Engine {
    /// Resolves every pair (fails naming what is missing) with the board and tracker
    /// connectors the caller made.
    pub async fn build(
        settings: &Settings,
        db: Db,
        board: Arc<dyn BoardConnector>,
        trackers: Trackers,
    ) -> Result<Self, EngineError> {
        let contexts = resolve_pairs(settings, &db, board.as_ref(), &trackers).await?;
        let (requests_tx, requests) = mpsc::unbounded_channel();
        let running = Arc::new(AtomicUsize::new(0));
        let tasks = TASKS + trackers.feeds(&db, &contexts).len();
        let reconciler = Reconciler::new(
            db.clone(),
            Arc::clone(&board),
            trackers.clone(),
            contexts.clone(),
            settings.sync.on_row_deleted,
            settings.sync.activity_retention_days,
        );
        let handle = EngineHandle::new(requests_tx.clone(), Arc::clone(&running), tasks)
            .with_reconciler(reconciler.clone())
            .with_db(db.clone());
        let worker = Worker::new(
            db.clone(),
            contexts.clone(),
            Duration::from_millis(settings.sync.debounce_ms),
            Some(requests_tx.clone()),
        );
        let dispatcher = Dispatcher::new(
            db.clone(),
            board,
            trackers.clone(),
            contexts.values().cloned(),
        );
        Ok(Self {
            contexts,
            reconciler,
            worker,
            dispatcher,
            trackers,
            requests: Arc::new(tokio::sync::Mutex::new(requests)),
            handle,
            running,
            reconcile_interval: Duration::from_secs(settings.sync.reconcile_interval_secs),
            retention_days: settings.sync.activity_retention_days,
            db,
        })
    }

    /// Replaces the dispatcher's pacing (retry backoff, batch size, concurrency).
    pub fn with_dispatch_options(mut self, options: crate::sync::outbox::DispatchOptions) -> Self {
        self.dispatcher = self.dispatcher.with_options(options);
        self
    }

    /// What the HTTP side keeps: reconcile requests and liveness.
    pub fn handle(&self) -> EngineHandle {
        self.handle.clone()
    }

    /// Starts every loop, each under the name a shutdown warning uses; they stop when
    /// `shutdown` is cancelled, also from inside their waits and outbound calls. Callable
    /// again once those have stopped: a replica that loses and regains leadership.
    pub fn spawn(&self, shutdown: &CancellationToken) -> Vec<NamedTask> {
        let running = &self.running;
        let track = |name: &'static str,
                     fut: std::pin::Pin<Box<dyn Future<Output = ()> + Send>>| {
            let running = Arc::clone(running);
            running.fetch_add(1, Ordering::SeqCst);
            let handle = tokio::spawn(async move {
                fut.await;
                running.fetch_sub(1, Ordering::SeqCst);
            });
            (name, handle)
        };
        let (reconciler, requests) = (self.reconciler.clone(), Arc::clone(&self.requests));
        let (interval, stop) = (self.reconcile_interval, shutdown.clone());
        let reconcile = async move {
            let mut requests = requests.lock().await;
            reconciler.run(interval, &mut requests, stop).await;
        };
        let mut tasks = vec![
            track(
                "inbox worker",
                Box::pin(self.worker.clone().run(shutdown.clone())),
            ),
            track(
                "outbox dispatcher",
                Box::pin(self.dispatcher.clone().run(shutdown.clone())),
            ),
            track("reconciler", Box::pin(reconcile)),
            track(
                "housekeeping",
                Box::pin(housekeeping(
                    self.db.clone(),
                    self.retention_days,
                    shutdown.clone(),
                )),
            ),
        ];
        for feed in self.trackers.feeds(&self.db, &self.contexts) {
            tasks.push(track(feed.name(), feed.run(shutdown.clone())));
        }
        tasks
    }
}

/// Hourly: prune the activity log, sent commands and processed events past retention.
async fn housekeeping(db: Db, days: u32, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let prune = async {
            Ok::<_, StoreError>((
                activity::prune_older_than(&db.pool, days).await?,
                outbox::prune_done_older_than(&db.pool, days).await?,
                inbox_work::prune_processed_older_than(&db.pool, days).await?,
            ))
        };
        // Pruning a large log can take a while; a stop does not wait for it (each delete is
        // its own statement, so stopping between them loses nothing).
        let pruned = tokio::select! {
            () = shutdown.cancelled() => return,
            pruned = prune => pruned,
        };
        match pruned {
            Ok((a, o, i)) if a + o + i > 0 => {
                tracing::info!(activity = a, outbox = o, inbox = i, "pruned old rows");
            }
            Ok(_) => {}
            Err(err) => tracing::warn!(error = %err, "pruning failed"),
        }
    }
}
