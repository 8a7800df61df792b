//! Group commit for the inbox: one writer task takes verified events from a bounded queue and
//! commits whatever is waiting (up to a bound) in one `synchronous=FULL` transaction, then
//! answers each waiting request. An fsync per event capped ingest at a few thousand events a
//! second and made concurrent requests race for SQLite's one write lock; one commit per batch
//! costs one fsync for all of them. No request is answered before its event is durable: a
//! failed commit fails every request of its batch, and a full queue is refused at once.

use tokio::sync::{mpsc, oneshot};

use super::inbox::{Stored, insert_at};
use super::{Db, StoreError, now_ms};
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

struct Job {
    event: Verified<RawEvent>,
    pair: String,
    done: oneshot::Sender<Result<Stored, String>>,
}

/// The handle requests store through; cheap to clone.
#[derive(Clone, Debug)]
pub struct InboxWriter {
    jobs: mpsc::Sender<Job>,
    batches: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job").field("pair", &self.pair).finish()
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
        let (done, answer) = oneshot::channel();
        let job = Job {
            event,
            pair: pair.to_owned(),
            done,
        };
        self.jobs.try_send(job).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => WriteError::Full,
            mpsc::error::TrySendError::Closed(_) => WriteError::Stopped,
        })?;
        match answer.await {
            Ok(Ok(stored)) => Ok(stored),
            Ok(Err(text)) => Err(WriteError::Batch(text)),
            Err(_) => Err(WriteError::Stopped),
        }
    }
}

async fn run(
    db: Db,
    mut rx: mpsc::Receiver<Job>,
    max_batch: usize,
    batches: std::sync::Arc<std::sync::atomic::AtomicU64>,
) {
    let mut batch = Vec::with_capacity(max_batch);
    while rx.recv_many(&mut batch, max_batch).await > 0 {
        let results = commit(&db, &batch).await;
        metrics::histogram!("leadsync_inbox_commit_batch_size").record(batch.len() as f64);
        match results {
            Ok(stored) => {
                batches.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                for (job, s) in batch.drain(..).zip(stored) {
                    let _ = job.done.send(Ok(s));
                }
            }
            Err(err) => {
                let text = err.to_string();
                tracing::error!(error = %text, events = batch.len(), "inbox batch not stored");
                for job in batch.drain(..) {
                    let _ = job.done.send(Err(text.clone()));
                }
            }
        }
    }
}

/// One transaction for the whole batch: every event stored, or none.
async fn commit(db: &Db, batch: &[Job]) -> Result<Vec<Stored>, StoreError> {
    let received_at = now_ms();
    let mut tx = db.begin_write().await?;
    let mut out = Vec::with_capacity(batch.len());
    for job in batch {
        out.push(insert_at(&mut *tx, &job.event, &job.pair, received_at).await?);
    }
    tx.commit().await?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use axum::body::Bytes;
    use axum::http::HeaderMap;
    use secrecy::SecretString;

    use super::*;
    use crate::inbound::signature::{TrelloVerifier, Unverified};
    use crate::store::testdb::temp_db;

    const URL: &str = "http://127.0.0.1/webhooks/trello";

    fn verified(action_id: &str) -> Verified<RawEvent> {
        let verifier =
            TrelloVerifier::new(&SecretString::from("s3cret"), vec![URL.to_owned()]).unwrap();
        let body = format!(
            r#"{{"action":{{"id":"{action_id}","idMemberCreator":"m","type":"commentCard","date":"2026-11-21T10:15:02Z"}},"model":{{"id":"board-a"}}}}"#
        );
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-trello-webhook",
            verifier.sign(body.as_bytes(), URL).parse().unwrap(),
        );
        verifier
            .verify(&Unverified::new(headers, Bytes::from(body)))
            .unwrap()
    }

    /// Queues one store per key while the writer is not running yet; answers their tasks.
    async fn queue_all(
        writer: &InboxWriter,
        keys: &[&str],
    ) -> Vec<tokio::task::JoinHandle<Result<Stored, WriteError>>> {
        let tasks: Vec<_> = (keys.iter())
            .map(|k| {
                let (w, e) = (writer.clone(), verified(k));
                tokio::spawn(async move { w.store(e, "a").await })
            })
            .collect();
        for _ in 0..1000 {
            if writer.queued() == keys.len() {
                break;
            }
            tokio::task::yield_now().await;
        }
        assert_eq!(writer.queued(), keys.len(), "every store is queued");
        tasks
    }

    async fn stored(db: &Db) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM inbox")
            .fetch_one(&db.pool)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn waiting_events_are_committed_together_and_each_answered() {
        let db = temp_db().await;
        let (writer, task) = InboxWriter::new(db.db.clone(), 64, 256);
        let keys: Vec<String> = (0..20).map(|i| format!("act-{i}")).collect();
        let mut refs: Vec<&str> = keys.iter().map(String::as_str).collect();
        refs.push("act-3"); // the same delivery twice in one batch
        let tasks = queue_all(&writer, &refs).await;
        tokio::spawn(task);
        let mut new = 0;
        for t in tasks {
            match t.await.unwrap().unwrap() {
                Stored::New(_) => new += 1,
                Stored::Duplicate => {}
            }
        }
        assert_eq!(new, 20, "one of the two act-3 is a duplicate");
        assert_eq!(writer.batches_committed(), 1, "one transaction for all");
        assert_eq!(stored(&db).await, 20);
    }

    #[tokio::test]
    async fn a_failed_commit_fails_every_request_of_its_batch_and_stores_none() {
        let db = temp_db().await;
        // An insert that aborts: the batch's transaction cannot commit.
        sqlx::query(
            "CREATE TRIGGER refuse BEFORE INSERT ON inbox WHEN NEW.dedupe_key = 'boom'
             BEGIN SELECT RAISE(ABORT, 'disk says no'); END",
        )
        .execute(&db.pool)
        .await
        .unwrap();
        let (writer, task) = InboxWriter::new(db.db.clone(), 64, 256);
        let tasks = queue_all(&writer, &["ok-1", "boom", "ok-2", "ok-3"]).await;
        tokio::spawn(task);
        for t in tasks {
            let err = t
                .await
                .unwrap()
                .expect_err("no request of the batch succeeds");
            assert!(matches!(err, WriteError::Batch(_)), "{err}");
        }
        assert_eq!(stored(&db).await, 0, "nothing of the batch was stored");
        let after = writer.store(verified("ok-4"), "a").await.unwrap();
        assert!(matches!(after, Stored::New(_)), "the next batch is stored");
    }

    #[tokio::test]
    async fn a_full_queue_is_refused_at_once() {
        let db = temp_db().await;
        let (writer, task) = InboxWriter::new(db.db.clone(), 2, 256);
        let tasks = queue_all(&writer, &["a-1", "a-2"]).await;
        let refused = writer.store(verified("a-3"), "a").await;
        assert!(matches!(refused, Err(WriteError::Full)));
        tokio::spawn(task);
        for t in tasks {
            assert!(t.await.unwrap().is_ok());
        }
        assert_eq!(stored(&db).await, 2);
    }
}
