//! Events in and commands out per minute over the last hour, for the console's chart: webhook
//! events stored in the inbox, and outbox commands sent (`done`) or given up on (`dead`).

use super::Exec;

use super::StoreError;

pub const MINUTES: usize = 60;
const MINUTE_MS: i64 = 60_000;

/// One minute of the chart.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Minute {
    /// Webhook events stored.
    pub events_in: i64,
    /// Commands sent.
    pub sent: i64,
    /// Commands dead-lettered.
    pub dead: i64,
}

/// The last 60 whole-or-current minutes up to `now_ms`, oldest first.
pub async fn last_hour(exec: impl Exec<'_> + Copy, now_ms: i64) -> Result<Vec<Minute>, StoreError> {
    let current = now_ms.div_euclid(MINUTE_MS);
    let since = (current - (MINUTES as i64 - 1)) * MINUTE_MS;
    let events: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT received_at / 60000, count(*) FROM inbox WHERE received_at >= $1 GROUP BY 1",
    )
    .bind(since)
    .fetch_all(exec)
    .await?;
    let commands: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT status, updated_at / 60000, count(*) FROM outbox
         WHERE status IN ('done', 'dead') AND updated_at >= $1 GROUP BY 1, 2",
    )
    .bind(since)
    .fetch_all(exec)
    .await?;
    let mut minutes = vec![Minute::default(); MINUTES];
    let slot = |minute: i64| {
        usize::try_from(minute - (current - (MINUTES as i64 - 1)))
            .ok()
            .filter(|i| *i < MINUTES)
    };
    for (minute, count) in events {
        if let Some(i) = slot(minute) {
            minutes[i].events_in += count;
        }
    }
    for (status, minute, count) in commands {
        if let Some(i) = slot(minute) {
            match status.as_str() {
                "done" => minutes[i].sent += count,
                _ => minutes[i].dead += count,
            }
        }
    }
    Ok(minutes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testdb::temp_db;

    #[tokio::test]
    async fn events_and_commands_fall_into_their_minute_and_older_ones_are_left_out() {
        let db = temp_db().await;
        let now = 1_763_720_000_000 - 1_763_720_000_000 % MINUTE_MS + 30_000;
        for (key, at) in [
            ("e1", now),
            ("e2", now - 1_000),
            ("e3", now - 5 * MINUTE_MS),
            ("e4", now - 61 * MINUTE_MS),
        ] {
            sqlx::query(
                "INSERT INTO inbox (source, dedupe_key, pair, received_at, body, next_attempt_at)
                 VALUES ('sheets', $1, 'a', $2, $3, 0)",
            )
            .bind(key)
            .bind(at)
            .bind(b"{}".as_slice())
            .execute(&db.pool)
            .await
            .expect("event");
        }
        for (key, status, at) in [
            ("k1", "done", now),
            ("k2", "dead", now - MINUTE_MS),
            ("k3", "pending", now),
        ] {
            sqlx::query(
                "INSERT INTO outbox (pair, lead_id, target, kind, payload, idempotency_key, status,
                                     next_attempt_at, created_at, updated_at)
                 VALUES ('a', 'L1', 'trello', 'update_card', '{}', $1, $2, 0, $3, $3)",
            )
            .bind(key)
            .bind(status)
            .bind(at)
            .execute(&db.pool)
            .await
            .expect("command");
        }
        let hour = last_hour(&db.pool, now).await.expect("hour");
        assert_eq!(hour.len(), MINUTES);
        assert_eq!(
            hour[59],
            Minute {
                events_in: 2,
                sent: 1,
                dead: 0
            },
            "this minute"
        );
        assert_eq!(
            hour[58],
            Minute {
                events_in: 0,
                sent: 0,
                dead: 1
            }
        );
        assert_eq!(hour[54].events_in, 1, "five minutes ago");
        let total: i64 = hour.iter().map(|m| m.events_in).sum();
        assert_eq!(total, 3, "an event older than the hour is not counted");
    }
}
