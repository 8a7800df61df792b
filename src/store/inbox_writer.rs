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

use std::collections::HashMap;
use std::time::Duration;

use sqlx::pool::PoolConnection;
use sqlx::{Connection, Sqlite, SqliteConnection};
use tokio::sync::{mpsc, oneshot};

use super::inbox::Stored;
use super::{Db, StoreError, now_ms, tracker_webhooks};
use crate::inbound::signature::{RawEvent, Verified};

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
    batches: std::sync::Arc<std::sync::atomic::AtomicU64>,
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
        let (jobs, rx) = mpsc::channel(queue.max(1));
        let batches = std::sync::Arc::default();
        let task = run(db, rx, max_batch.max(1), std::sync::Arc::clone(&batches));
        (Self { jobs, batches }, task)
    }

    /// Events waiting for the writer.
    pub fn queued(&self) -> usize {
        self.jobs.max_capacity() - self.jobs.capacity()
    }

    /// Transactions committed so far.
    pub fn batches_committed(&self) -> u64 {
        self.batches.load(std::sync::atomic::Ordering::Relaxed)
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
/// across batches (the pool checks a connection with a round trip on every acquire); idle, it
/// goes back to the pool, which can then close without waiting for it.
const LINGER: Duration = Duration::from_secs(1);

async fn run(
    db: Db,
    mut rx: mpsc::Receiver<Job>,
    max_batch: usize,
    batches: std::sync::Arc<std::sync::atomic::AtomicU64>,
) {
    let mut batch = Vec::with_capacity(max_batch);
    let mut held: Option<PoolConnection<Sqlite>> = None;
    loop {
        let received = if held.is_some() {
            match tokio::time::timeout(LINGER, rx.recv_many(&mut batch, max_batch)).await {
                Ok(n) => n,
                Err(_) => {
                    held = None;
                    continue;
                }
            }
        } else {
            rx.recv_many(&mut batch, max_batch).await
        };
        if received == 0 {
            break;
        }
        let results = match held.as_mut() {
            Some(conn) => commit(conn, &batch).await,
            None => match db.pool.acquire().await {
                Ok(conn) => commit(held.insert(conn), &batch).await,
                Err(err) => Err(err.into()),
            },
        };
        metrics::histogram!("leadsync_inbox_commit_batch_size").record(batch.len() as f64);
        match results {
            Ok(stored) => {
                batches.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                for (job, s) in batch.drain(..).zip(stored) {
                    let _ = job.done.send(Ok(s));
                }
            }
            Err(err) => {
                // A connection that failed may be broken: the next batch takes another.
                held = None;
                let text = err.to_string();
                tracing::error!(error = %text, events = batch.len(), "inbox batch not stored");
                for job in batch.drain(..) {
                    let _ = job.done.send(Err(text.clone()));
                }
            }
        }
    }
}

/// The batch committed: its events in one statement (see `insert_events`); a batch with pings
/// adds their counts in the same `BEGIN IMMEDIATE` transaction, every event stored and every
/// ping counted, or none.
async fn commit(conn: &mut SqliteConnection, batch: &[Job]) -> Result<Vec<Answer>, StoreError> {
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
    let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
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

const INSERT_HEAD: &str = "INSERT INTO inbox
    (source, dedupe_key, pair, received_at, body, next_attempt_at, signed_at) VALUES ";
const INSERT_ROW: &str = "(?, ?, ?, ?, ?, ?, ?)";
const INSERT_TAIL: &str = " ON CONFLICT (source, dedupe_key) DO NOTHING
    RETURNING source, dedupe_key, id";

/// The whole batch in one `INSERT` statement. Outside an explicit transaction a statement is
/// its own transaction, so every event is stored or none, committed (`synchronous=FULL`)
/// before the statement reports done; and it is one round trip to SQLite's thread, not one
/// per event plus `BEGIN` and `COMMIT` (each a thread hand-off that a profile showed costing
/// as much as the inserts). Like the single insert, the first of two events with one key is
/// stored and the other is a duplicate.
async fn insert_events(
    conn: &mut SqliteConnection,
    events: &[(&Verified<RawEvent>, &str)],
) -> Result<Vec<Stored>, StoreError> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    let received_at = now_ms();
    let mut sql = String::with_capacity(
        INSERT_HEAD.len() + events.len() * (INSERT_ROW.len() + 1) + INSERT_TAIL.len(),
    );
    sql.push_str(INSERT_HEAD);
    for i in 0..events.len() {
        if i > 0 {
            sql.push(',');
        }
        sql.push_str(INSERT_ROW);
    }
    sql.push_str(INSERT_TAIL);
    // Not kept prepared: each batch size would be another statement in every cache.
    let mut query =
        sqlx::query_as::<_, (String, String, i64)>(sqlx::AssertSqlSafe(sql)).persistent(false);
    for (event, pair) in events {
        query = query
            .bind(event.source.as_str())
            .bind(event.dedupe_key.as_str())
            .bind(*pair)
            .bind(received_at)
            .bind(event.body.as_ref())
            .bind(received_at)
            .bind(event.signed_at);
    }
    let mut new: HashMap<(String, String), i64> = (query.fetch_all(&mut *conn).await?)
        .into_iter()
        .map(|(source, key, id)| ((source, key), id))
        .collect();
    Ok(events
        .iter()
        .map(|(event, _)| {
            let key = (event.source.as_str().to_owned(), event.dedupe_key.clone());
            new.remove(&key).map_or(Stored::Duplicate, Stored::New)
        })
        .collect())
}

#[cfg(test)]
mod tests;
