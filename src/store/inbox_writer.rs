//! Group commit for the inbox: one writer task takes verified events from a bounded queue and
//! commits whatever is waiting (up to a bound) in one `synchronous=FULL` transaction, then
//! answers each waiting request. An fsync per event capped ingest at a few thousand events a
//! second and made concurrent requests race for SQLite's one write lock; one commit per batch
//! costs one fsync for all of them. No request is answered before its event is durable: a
//! failed commit fails every request of its batch, and a full queue is refused at once.

use std::collections::HashMap;
use std::time::Duration;

use sqlx::pool::PoolConnection;
use sqlx::{Sqlite, SqliteConnection};
use tokio::sync::{mpsc, oneshot};

use super::inbox::Stored;
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
async fn commit(conn: &mut SqliteConnection, batch: &[Job]) -> Result<Vec<Stored>, StoreError> {
    let received_at = now_ms();
    let mut sql = String::with_capacity(
        INSERT_HEAD.len() + batch.len() * (INSERT_ROW.len() + 1) + INSERT_TAIL.len(),
    );
    sql.push_str(INSERT_HEAD);
    for i in 0..batch.len() {
        if i > 0 {
            sql.push(',');
        }
        sql.push_str(INSERT_ROW);
    }
    sql.push_str(INSERT_TAIL);
    // Not kept prepared: each batch size would be another statement in every cache.
    let mut query =
        sqlx::query_as::<_, (String, String, i64)>(sqlx::AssertSqlSafe(sql)).persistent(false);
    for job in batch {
        let event = &job.event;
        query = query
            .bind(event.source.as_str())
            .bind(event.dedupe_key.as_str())
            .bind(job.pair.as_str())
            .bind(received_at)
            .bind(event.body.as_ref())
            .bind(received_at)
            .bind(event.signed_at);
    }
    let mut new: HashMap<(String, String), i64> = (query.fetch_all(&mut *conn).await?)
        .into_iter()
        .map(|(source, key, id)| ((source, key), id))
        .collect();
    Ok(batch
        .iter()
        .map(|job| {
            let key = (
                job.event.source.as_str().to_owned(),
                job.event.dedupe_key.clone(),
            );
            new.remove(&key).map_or(Stored::Duplicate, Stored::New)
        })
        .collect())
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

    fn sheet_event(id: &str) -> Verified<RawEvent> {
        use crate::inbound::signature::{SheetsVerifier, StandardWebhooksKey};
        let secret = SecretString::from("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        let key = StandardWebhooksKey::from_secret(&secret).unwrap();
        let body = r#"{"spreadsheet_id":"s","sheet":"Leads","kind":"change","edited_at":"2026-11-21T10:15:02Z"}"#;
        let ts = 1_800_000_000;
        let mut headers = HeaderMap::new();
        headers.insert("webhook-id", id.parse().unwrap());
        headers.insert("webhook-timestamp", ts.into());
        let signature = key.sign(id, ts, body.as_bytes());
        headers.insert("webhook-signature", signature.parse().unwrap());
        let request = Unverified::new(headers, Bytes::from(body));
        SheetsVerifier::new(key, 300).verify(&request, ts).unwrap()
    }

    #[tokio::test]
    async fn each_request_of_a_batch_gets_its_own_row_or_duplicate_by_source_and_key() {
        let db = temp_db().await;
        crate::store::inbox::insert(&db.db, &verified("old"), "a")
            .await
            .unwrap();
        let (writer, task) = InboxWriter::new(db.db.clone(), 64, 256);
        let events = [
            verified("old"),
            verified("k"),
            sheet_event("k"), // the same key from another source is another event
            verified("k"),
        ];
        let tasks: Vec<_> = (events.into_iter())
            .map(|e| {
                let w = writer.clone();
                tokio::spawn(async move { w.store(e, "a").await.unwrap() })
            })
            .collect();
        for _ in 0..1000 {
            if writer.queued() == 4 {
                break;
            }
            tokio::task::yield_now().await;
        }
        assert_eq!(writer.queued(), 4, "every store is queued");
        tokio::spawn(task);
        let mut answers = Vec::new();
        for t in tasks {
            answers.push(t.await.unwrap());
        }
        let rows: Vec<(i64, String, String)> =
            sqlx::query_as("SELECT id, source, dedupe_key FROM inbox ORDER BY id")
                .fetch_all(&db.pool)
                .await
                .unwrap();
        let id_of = |source: &str, key: &str| {
            let row = rows.iter().find(|r| r.1 == source && r.2 == key).unwrap();
            Stored::New(row.0)
        };
        assert_eq!(rows.len(), 3, "{rows:?}");
        assert_eq!(writer.batches_committed(), 1, "one statement for the four");
        assert_eq!(answers[0], Stored::Duplicate, "stored by an earlier batch");
        let trello_k = [answers[1], answers[3]];
        assert!(
            trello_k == [id_of("trello", "k"), Stored::Duplicate]
                || trello_k == [Stored::Duplicate, id_of("trello", "k")],
            "one of the two is the row, the other a duplicate: {trello_k:?}"
        );
        assert_eq!(answers[2], id_of("sheets", "k"));
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
