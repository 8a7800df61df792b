//! How deep each pair's outbox is, and how far a run of sending has come: what `/healthz`,
//! `/admin/status` and `leadsync reconcile`'s progress show.

use std::collections::BTreeMap;

use super::Exec;

use super::StoreError;

/// Per pair: commands waiting or in flight, and dead letters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct OutboxDepth {
    pub depth: i64,
    pub dead_letters: i64,
}

/// Queue depths of every pair that has unfinished or dead commands.
pub async fn depths(exec: impl Exec<'_>) -> Result<BTreeMap<String, OutboxDepth>, StoreError> {
    let rows: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT pair,
                SUM(CASE WHEN status IN ('pending', 'in_flight') THEN 1 ELSE 0 END),
                SUM(CASE WHEN status = 'dead' THEN 1 ELSE 0 END)
         FROM outbox WHERE status <> 'done' GROUP BY pair",
    )
    .fetch_all(exec)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(pair, depth, dead_letters)| {
            (
                pair,
                OutboxDepth {
                    depth,
                    dead_letters,
                },
            )
        })
        .collect())
}

/// Per pair, how far the sending that started at `since` (ms) has come.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunProgress {
    /// Completed since then (sent, or found to need no call).
    pub sent: i64,
    /// Dead-lettered since then.
    pub dead: i64,
    /// Waiting or in flight now.
    pub left: i64,
}

/// [`RunProgress`] of every pair with commands left or finished since `since`.
pub async fn run_progress(
    exec: impl Exec<'_>,
    since: i64,
) -> Result<BTreeMap<String, RunProgress>, StoreError> {
    let rows: Vec<(String, i64, i64, i64)> = sqlx::query_as(
        "SELECT pair,
                SUM(CASE WHEN status = 'done' THEN 1 ELSE 0 END),
                SUM(CASE WHEN status = 'dead' AND dead_lettered_at >= $1 THEN 1 ELSE 0 END),
                SUM(CASE WHEN status IN ('pending', 'in_flight') THEN 1 ELSE 0 END)
         FROM outbox WHERE status <> 'done' OR updated_at >= $1 GROUP BY pair",
    )
    .bind(since)
    .fetch_all(exec)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(pair, sent, dead, left)| (pair, RunProgress { sent, dead, left }))
        .collect())
}
