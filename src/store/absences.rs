//! The `row_absences` table: a lead missing from full sheet reads counts as deleted only when
//! two reads at least a minute apart both miss it. Only complete, successful reads may call here.

use super::Exec;

use super::StoreError;

/// Notes that a full read at `now` missed the lead, keeping the time of the first miss.
/// Returns that first-miss time.
pub async fn record_miss(
    exec: impl Exec<'_>,
    pair: &str,
    lead_id: &str,
    now: i64,
) -> Result<i64, StoreError> {
    // The no-op update makes RETURNING yield the kept row on conflict (SQLite and Postgres).
    Ok(sqlx::query_scalar(
        "INSERT INTO row_absences (pair, lead_id, first_missed_at) VALUES ($1, $2, $3)
         ON CONFLICT (pair, lead_id) DO UPDATE SET first_missed_at = row_absences.first_missed_at
         RETURNING first_missed_at",
    )
    .bind(pair)
    .bind(lead_id)
    .bind(now)
    .fetch_one(exec)
    .await?)
}

/// The lead was seen again (or its deletion was handled): forget its misses.
pub async fn clear(exec: impl Exec<'_>, pair: &str, lead_id: &str) -> Result<bool, StoreError> {
    let result = sqlx::query("DELETE FROM row_absences WHERE pair = $1 AND lead_id = $2")
        .bind(pair)
        .bind(lead_id)
        .execute(exec)
        .await?;
    Ok(result.rows_affected() == 1)
}

/// Leads of a pair with a recorded miss and its time, so a full read can clear the ones it saw.
pub async fn list(exec: impl Exec<'_>, pair: &str) -> Result<Vec<(String, i64)>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT lead_id, first_missed_at FROM row_absences WHERE pair = $1 ORDER BY lead_id",
    )
    .bind(pair)
    .fetch_all(exec)
    .await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testdb::temp_db;

    const T0: i64 = 1_000_000;

    /// The one-minute rule itself is the reconciliation planner's (`sync::reconcile::plan`); the
    /// store keeps the first miss of each lead, per pair, until the lead is seen again.
    #[tokio::test]
    async fn the_first_miss_is_kept_per_pair_until_the_lead_is_seen_again() {
        let db = temp_db().await;
        let mut conn = db.pool.acquire().await.expect("conn");
        assert_eq!(
            record_miss(&mut *conn, "a", "L1", T0).await.expect("miss"),
            T0
        );
        assert_eq!(
            record_miss(&mut *conn, "a", "L1", T0 + 60_000)
                .await
                .expect("miss"),
            T0
        );
        assert_eq!(
            record_miss(&mut *conn, "b", "L1", T0 + 5)
                .await
                .expect("miss"),
            T0 + 5
        );
        assert_eq!(
            list(&mut *conn, "a").await.expect("list"),
            [("L1".to_string(), T0)]
        );
        assert!(clear(&mut *conn, "a", "L1").await.expect("seen"));
        assert!(!clear(&mut *conn, "a", "L1").await.expect("seen again"));
        assert!(list(&mut *conn, "a").await.expect("list").is_empty());
        assert_eq!(
            record_miss(&mut *conn, "a", "L1", T0 + 90_000)
                .await
                .expect("miss"),
            T0 + 90_000,
            "the clock restarts"
        );
        assert_eq!(
            list(&mut *conn, "b").await.expect("list"),
            [("L1".to_string(), T0 + 5)]
        );
    }
}
