//! The per-pair summary behind `GET /admin/status`.

use std::time::Duration;

use super::Exec;
use serde::Serialize;

use super::activity::rfc3339;
use super::{StoreError, now_ms};
use crate::progress;

/// The drain rate is measured over the commands finished this recently.
const RATE_WINDOW_MS: i64 = 60_000;

/// The shortest span a rate is measured over: one command finished a moment ago is not a rate
/// of thousands a second.
const MIN_RATE_SPAN_MS: i64 = 10_000;

/// One pair of `{"pairs": [...]}`, the shape `GET /admin/status` answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PairStatus {
    pub name: String,
    pub links: i64,
    /// Webhook events stored but not yet processed.
    pub inbox_depth: i64,
    /// Commands waiting or in flight.
    pub outbox_depth: i64,
    pub dead_letters: i64,
    /// Commands finished (sent, skipped or dead-lettered) in the last minute.
    pub drained_last_minute: i64,
    /// Seconds until the outbox is empty at the rate of the last minute: 0 when it is empty,
    /// `None` when commands wait but none finished lately (stalled, or just started).
    pub drain_eta_secs: Option<u64>,
    /// RFC 3339, UTC, milliseconds.
    pub last_reconcile_at: Option<String>,
    /// The pair's own last failure (reconcile, start-up), else the newest error among its
    /// unfinished or dead commands.
    pub last_error: Option<String>,
}

#[derive(sqlx::FromRow)]
struct StatusRow {
    name: String,
    links: i64,
    inbox_depth: i64,
    outbox_depth: i64,
    dead_letters: i64,
    drained: i64,
    drained_since: Option<i64>,
    last_reconcile_at: Option<i64>,
    last_error: Option<String>,
}

/// Every stored pair, by name.
pub async fn pair_statuses(exec: impl Exec<'_>) -> Result<Vec<PairStatus>, StoreError> {
    let now = now_ms();
    let rows: Vec<StatusRow> = sqlx::query_as(
        "SELECT p.name,
                (SELECT count(*) FROM links l
                  WHERE l.pair = p.name AND l.record_deleted_at IS NULL) AS links,
                (SELECT count(*) FROM inbox i
                  WHERE i.pair = p.name AND i.status IN ('pending', 'processing')) AS inbox_depth,
                (SELECT count(*) FROM outbox o
                  WHERE o.pair = p.name AND o.status IN ('pending', 'in_flight')) AS outbox_depth,
                (SELECT count(*) FROM outbox o
                  WHERE o.pair = p.name AND o.status = 'dead') AS dead_letters,
                (SELECT count(*) FROM outbox o
                  WHERE o.pair = p.name AND o.status IN ('done', 'dead')
                    AND o.updated_at >= $1) AS drained,
                (SELECT min(o.updated_at) FROM outbox o
                  WHERE o.pair = p.name AND o.status IN ('done', 'dead')
                    AND o.updated_at >= $1) AS drained_since,
                p.last_reconcile_at,
                COALESCE(p.last_error,
                         (SELECT o.last_error FROM outbox o
                           WHERE o.pair = p.name AND o.status <> 'done'
                             AND o.last_error IS NOT NULL
                           ORDER BY o.updated_at DESC, o.id DESC LIMIT 1)) AS last_error
         FROM pairs p ORDER BY p.name",
    )
    .bind(now - RATE_WINDOW_MS)
    .fetch_all(exec)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| PairStatus {
            drain_eta_secs: drain_eta_secs(
                r.outbox_depth,
                r.drained,
                r.drained_since.map_or(0, |t| now - t),
            ),
            name: r.name,
            links: r.links,
            inbox_depth: r.inbox_depth,
            outbox_depth: r.outbox_depth,
            dead_letters: r.dead_letters,
            drained_last_minute: r.drained,
            last_reconcile_at: r.last_reconcile_at.map(rfc3339),
            last_error: r.last_error,
        })
        .collect())
}

/// Time to drain `depth` commands at the rate of `drained` over the last `span_ms` (since the
/// oldest of them finished), the span taken as at least 10 s and at most the minute.
fn drain_eta_secs(depth: i64, drained: i64, span_ms: i64) -> Option<u64> {
    let span = span_ms.clamp(MIN_RATE_SPAN_MS, RATE_WINDOW_MS);
    let span = Duration::from_millis(u64::try_from(span).unwrap_or(0));
    let count = |n: i64| u64::try_from(n).unwrap_or(0);
    progress::eta_secs(count(depth), progress::per_sec(count(drained), span))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::store::links::{self, NewLink};
    use crate::store::outbox::{self, NewCommand};
    use crate::store::{pairs, testdb::temp_db};
    use serde_json::json;

    fn command(lead: &str, key: &str) -> NewCommand {
        NewCommand {
            pair: "a".into(),
            lead_id: Some(lead.into()),
            target: "sheets".into(),
            kind: "write_cells".into(),
            payload: json!({}),
            idempotency_key: key.into(),
        }
    }

    #[tokio::test]
    async fn status_counts_links_queues_and_dead_letters_per_pair() {
        let db = temp_db().await;
        for lead in ["L1", "L2"] {
            let link = NewLink {
                pair: "a".into(),
                lead_id: lead.into(),
                ..NewLink::default()
            };
            links::insert(&db.pool, &link).await.expect("link");
        }
        sqlx::query(
            "INSERT INTO inbox (source, dedupe_key, pair, received_at, body, next_attempt_at)
             VALUES ('sheets', 'e1', 'a', 0, $1, 0)",
        )
        .bind(b"{}".as_slice())
        .execute(&db.pool)
        .await
        .expect("inbox");
        for (lead, key) in [("L1", "k1"), ("L2", "k2"), ("L2", "k3")] {
            outbox::enqueue(&db.pool, &command(lead, key))
                .await
                .expect("enqueue");
        }
        let claimed = outbox::claim_due(&db, None, 10, Duration::from_secs(60))
            .await
            .expect("claim");
        outbox::dead_letter(&db.pool, claimed[0].id, "HTTP 403")
            .await
            .expect("dead");
        pairs::record_reconcile(&db.pool, "b", 1_763_720_102_123)
            .await
            .expect("rec");

        let status = pair_statuses(&db.pool).await.expect("status");
        assert_eq!(
            serde_json::to_value(&status).expect("json"),
            json!([
                { "name": "a", "links": 2, "inbox_depth": 1, "outbox_depth": 2,
                  "dead_letters": 1, "drained_last_minute": 1, "drain_eta_secs": 20,
                  "last_reconcile_at": null, "last_error": "HTTP 403" },
                { "name": "b", "links": 0, "inbox_depth": 0, "outbox_depth": 0,
                  "dead_letters": 0, "drained_last_minute": 0, "drain_eta_secs": 0,
                  "last_reconcile_at": "2025-11-21T10:15:02.123Z", "last_error": null }
            ])
        );
        pairs::record_error(&db.pool, "a", "sheet read failed")
            .await
            .expect("err");
        let status = pair_statuses(&db.pool).await.expect("status");
        assert_eq!(status[0].last_error.as_deref(), Some("sheet read failed"));
    }

    #[test]
    fn the_drain_estimate_divides_the_depth_by_the_rate_of_the_last_minute() {
        // 30 finished over the last 30 s: 1 a second.
        assert_eq!(drain_eta_secs(50, 30, 30_000), Some(50));
        // Over more than the minute, the minute is the span.
        assert_eq!(drain_eta_secs(50, 120, 90_000), Some(25));
        // One finished a moment ago counts as one in 10 s.
        assert_eq!(drain_eta_secs(5, 1, 0), Some(50));
        assert_eq!(drain_eta_secs(0, 0, 0), Some(0), "empty: drained");
        assert_eq!(
            drain_eta_secs(7, 0, 0),
            None,
            "waiting, nothing finished lately"
        );
    }

    #[tokio::test]
    async fn status_estimates_the_drain_from_the_commands_finished_lately() {
        let db = temp_db().await;
        for i in 0..40 {
            outbox::enqueue(&db.pool, &command(&format!("L{i}"), &format!("k{i}")))
                .await
                .expect("enqueue");
        }
        let claimed = outbox::claim_due(&db, None, 40, Duration::from_secs(60))
            .await
            .expect("claim");
        for c in &claimed[..20] {
            outbox::complete(&db.pool, c.id).await.expect("complete");
        }
        // Twenty finished over the last 20 s; one an hour ago does not count.
        sqlx::query("UPDATE outbox SET updated_at = $1 WHERE id = $2")
            .bind(now_ms() - 20_000)
            .bind(claimed[0].id)
            .execute(&db.pool)
            .await
            .expect("spread");
        sqlx::query("UPDATE outbox SET status = 'done', updated_at = $1 WHERE id = $2")
            .bind(now_ms() - 3_600_000)
            .bind(claimed[20].id)
            .execute(&db.pool)
            .await
            .expect("old");
        let status = pair_statuses(&db.pool).await.expect("status");
        assert_eq!(status[0].outbox_depth, 19);
        assert_eq!(status[0].drained_last_minute, 20);
        // 19 at about 1 a second (the span grows by the test's own milliseconds).
        let eta = status[0].drain_eta_secs.expect("an estimate");
        assert!((19..=20).contains(&eta), "{eta}");
    }
}
