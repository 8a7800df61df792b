//! The group commit: events and pings waiting together commit in one transaction, a failed
//! commit fails every request of its batch, a full queue is refused at once, and another
//! connection's write lock is waited out by the writer itself, up to its bound.

use axum::body::Bytes;
use axum::http::HeaderMap;
use secrecy::SecretString;

use super::*;
use crate::inbound::signature::Unverified;
use crate::store::testdb::{temp_db, temp_sqlite_db, verified_trello as verified};

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

/// An insert of the event keyed `boom` aborts: its batch's transaction cannot commit.
async fn refuse_boom(db: &Db) {
    sqlx::query(
        "CREATE TRIGGER refuse BEFORE INSERT ON inbox WHEN NEW.dedupe_key = 'boom'
         BEGIN SELECT RAISE(ABORT, 'disk says no'); END",
    )
    .execute(&db.pool)
    .await
    .unwrap();
}

#[tokio::test]
async fn a_failed_commit_fails_every_request_of_its_batch_and_stores_none() {
    let db = temp_sqlite_db().await;
    refuse_boom(&db).await;
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

async fn with_webhook(db: &Db) {
    let hook = crate::store::tracker_webhooks::NewTrackerWebhook {
        connector: "airtable".into(),
        id: "ach1".into(),
        pair: "a".into(),
        base_id: "app1".into(),
        notification_url: "http://127.0.0.1/webhooks/airtable".into(),
        mac_secret: "c2VjcmV0".into(),
        expires_at: None,
    };
    tracker_webhooks::insert(&db.pool, &hook).await.unwrap();
}

async fn pinged(db: &Db) -> i64 {
    sqlx::query_scalar("SELECT pinged FROM tracker_webhooks")
        .fetch_one(&db.pool)
        .await
        .unwrap()
}

/// Queues pings of `hook` behind the events already queued; answers their tasks.
async fn queue_pings(
    writer: &InboxWriter,
    hooks: &[&str],
) -> Vec<tokio::task::JoinHandle<Result<bool, WriteError>>> {
    let before = writer.queued();
    let tasks: Vec<_> = (hooks.iter())
        .map(|h| {
            let (w, h) = (writer.clone(), (*h).to_owned());
            tokio::spawn(async move { w.ping("airtable", &h).await })
        })
        .collect();
    for _ in 0..1000 {
        if writer.queued() == before + hooks.len() {
            break;
        }
        tokio::task::yield_now().await;
    }
    assert_eq!(
        writer.queued(),
        before + hooks.len(),
        "every ping is queued"
    );
    tasks
}

#[tokio::test]
async fn pings_are_committed_in_the_batch_of_the_events_waiting_with_them() {
    let db = temp_db().await;
    with_webhook(&db).await;
    let (writer, task) = InboxWriter::new(db.db.clone(), 64, 256);
    let events = queue_all(&writer, &["act-1", "act-2"]).await;
    let pings = queue_pings(&writer, &["ach1", "ach1", "achGone"]).await;
    tokio::spawn(task);
    let mut answers = Vec::new();
    for t in pings {
        answers.push(t.await.unwrap().unwrap());
    }
    assert_eq!(
        answers,
        [true, true, false],
        "an unknown webhook is said so"
    );
    for t in events {
        assert!(matches!(t.await.unwrap().unwrap(), Stored::New(_)));
    }
    assert_eq!(writer.batches_committed(), 1, "one transaction for all");
    assert_eq!(pinged(&db).await, 2, "each ping counts");
}

#[tokio::test]
async fn a_failed_commit_fails_the_pings_of_its_batch_and_counts_none() {
    let db = temp_sqlite_db().await;
    with_webhook(&db).await;
    refuse_boom(&db).await;
    let (writer, task) = InboxWriter::new(db.db.clone(), 64, 256);
    let events = queue_all(&writer, &["boom"]).await;
    let pings = queue_pings(&writer, &["ach1"]).await;
    tokio::spawn(task);
    for t in pings {
        let err = t.await.unwrap().expect_err("the batch failed");
        assert!(matches!(err, WriteError::Batch(_)), "{err}");
    }
    for t in events {
        assert!(t.await.unwrap().is_err(), "the event that failed it");
    }
    assert_eq!(pinged(&db).await, 0, "the count rolled back with the batch");
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

/// Another connection's write transaction, open until `release`.
async fn hold_write_lock(db: &Db) -> crate::store::PoolConn {
    let mut holder = db.pool.acquire().await.unwrap();
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut *holder)
        .await
        .unwrap();
    holder
}

async fn release(mut holder: crate::store::PoolConn) {
    sqlx::query("ROLLBACK").execute(&mut *holder).await.unwrap();
}

#[tokio::test]
async fn a_lock_held_elsewhere_is_waited_out_by_the_writer_and_nothing_answered_before_its_commit()
{
    let db = temp_sqlite_db().await;
    let holder = hold_write_lock(&db).await;
    let (writer, task) =
        InboxWriter::with_busy_bound(db.db.clone(), 64, 256, Duration::from_secs(60));
    let tasks = queue_all(&writer, &["w-1", "w-2", "w-3"]).await;
    tokio::spawn(task);
    // The writer's connection has no busy handler: the writer itself tries again, many times
    // past the moment SQLite's handler would have been asked.
    for _ in 0..60_000 {
        if writer.busy_retries() >= 20 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    assert!(writer.busy_retries() >= 20, "the writer kept trying");
    assert!(tasks.iter().all(|t| !t.is_finished()), "none answered yet");
    assert_eq!(stored(&db).await, 0);
    release(holder).await;
    for t in tasks {
        let answer = t.await.unwrap().expect("stored once the lock is free");
        assert!(matches!(answer, Stored::New(_)), "{answer:?}");
    }
    assert_eq!(stored(&db).await, 3);
    assert_eq!(writer.batches_committed(), 1, "one transaction, once");
}

#[tokio::test]
async fn a_lock_held_past_the_bound_fails_every_request_of_the_batch_and_stores_none() {
    let db = temp_sqlite_db().await;
    with_webhook(&db).await;
    let holder = hold_write_lock(&db).await;
    let (writer, task) =
        InboxWriter::with_busy_bound(db.db.clone(), 64, 256, Duration::from_millis(50));
    let events = queue_all(&writer, &["x-1", "x-2"]).await;
    let pings = queue_pings(&writer, &["ach1"]).await;
    tokio::spawn(task);
    for t in events {
        let err = t.await.unwrap().expect_err("not stored");
        assert!(matches!(err, WriteError::Batch(_)), "{err}");
        assert!(err.to_string().contains("locked"), "names the lock: {err}");
    }
    for t in pings {
        assert!(t.await.unwrap().is_err(), "the ping of the batch fails too");
    }
    assert!(writer.busy_retries() > 0);
    release(holder).await;
    assert_eq!(stored(&db).await, 0, "nothing of the batch was stored");
    assert_eq!(pinged(&db).await, 0, "nor counted");
    let after = writer.store(verified("x-3"), "a").await.unwrap();
    assert!(matches!(after, Stored::New(_)), "the next batch is stored");
}

#[tokio::test]
async fn only_a_held_lock_counts_as_busy() {
    let db = temp_sqlite_db().await;
    let holder = hold_write_lock(&db).await;
    let mut own = db.connect_without_busy_wait().await.unwrap();
    let busy_ms: i64 = sqlx::query_scalar("PRAGMA busy_timeout")
        .fetch_one(&mut own)
        .await
        .unwrap();
    assert_eq!(busy_ms, 0, "no busy handler on the writer's connection");
    let sync: i64 = sqlx::query_scalar("PRAGMA synchronous")
        .fetch_one(&mut own)
        .await
        .unwrap();
    assert_eq!(
        sync, 2,
        "and commits as durably as the pool's: synchronous=FULL"
    );
    let locked = insert_events(&mut own, &[(&verified("b-1"), "a")]).await;
    let err = locked.expect_err("the lock is held");
    assert!(busy::is_busy(&err), "{err}");
    release(holder).await;
    refuse_boom(&db).await;
    let refused = insert_events(&mut own, &[(&verified("boom"), "a")]).await;
    let err = refused.expect_err("the trigger refuses it");
    assert!(!busy::is_busy(&err), "a failed statement is no lock: {err}");
}
