//! The worker's side of the `inbox` table. The worker is the only consumer in a process: it
//! reads every due event (to group a lead's events before deciding which are quiet, which is
//! how the debounce works), marks them done inside the decision transaction, and counts failed
//! attempts with a growing pause. The ingress side (the insert) lives in `store::inbox`.

use super::Exec;

use super::{StoreError, now_ms};

/// A stored webhook event, its body exactly as received and verified.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct InboxEvent {
    pub id: i64,
    /// `"trello"` or `"sheets"`.
    pub source: String,
    pub dedupe_key: String,
    pub pair: String,
    pub received_at: i64,
    /// The signed `webhook-timestamp` of an Apps Script event (unix seconds).
    pub signed_at: Option<i64>,
    pub body: Vec<u8>,
    /// Failed processing attempts so far.
    pub attempts: i64,
}

/// Inbox events due now (pending, or processing with an expired lease), oldest first. The
/// worker reads them all to group each lead's events before deciding which are ready.
pub async fn due_events(
    exec: impl Exec<'_>,
    now_ms: i64,
    limit: i64,
) -> Result<Vec<InboxEvent>, StoreError> {
    // A mirror's events are the mirror engine's (`due_mirror_events`).
    Ok(sqlx::query_as(
        "SELECT id, source, dedupe_key, pair, received_at, signed_at, body, attempts FROM inbox
         WHERE status IN ('pending', 'processing') AND next_attempt_at <= $1
           AND pair NOT IN (SELECT name FROM mirrors)
         ORDER BY id LIMIT $2",
    )
    .bind(now_ms)
    .bind(limit)
    .fetch_all(exec)
    .await?)
}

/// The mirrors' due events (the inbox rows whose `pair` is a mirror's name), oldest first.
pub async fn due_mirror_events(
    exec: impl Exec<'_>,
    now_ms: i64,
    limit: i64,
) -> Result<Vec<InboxEvent>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT id, source, dedupe_key, pair, received_at, signed_at, body, attempts FROM inbox
         WHERE status IN ('pending', 'processing') AND next_attempt_at <= $1
           AND pair IN (SELECT name FROM mirrors)
         ORDER BY id LIMIT $2",
    )
    .bind(now_ms)
    .bind(limit)
    .fetch_all(exec)
    .await?)
}

/// Marks an event processed, whether or not it was claimed.
pub async fn finish(exec: impl Exec<'_>, id: i64) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE inbox SET status = 'done', processed_at = $1, last_error = NULL
         WHERE id = $2 AND status IN ('pending', 'processing')",
    )
    .bind(now_ms())
    .bind(id)
    .execute(exec)
    .await?;
    Ok(())
}

/// Parks an event that cannot be processed (kept for inspection, never retried).
pub async fn fail(exec: impl Exec<'_>, id: i64, error: &str) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE inbox SET status = 'failed', last_error = $1, attempts = attempts + 1, processed_at = $2
         WHERE id = $3 AND status IN ('pending', 'processing')",
    )
    .bind(error)
    .bind(now_ms())
    .bind(id)
    .execute(exec)
    .await?;
    Ok(())
}

/// Counts a failed attempt at an event: due again after a pause growing with the attempts,
/// parked as `failed` once `max_attempts` is reached (reconciliation still repairs its effect).
pub async fn bump(
    exec: impl Exec<'_>,
    id: i64,
    error: &str,
    max_attempts: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE inbox SET attempts = attempts + 1, last_error = $1,
             status = CASE WHEN attempts + 1 >= $2 THEN 'failed' ELSE 'pending' END,
             next_attempt_at = $3 + 1000 * (CAST(1 AS BIGINT)
                 << CAST(CASE WHEN attempts < 10 THEN attempts ELSE 10 END AS INTEGER))
         WHERE id = $4 AND status IN ('pending', 'processing')",
    )
    .bind(error)
    .bind(max_attempts)
    .bind(now_ms())
    .bind(id)
    .execute(exec)
    .await?;
    Ok(())
}

/// Deletes processed (done or failed) events older than `days` days; returns how many. Their
/// dedupe keys go with them, so keep `days` well beyond the senders' redelivery windows.
pub async fn prune_processed_older_than(exec: impl Exec<'_>, days: u32) -> Result<u64, StoreError> {
    let cutoff = now_ms() - i64::from(days) * 86_400_000;
    let result =
        sqlx::query("DELETE FROM inbox WHERE status IN ('done', 'failed') AND processed_at < $1")
            .bind(cutoff)
            .execute(exec)
            .await?;
    Ok(result.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Db;
    use crate::store::testdb::temp_db;

    /// Stands in for the ingress insert (store::inbox), with a chosen arrival time.
    async fn received(db: &Db, pair: &str, key: &str, received_at: i64) -> i64 {
        sqlx::query_scalar(
            "INSERT INTO inbox (source, dedupe_key, pair, received_at, body, next_attempt_at)
             VALUES ('trello', $1, $2, $3, $4, $3) RETURNING id",
        )
        .bind(key)
        .bind(pair)
        .bind(received_at)
        .bind(format!("{{\"action\":\"{key}\"}}").into_bytes())
        .fetch_one(&db.pool)
        .await
        .expect("insert")
    }

    async fn status(db: &Db, id: i64) -> (String, i64, Option<String>) {
        sqlx::query_as("SELECT status, attempts, last_error FROM inbox WHERE id = $1")
            .bind(id)
            .fetch_one(&db.pool)
            .await
            .expect("status")
    }

    async fn due(db: &Db, now: i64) -> Vec<i64> {
        due_events(&db.pool, now, 10)
            .await
            .expect("due")
            .into_iter()
            .map(|e| e.id)
            .collect()
    }

    #[tokio::test]
    async fn due_events_come_in_arrival_order_and_done_ones_do_not_come_again() {
        let db = temp_db().await;
        let first = received(&db, "a", "x1", 100).await;
        let second = received(&db, "b", "x2", 200).await;
        let later = received(&db, "a", "x3", 5_000).await;
        assert_eq!(
            due(&db, 1_000).await,
            [first, second],
            "not yet due: {later}"
        );
        let mut tx = db.begin_write().await.expect("tx");
        finish(&mut *tx, first).await.expect("finish");
        tx.rollback().await.expect("rollback");
        assert_eq!(
            due(&db, 1_000).await,
            [first, second],
            "done only when its transaction commits"
        );
        finish(&db.pool, first).await.expect("finish");
        assert_eq!(due(&db, 10_000).await, [second, later]);
        assert_eq!(status(&db, first).await.0, "done");
    }

    #[tokio::test]
    async fn a_failed_attempt_pauses_the_event_and_the_last_one_parks_it() {
        let db = temp_db().await;
        let id = received(&db, "a", "x1", 0).await;
        bump(&db.pool, id, "database busy", 2).await.expect("bump");
        assert_eq!(
            status(&db, id).await,
            ("pending".into(), 1, Some("database busy".into()))
        );
        assert!(
            due(&db, now_ms()).await.is_empty(),
            "paused after a failure"
        );
        assert_eq!(due(&db, now_ms() + 60_000).await, [id]);
        bump(&db.pool, id, "still busy", 2).await.expect("bump");
        assert_eq!(
            status(&db, id).await,
            ("failed".into(), 2, Some("still busy".into()))
        );
        assert!(
            due(&db, now_ms() + 3_600_000).await.is_empty(),
            "parked for good"
        );
    }

    #[tokio::test]
    async fn an_event_that_cannot_be_read_is_failed_and_kept_for_inspection() {
        let db = temp_db().await;
        let id = received(&db, "a", "x1", 0).await;
        fail(&db.pool, id, "not a Trello action")
            .await
            .expect("fail");
        assert_eq!(
            status(&db, id).await,
            ("failed".into(), 1, Some("not a Trello action".into()))
        );
        assert!(due(&db, now_ms()).await.is_empty());
    }

    #[tokio::test]
    async fn pruning_deletes_old_processed_events_only() {
        let db = temp_db().await;
        let old = received(&db, "a", "x1", 0).await;
        let recent = received(&db, "a", "x2", 0).await;
        let waiting = received(&db, "a", "x3", 0).await;
        finish(&db.pool, old).await.expect("done");
        fail(&db.pool, recent, "bad").await.expect("failed");
        sqlx::query("UPDATE inbox SET processed_at = $1 WHERE id = $2")
            .bind(now_ms() - 8 * 86_400_000)
            .bind(old)
            .execute(&db.pool)
            .await
            .expect("age");
        assert_eq!(
            prune_processed_older_than(&db.pool, 7)
                .await
                .expect("prune"),
            1
        );
        let left: Vec<i64> = sqlx::query_scalar("SELECT id FROM inbox ORDER BY id")
            .fetch_all(&db.pool)
            .await
            .expect("ids");
        assert_eq!(left, [recent, waiting]);
    }
}
