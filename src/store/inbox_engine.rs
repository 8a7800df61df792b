//! The inbox as the sync worker reads it: every due event (to group a lead's events before
//! deciding which are quiet), then done or failed. The worker is the only consumer in a
//! process, so it reads without claiming; `done` is set inside the decision transaction.

use sqlx::SqliteExecutor;

use super::inbox_work::InboxEvent;
use super::{StoreError, now_ms};

/// Inbox events due now (pending, or processing with an expired lease), oldest first. The
/// worker reads them all to group each lead's events before deciding which are ready.
pub async fn due_events(
    exec: impl SqliteExecutor<'_>,
    now_ms: i64,
    limit: i64,
) -> Result<Vec<InboxEvent>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT id, source, dedupe_key, pair, received_at, body, attempts FROM inbox
         WHERE status IN ('pending', 'processing') AND next_attempt_at <= $1
         ORDER BY id LIMIT $2",
    )
    .bind(now_ms)
    .bind(limit)
    .fetch_all(exec)
    .await?)
}

/// Marks an event processed, whether or not it was claimed.
pub async fn finish(exec: impl SqliteExecutor<'_>, id: i64) -> Result<(), StoreError> {
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
pub async fn fail(exec: impl SqliteExecutor<'_>, id: i64, error: &str) -> Result<(), StoreError> {
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
    exec: impl SqliteExecutor<'_>,
    id: i64,
    error: &str,
    max_attempts: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE inbox SET attempts = attempts + 1, last_error = $1,
             status = CASE WHEN attempts + 1 >= $2 THEN 'failed' ELSE 'pending' END,
             next_attempt_at = $3 + 1000 * (1 << min(attempts, 10))
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
