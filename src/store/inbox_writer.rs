//! Group commit for the inbox: one writer task takes verified events from a bounded queue and
//! commits whatever is waiting (up to a bound) in one `synchronous=FULL` transaction, then
//! answers each waiting request. An fsync per event capped ingest at a few thousand events a
//! second and made concurrent requests race for SQLite's one write lock; one commit per batch
//! costs one fsync for all of them. No request is answered before its event is durable: a
//! failed commit fails every request of its batch, and a full queue is refused at once.
//!
//! A tracker's ping ("my change feed has news", Airtable's notification) travels the same way.
//! It is no inbox event: it carries no change (the feed is read by cursor later), so it raises
//! its webhook's ping counter instead of adding a row. But it is acknowledged on the same terms
//! as an event (once durable, 503 when the queue is full or the commit fails), so it is
//! committed in the same batches.

mod busy;
mod insert;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sqlx::Connection;
use tokio::sync::{mpsc, oneshot};

use super::inbox::Stored;
use super::{Conn, Db, Dialect, StoreError, tracker_webhooks};
use crate::inbound::signature::{RawEvent, Verified};
use insert::insert_events;

/// Events queued for the writer, at most; past it a request is refused (503), not queued.
pub const QUEUE: usize = 4096;
/// Events per transaction, at most: enough to amortise the fsync, short enough that the
/// lock is held for milliseconds.
pub const MAX_BATCH: usize = 256;

/// Why an event was not stored.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The queue is full: the sender should retry shortly.
    #[error("the inbox writer's queue is full")]
    Full,
    /// The writer has stopped (shutdown).
    #[error("the inbox writer has stopped")]
    Stopped,
    /// The batch's transaction failed; nothing of it was stored.
    #[error("the inbox batch was not stored: {0}")]
    Batch(String),
}

/// What a request asks the writer to commit.
enum Work {
    /// A verified event, stored in the inbox for its pair. Boxed: an event (headers and body)
    /// is many times a ping's size, and the queue holds up to [`QUEUE`] jobs.
    Event {
        event: Box<Verified<RawEvent>>,
        pair: String,
    },
    /// A verified ping of a tracker webhook, counted on it.
    Ping { connector: String, webhook: String },
}

/// What the writer did for one request: the event's row, or whether the pinged webhook is
/// known (`false`: it was deleted since the door read it).
#[derive(Debug)]
enum Answer {
    Stored(Stored),
    Pinged(bool),
}

struct Job {
    work: Work,
    done: oneshot::Sender<Result<Answer, String>>,
}

/// The handle requests store through; cheap to clone.
#[derive(Clone, Debug)]
pub struct InboxWriter {
    jobs: mpsc::Sender<Job>,
    counts: Arc<Counts>,
}

/// What the writer has done, for tests and benchmarks.
#[derive(Debug, Default)]
struct Counts {
    /// Transactions committed.
    batches: AtomicU64,
    /// Tries sent again because another connection held the write lock.
    busy_retries: AtomicU64,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.work {
            Work::Event { pair, .. } => f.debug_struct("Event").field("pair", pair).finish(),
            Work::Ping { webhook, .. } => f.debug_struct("Ping").field("webhook", webhook).finish(),
        }
    }
}

impl InboxWriter {
    /// Starts the writer task on `db`; it ends when every handle is dropped.
    pub fn spawn(db: Db) -> Self {
        let (writer, task) = Self::new(db, QUEUE, MAX_BATCH);
        tokio::spawn(task);
        writer
    }

    /// The handle and the writer's loop, not yet running (tests queue before it starts).
    pub fn new(
        db: Db,
        queue: usize,
        max_batch: usize,
    ) -> (Self, impl Future<Output = ()> + Send + 'static) {
        Self::with_busy_bound(db, queue, max_batch, busy::BUSY_BOUND)
    }

    /// As [`InboxWriter::new`], with a batch failing once it has waited `busy_bound` for
    /// another connection's write lock.
    pub fn with_busy_bound(
        db: Db,
        queue: usize,
        max_batch: usize,
        busy_bound: Duration,
    ) -> (Self, impl Future<Output = ()> + Send + 'static) {
        let (jobs, rx) = mpsc::channel(queue.max(1));
        let counts = Arc::default();
        let limits = Limits {
            max_batch: max_batch.max(1),
            busy_bound,
        };
        let task = run(db, rx, limits, Arc::clone(&counts));
        (Self { jobs, counts }, task)
    }

    /// Events waiting for the writer.
    pub fn queued(&self) -> usize {
        self.jobs.max_capacity() - self.jobs.capacity()
    }

    /// Transactions committed so far.
    pub fn batches_committed(&self) -> u64 {
        self.counts.batches.load(Ordering::Relaxed)
    }

    /// Statements sent again so far because another connection held the write lock.
    pub fn busy_retries(&self) -> u64 {
        self.counts.busy_retries.load(Ordering::Relaxed)
    }

    /// Stores `event` for `pair`; answers once it is committed (or is a duplicate).
    pub async fn store(&self, event: Verified<RawEvent>, pair: &str) -> Result<Stored, WriteError> {
        let (event, pair) = (Box::new(event), pair.to_owned());
        match self.submit(Work::Event { event, pair }).await? {
            Answer::Stored(stored) => Ok(stored),
            other => Err(WriteError::Batch(format!("an event answered {other:?}"))),
        }
    }

    /// Counts a verified ping of `connector`'s webhook `webhook`; answers once the count is
    /// committed, `false` when no such webhook is stored.
    pub async fn ping(&self, connector: &str, webhook: &str) -> Result<bool, WriteError> {
        let work = Work::Ping {
            connector: connector.to_owned(),
            webhook: webhook.to_owned(),
        };
        match self.submit(work).await? {
            Answer::Pinged(known) => Ok(known),
            other => Err(WriteError::Batch(format!("a ping answered {other:?}"))),
        }
    }

    /// Queues `work` (refused at once when the queue is full) and waits for its batch's commit.
    async fn submit(&self, work: Work) -> Result<Answer, WriteError> {
        let (done, answer) = oneshot::channel();
        self.jobs
            .try_send(Job { work, done })
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => WriteError::Full,
                mpsc::error::TrySendError::Closed(_) => WriteError::Stopped,
            })?;
        match answer.await {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(text)) => Err(WriteError::Batch(text)),
            Err(_) => Err(WriteError::Stopped),
        }
    }
}

/// How long the writer keeps its connection after the queue runs dry. Under load it is held
/// across batches; idle, it is closed.
const LINGER: Duration = Duration::from_secs(1);

/// What bounds a batch: its size, and how long it may wait for the write lock.
#[derive(Debug, Clone, Copy)]
struct Limits {
    max_batch: usize,
    busy_bound: Duration,
}

async fn run(db: Db, mut rx: mpsc::Receiver<Job>, limits: Limits, counts: Arc<Counts>) {
    let mut batch = Vec::with_capacity(limits.max_batch);
    // Its own connection, not the pool's: it must not wait in SQLite's busy handler.
    let mut held: Option<Conn> = None;
    loop {
        let received = if held.is_some() {
            match tokio::time::timeout(LINGER, rx.recv_many(&mut batch, limits.max_batch)).await {
                Ok(n) => n,
                Err(_) => {
                    close(held.take()).await;
                    continue;
                }
            }
        } else {
            rx.recv_many(&mut batch, limits.max_batch).await
        };
        if received == 0 {
            break;
        }
        let results = commit_waiting(&db, &mut held, &mut rx, &mut batch, limits, &counts).await;
        metrics::histogram!("leadsync_inbox_commit_batch_size").record(batch.len() as f64);
        match results {
            Ok(stored) => {
                counts.batches.fetch_add(1, Ordering::Relaxed);
                for (job, s) in batch.drain(..).zip(stored) {
                    let _ = job.done.send(Ok(s));
                }
            }
            Err(err) => {
                // A connection that failed may be broken: the next batch opens another.
                close(held.take()).await;
                let text = err.to_string();
                tracing::error!(error = %text, events = batch.len(), "inbox batch not stored");
                for job in batch.drain(..) {
                    let _ = job.done.send(Err(text.clone()));
                }
            }
        }
    }
    close(held).await;
}

/// Closes the writer's connection, politely but not at any cost: a connection to a server that
/// went silent would never answer the goodbye, and the writer must go on to the next batch.
async fn close(conn: Option<Conn>) {
    if let Some(conn) = conn {
        let _ = tokio::time::timeout(CLOSE_BOUND, conn.close()).await;
    }
}

const CLOSE_BOUND: Duration = Duration::from_secs(1);

/// Commits `batch`, trying again while another connection holds the write lock (up to the
/// bound). Requests that arrive meanwhile join the batch: they are committed with it, not
/// after it. A busy statement changed nothing, so a try is all of the batch or none of it.
async fn commit_waiting(
    db: &Db,
    held: &mut Option<Conn>,
    rx: &mut mpsc::Receiver<Job>,
    batch: &mut Vec<Job>,
    limits: Limits,
    counts: &Counts,
) -> Result<Vec<Answer>, StoreError> {
    let mut wait = busy::Wait::new(limits.busy_bound);
    loop {
        let conn = match held {
            Some(conn) => conn,
            None => held.insert(db.connect_without_busy_wait().await?),
        };
        let started = std::time::Instant::now();
        let result = bounded(db.dialect(), commit(conn, db.dialect(), batch)).await;
        if result.is_ok() {
            // The try that went through: the statement (or transaction) and its fsync.
            metrics::histogram!("leadsync_inbox_commit_seconds")
                .record(started.elapsed().as_secs_f64());
        }
        match result {
            Err(err) if busy::is_busy(&err) && wait.pause().await => {
                counts.busy_retries.fetch_add(1, Ordering::Relaxed);
                while batch.len() < limits.max_batch {
                    match rx.try_recv() {
                        Ok(job) => batch.push(job),
                        Err(_) => break,
                    }
                }
            }
            other => {
                wait.done();
                return other;
            }
        }
    }
}

/// On PostgreSQL, a try that has not answered within [`busy::BUSY_BOUND`] fails (its webhooks
/// answer 503): a server behind a dead link never answers, and nothing else would end the wait.
/// Whether it committed is then unknown, so the senders retry and a repeat is a duplicate.
/// SQLite's statements run on its own file and end on their own (a lock wait is `busy`'s).
async fn bounded<T>(
    dialect: Dialect,
    commit: impl Future<Output = Result<T, StoreError>>,
) -> Result<T, StoreError> {
    if dialect == Dialect::Sqlite {
        return commit.await;
    }
    match tokio::time::timeout(busy::BUSY_BOUND, commit).await {
        Ok(result) => result,
        Err(_) => Err(StoreError::Sqlx(sqlx::Error::Io(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "the database did not answer the inbox batch in time",
        )))),
    }
}

/// The batch committed: its events in one statement (see `insert_events`); a batch with pings
/// adds their counts in the same write transaction, every event stored and every
/// ping counted, or none.
async fn commit(
    conn: &mut Conn,
    dialect: Dialect,
    batch: &[Job],
) -> Result<Vec<Answer>, StoreError> {
    let events: Vec<(&Verified<RawEvent>, &str)> = (batch.iter())
        .filter_map(|job| match &job.work {
            Work::Event { event, pair } => Some((&**event, pair.as_str())),
            Work::Ping { .. } => None,
        })
        .collect();
    if events.len() == batch.len() {
        let stored = insert_events(conn, &events).await?;
        return Ok(stored.into_iter().map(Answer::Stored).collect());
    }
    let mut tx = conn.begin_with(dialect.begin_write()).await?;
    let mut stored = insert_events(&mut tx, &events).await?.into_iter();
    let mut out = Vec::with_capacity(batch.len());
    for job in batch {
        out.push(match &job.work {
            Work::Event { .. } => Answer::Stored(stored.next().unwrap_or(Stored::Duplicate)),
            Work::Ping { connector, webhook } => {
                Answer::Pinged(tracker_webhooks::ping(&mut *tx, connector, webhook).await?)
            }
        });
    }
    tx.commit().await?;
    Ok(out)
}

#[cfg(test)]
mod tests;
