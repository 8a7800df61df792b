//! The worker's side of the `inbox` table: claim stored webhook events once their debounce window
//! has passed, then mark them done (inside the decision transaction), retry, or fail them.
//! The ingress side (the insert) lives in `store::inbox`.

use std::collections::BTreeMap;
use std::time::Duration;

use sqlx::SqliteExecutor;

use super::outbox::ms;
use super::{Db, StoreError, now_ms};

/// A claimed webhook event, its body exactly as received and verified.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct InboxEvent {
    pub id: i64,
    /// `"trello"` or `"sheets"`.
    pub source: String,
    pub dedupe_key: String,
    pub pair: String,
    pub received_at: i64,
    pub body: Vec<u8>,
    /// Failed processing attempts so far.
    pub attempts: i64,
}

/// Claims up to `limit` events (of one pair, or all) received at least `older_than_ms` ago, in
/// arrival order, marking them `processing` for `lease`. Rows left `processing` by a worker that
/// died become claimable again once their lease runs out.
pub async fn claim_ready(
    db: &Db,
    pair: Option<&str>,
    older_than_ms: i64,
    limit: i64,
    lease: Duration,
) -> Result<Vec<InboxEvent>, StoreError> {
    let now = now_ms();
    let mut tx = db.begin_write().await?;
    // next_attempt_at doubles as the lease deadline of a processing row.
    let mut events: Vec<InboxEvent> = sqlx::query_as(
        "UPDATE inbox SET status = 'processing', next_attempt_at = $2
         WHERE id IN (
             SELECT id FROM inbox
             WHERE status IN ('pending', 'processing') AND next_attempt_at <= $1
               AND received_at <= $3 AND ($4 IS NULL OR pair = $4)
             ORDER BY id
             LIMIT $5)
         RETURNING id, source, dedupe_key, pair, received_at, body, attempts",
    )
    .bind(now)
    .bind(now.saturating_add(ms(lease)))
    .bind(now.saturating_sub(older_than_ms))
    .bind(pair)
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    events.sort_by_key(|e| e.id);
    Ok(events)
}

/// Marks an event processed. Run it on the decision transaction, so the event is done exactly
/// when its decisions commit. Returns false if the event was not being processed.
pub async fn mark_done(exec: impl SqliteExecutor<'_>, id: i64) -> Result<bool, StoreError> {
    let result = sqlx::query(
        "UPDATE inbox SET status = 'done', processed_at = $1, last_error = NULL
         WHERE id = $2 AND status = 'processing'",
    )
    .bind(now_ms())
    .bind(id)
    .execute(exec)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Counts a failed attempt and makes the event due again after `delay`.
pub async fn retry_later(
    exec: impl SqliteExecutor<'_>,
    id: i64,
    error: &str,
    delay: Duration,
) -> Result<bool, StoreError> {
    let result = sqlx::query(
        "UPDATE inbox SET status = 'pending', attempts = attempts + 1, last_error = $1,
                          next_attempt_at = $2
         WHERE id = $3 AND status = 'processing'",
    )
    .bind(error)
    .bind(now_ms().saturating_add(ms(delay)))
    .bind(id)
    .execute(exec)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Gives up on an event after its bounded attempts (reconciliation still repairs its effect).
pub async fn mark_failed(
    exec: impl SqliteExecutor<'_>,
    id: i64,
    error: &str,
) -> Result<bool, StoreError> {
    let result = sqlx::query(
        "UPDATE inbox SET status = 'failed', attempts = attempts + 1, last_error = $1,
                          processed_at = $2
         WHERE id = $3 AND status = 'processing'",
    )
    .bind(error)
    .bind(now_ms())
    .bind(id)
    .execute(exec)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Events not yet processed (pending or processing), per pair that has any.
pub async fn depth_by_pair(
    exec: impl SqliteExecutor<'_>,
) -> Result<BTreeMap<String, i64>, StoreError> {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT pair, count(*) FROM inbox WHERE status IN ('pending', 'processing') GROUP BY pair",
    )
    .fetch_all(exec)
    .await?;
    Ok(rows.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testdb::temp_db;

    const LONG: Duration = Duration::from_secs(3600);

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

    async fn claim(db: &Db, pair: Option<&str>, older_than: i64, lease: Duration) -> Vec<i64> {
        claim_ready(db, pair, older_than, 10, lease)
            .await
            .expect("claim")
            .into_iter()
            .map(|e| e.id)
            .collect()
    }

    async fn status(db: &Db, id: i64) -> (String, i64, Option<String>) {
        sqlx::query_as("SELECT status, attempts, last_error FROM inbox WHERE id = $1")
            .bind(id)
            .fetch_one(&db.pool)
            .await
            .expect("status")
    }

    #[tokio::test]
    async fn only_events_older_than_the_debounce_window_are_claimed_in_arrival_order() {
        let db = temp_db().await;
        let now = now_ms();
        let old = received(&db, "a", "x1", now - 10_000).await;
        let older_b = received(&db, "b", "x2", now - 20_000).await;
        let fresh = received(&db, "a", "x3", now + 60_000).await;
        let events = claim_ready(&db, None, 1_500, 10, LONG)
            .await
            .expect("claim");
        assert_eq!(
            events.iter().map(|e| e.id).collect::<Vec<_>>(),
            [old, older_b]
        );
        assert_eq!(events[0].body, b"{\"action\":\"x1\"}");
        assert_eq!(
            (events[0].source.as_str(), events[0].pair.as_str()),
            ("trello", "a")
        );
        assert!(
            claim(&db, None, 1_500, LONG).await.is_empty(),
            "claimed ones are leased"
        );
        assert_eq!(status(&db, fresh).await.0, "pending");
    }

    #[tokio::test]
    async fn a_claim_can_be_limited_to_one_pair() {
        let db = temp_db().await;
        let a = received(&db, "a", "x1", 0).await;
        let b = received(&db, "b", "x2", 0).await;
        assert_eq!(claim(&db, Some("b"), 0, LONG).await, [b]);
        assert_eq!(claim(&db, Some("a"), 0, LONG).await, [a]);
    }

    #[tokio::test]
    async fn a_processing_event_is_reclaimed_after_its_lease_expires() {
        let db = temp_db().await;
        let id = received(&db, "a", "x1", 0).await;
        assert_eq!(claim(&db, None, 0, Duration::ZERO).await, [id]);
        assert_eq!(
            claim(&db, None, 0, LONG).await,
            [id],
            "the crashed claim is taken over"
        );
        assert!(claim(&db, None, 0, LONG).await.is_empty());
    }

    #[tokio::test]
    async fn done_inside_a_transaction_retry_and_failure_update_the_row() {
        let db = temp_db().await;
        let one = received(&db, "a", "x1", 0).await;
        let two = received(&db, "a", "x2", 0).await;
        claim(&db, None, 0, LONG).await;
        let mut tx = db.begin_write().await.expect("begin");
        assert!(mark_done(&mut *tx, one).await.expect("done"));
        tx.rollback().await.expect("rollback");
        assert_eq!(
            status(&db, one).await.0,
            "processing",
            "rolled back with its decision"
        );
        let mut tx = db.begin_write().await.expect("begin");
        assert!(mark_done(&mut *tx, one).await.expect("done"));
        tx.commit().await.expect("commit");
        assert_eq!(status(&db, one).await.0, "done");
        assert!(!mark_done(&db.pool, one).await.expect("twice"));

        assert!(
            retry_later(&db.pool, two, "board busy", Duration::ZERO)
                .await
                .expect("retry")
        );
        assert_eq!(
            status(&db, two).await,
            ("pending".into(), 1, Some("board busy".into()))
        );
        assert_eq!(claim(&db, None, 0, LONG).await, [two]);
        assert!(mark_failed(&db.pool, two, "bad body").await.expect("fail"));
        assert_eq!(
            status(&db, two).await,
            ("failed".into(), 2, Some("bad body".into()))
        );
        assert!(claim(&db, None, 0, LONG).await.is_empty());
    }

    #[tokio::test]
    async fn depth_counts_unprocessed_events_per_pair() {
        let db = temp_db().await;
        let done = received(&db, "a", "x1", 0).await;
        received(&db, "a", "x2", 0).await;
        received(&db, "b", "x3", 0).await;
        claim_ready(&db, Some("a"), 0, 1, LONG)
            .await
            .expect("claim");
        mark_done(&db.pool, done).await.expect("done");
        let depth = depth_by_pair(&db.pool).await.expect("depth");
        assert_eq!(depth.get("a"), Some(&1));
        assert_eq!(depth.get("b"), Some(&1));
    }
}
