//! Where the ids leadsync gives rows without one stand: when the last one landed, and which
//! leads' ids never reached their row. Read by the worker and the reconciler alike (they
//! must not make a second lead of a row whose id is late or was sent to a row that changed).

use super::Exec;

use super::StoreError;

/// A row without an id that leadsync gave an id within this window is the same lead when it is
/// edited again or read again (our id write may not have reached the sheet yet).
pub const NEW_ROW_WINDOW_MS: i64 = 10 * 60 * 1000;

/// Leads of the pair whose id leadsync gave a row at or after `since_ms` never landed, and
/// whose id writes are all finished (none pending, in flight or dead): the row the id was
/// sent to was not found.
pub async fn unplaced_leads(
    exec: impl Exec<'_>,
    pair: &str,
    since_ms: i64,
) -> Result<Vec<String>, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT l.lead_id FROM links l WHERE l.pair = $1 AND l.id_assigned_at >= $2
           AND l.id_landed_at IS NULL
           AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.pair = l.pair AND o.lead_id = l.lead_id
                AND o.kind = 'write_row' AND o.status IN ('pending', 'in_flight', 'dead'))",
    )
    .bind(pair)
    .bind(since_ms)
    .fetch_all(exec)
    .await?)
}

/// When the last id leadsync gave a row of the pair landed (unix ms), if any did.
pub async fn last_id_landing(exec: impl Exec<'_>, pair: &str) -> Result<Option<i64>, StoreError> {
    Ok(
        sqlx::query_scalar("SELECT max(id_landed_at) FROM links WHERE pair = $1")
            .bind(pair)
            .fetch_one(exec)
            .await?,
    )
}
