//! The `row_absences` table: a lead missing from full sheet reads counts as deleted only when
//! two reads at least a minute apart both miss it. Only complete, successful reads may call here.

use std::time::Duration;

use sqlx::{SqliteConnection, SqliteExecutor};

use super::StoreError;
use super::outbox::ms;

/// Notes that a full read at `now` missed the lead, keeping the time of the first miss.
/// Returns that first-miss time.
pub async fn record_miss(
    conn: &mut SqliteConnection,
    pair: &str,
    lead_id: &str,
    now: i64,
) -> Result<i64, StoreError> {
    sqlx::query(
        "INSERT INTO row_absences (pair, lead_id, first_missed_at) VALUES ($1, $2, $3)
         ON CONFLICT (pair, lead_id) DO NOTHING",
    )
    .bind(pair)
    .bind(lead_id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(sqlx::query_scalar(
        "SELECT first_missed_at FROM row_absences WHERE pair = $1 AND lead_id = $2",
    )
    .bind(pair)
    .bind(lead_id)
    .fetch_one(&mut *conn)
    .await?)
}

/// Call when the full read at `now` misses the lead: records this miss and answers whether an
/// earlier miss, at least `min_gap` before, confirms the row is really gone (so `on_row_deleted`
/// applies). A first miss only starts the clock.
pub async fn confirmed_missing(
    conn: &mut SqliteConnection,
    pair: &str,
    lead_id: &str,
    now: i64,
    min_gap: Duration,
) -> Result<bool, StoreError> {
    let first = record_miss(conn, pair, lead_id, now).await?;
    Ok(now.saturating_sub(first) >= ms(min_gap))
}

/// The lead was seen again (or its deletion was handled): forget its misses.
pub async fn clear(
    exec: impl SqliteExecutor<'_>,
    pair: &str,
    lead_id: &str,
) -> Result<bool, StoreError> {
    let result = sqlx::query("DELETE FROM row_absences WHERE pair = $1 AND lead_id = $2")
        .bind(pair)
        .bind(lead_id)
        .execute(exec)
        .await?;
    Ok(result.rows_affected() == 1)
}

/// Leads of a pair with a recorded miss and its time, so a full read can clear the ones it saw.
pub async fn list(
    exec: impl SqliteExecutor<'_>,
    pair: &str,
) -> Result<Vec<(String, i64)>, StoreError> {
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

    const MINUTE: Duration = Duration::from_secs(60);
    const T0: i64 = 1_000_000;

    #[tokio::test]
    async fn one_miss_is_not_enough_and_two_misses_a_minute_apart_are() {
        let db = temp_db().await;
        let mut conn = db.pool.acquire().await.expect("conn");
        assert!(
            !confirmed_missing(&mut conn, "a", "L1", T0, MINUTE)
                .await
                .expect("1st")
        );
        assert!(
            !confirmed_missing(&mut conn, "a", "L1", T0 + 59_999, MINUTE)
                .await
                .expect("2nd")
        );
        assert!(
            confirmed_missing(&mut conn, "a", "L1", T0 + 60_000, MINUTE)
                .await
                .expect("3rd")
        );
        assert!(
            !confirmed_missing(&mut conn, "b", "L1", T0 + 60_000, MINUTE)
                .await
                .expect("b")
        );
        assert_eq!(
            list(&mut *conn, "a").await.expect("list"),
            [("L1".to_string(), T0)]
        );
    }

    #[tokio::test]
    async fn being_seen_again_restarts_the_clock() {
        let db = temp_db().await;
        let mut conn = db.pool.acquire().await.expect("conn");
        assert_eq!(
            record_miss(&mut conn, "a", "L1", T0).await.expect("miss"),
            T0
        );
        assert_eq!(
            record_miss(&mut conn, "a", "L1", T0 + 5)
                .await
                .expect("miss"),
            T0
        );
        assert!(clear(&mut *conn, "a", "L1").await.expect("seen"));
        assert!(!clear(&mut *conn, "a", "L1").await.expect("seen again"));
        let later = T0 + 90_000;
        assert!(
            !confirmed_missing(&mut conn, "a", "L1", later, MINUTE)
                .await
                .expect("miss")
        );
        assert!(list(&mut *conn, "b").await.expect("list").is_empty());
    }
}
