//! The running engine: resolves the pairs, then runs the inbox worker, the outbox dispatcher,
//! the reconciler and the housekeeping loop until shutdown. `EngineHandle` is what the HTTP
//! side sees of it.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::clients::airtable::AirtableClient;
use crate::clients::build::{sheets_client, trello_client};
use crate::clients::http::ClientError;
use crate::clients::sheets::SheetsClient;
use crate::clients::trello::TrelloClient;
use crate::config::Settings;
use crate::shutdown::NamedTask;
use crate::store::{Db, StoreError, activity, inbox_work, outbox};
use crate::sync::context::PairContext;
use crate::sync::fetch::Fetcher;
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

/// Worker, dispatcher, reconciler, housekeeping (and the fetcher, with Airtable pairs).
const TASKS: usize = 4;

/// A built engine, not yet running.
pub struct Engine {
    pub contexts: HashMap<String, Arc<PairContext>>,
    pub reconciler: Reconciler,
    pub worker: Worker,
    pub dispatcher: Dispatcher,
    /// Reads Airtable's change feeds; `None` without Airtable pairs.
    pub fetcher: Option<Fetcher>,
    requests: mpsc::UnboundedReceiver<String>,
    handle: EngineHandle,
    running: Arc<AtomicUsize>,
    reconcile_interval: Duration,
    retention_days: u32,
    db: Db,
}

impl Engine {
    /// Builds the clients from the settings and resolves every pair (fails naming what is missing).
    pub async fn build(settings: &Settings, db: Db) -> Result<Self, EngineError> {
        let trello = trello_client(settings)?;
        let sheets = sheets_client(settings)?;
        let airtable = airtable_client(settings)?;
        Self::build_with(settings, db, trello, sheets, airtable).await
    }

    /// As `build`, with clients made by the caller (the demo and tests set their own limits).
    pub async fn build_with(
        settings: &Settings,
        db: Db,
        trello: TrelloClient,
        sheets: SheetsClient,
        airtable: Option<AirtableClient>,
    ) -> Result<Self, EngineError> {
        let contexts = resolve_pairs(settings, &db, &trello, &sheets, airtable.as_ref()).await?;
        let (requests_tx, requests) = mpsc::unbounded_channel();
        let running = Arc::new(AtomicUsize::new(0));
        let fetcher = (airtable.clone())
            .filter(|_| uses_airtable(settings))
            .map(|client| Fetcher::new(db.clone(), client, contexts.clone()));
        let tasks = TASKS + usize::from(fetcher.is_some());
        let handle = EngineHandle::new(requests_tx.clone(), Arc::clone(&running), tasks);
        let reconciler = Reconciler::new(
            db.clone(),
            trello.clone(),
            sheets.clone(),
            contexts.clone(),
            settings.sync.on_row_deleted,
            settings.sync.activity_retention_days,
        )
        .with_airtable(airtable.clone());
        let worker = Worker::new(
            db.clone(),
            contexts.clone(),
            Duration::from_millis(settings.sync.debounce_ms),
            Some(requests_tx.clone()),
        );
        let dispatcher = Dispatcher::new(db.clone(), trello, sheets, contexts.values().cloned());
        let dispatcher = match airtable.clone() {
            Some(client) => dispatcher.with_airtable(client),
            None => dispatcher,
        };
        Ok(Self {
            contexts,
            reconciler,
            worker,
            dispatcher,
            fetcher,
            requests,
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
    /// `shutdown` is cancelled, also from inside their waits and outbound calls.
    pub fn spawn(self, shutdown: &CancellationToken) -> Vec<NamedTask> {
        let running = self.running;
        let track = |name: &'static str,
                     fut: std::pin::Pin<Box<dyn Future<Output = ()> + Send>>| {
            let running = Arc::clone(&running);
            running.fetch_add(1, Ordering::SeqCst);
            let handle = tokio::spawn(async move {
                fut.await;
                running.fetch_sub(1, Ordering::SeqCst);
            });
            (name, handle)
        };
        let mut tasks = vec![
            track("inbox worker", Box::pin(self.worker.run(shutdown.clone()))),
            track(
                "outbox dispatcher",
                Box::pin(self.dispatcher.run(shutdown.clone())),
            ),
            track(
                "reconciler",
                Box::pin(self.reconciler.run(
                    self.reconcile_interval,
                    self.requests,
                    shutdown.clone(),
                )),
            ),
            track(
                "housekeeping",
                Box::pin(housekeeping(self.db, self.retention_days, shutdown.clone())),
            ),
        ];
        if let Some(fetcher) = self.fetcher {
            tasks.push(track(
                "change feed fetcher",
                Box::pin(fetcher.run(shutdown.clone())),
            ));
        }
        tasks
    }
}

/// True when a pair keeps its leads in Airtable.
fn uses_airtable(settings: &Settings) -> bool {
    (settings.pairs.iter()).any(|p| p.tracker == crate::model::TrackerKind::Airtable)
}

/// The Airtable client of the settings; `None` without Airtable pairs.
pub fn airtable_client(settings: &Settings) -> Result<Option<AirtableClient>, ClientError> {
    match uses_airtable(settings) {
        true => crate::clients::build::airtable_client(settings).map(Some),
        false => Ok(None),
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
