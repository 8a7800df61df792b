//! The per-pair summary behind `GET /admin/status`.

use serde::Serialize;
use sqlx::SqliteExecutor;

use super::StoreError;
use super::activity::rfc3339;

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
    last_reconcile_at: Option<i64>,
    last_error: Option<String>,
}

/// Every stored pair, by name.
pub async fn pair_statuses(exec: impl SqliteExecutor<'_>) -> Result<Vec<PairStatus>, StoreError> {
    let rows: Vec<StatusRow> = sqlx::query_as(
        "SELECT p.name,
                (SELECT count(*) FROM links l WHERE l.pair = p.name) AS links,
                (SELECT count(*) FROM inbox i
                  WHERE i.pair = p.name AND i.status IN ('pending', 'processing')) AS inbox_depth,
                (SELECT count(*) FROM outbox o
                  WHERE o.pair = p.name AND o.status IN ('pending', 'in_flight')) AS outbox_depth,
                (SELECT count(*) FROM outbox o
                  WHERE o.pair = p.name AND o.status = 'dead') AS dead_letters,
                p.last_reconcile_at,
                COALESCE(p.last_error,
                         (SELECT o.last_error FROM outbox o
                           WHERE o.pair = p.name AND o.status <> 'done'
                             AND o.last_error IS NOT NULL
                           ORDER BY o.updated_at DESC, o.id DESC LIMIT 1)) AS last_error
         FROM pairs p ORDER BY p.name",
    )
    .fetch_all(exec)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| PairStatus {
            name: r.name,
            links: r.links,
            inbox_depth: r.inbox_depth,
            outbox_depth: r.outbox_depth,
            dead_letters: r.dead_letters,
            last_reconcile_at: r.last_reconcile_at.map(rfc3339),
            last_error: r.last_error,
        })
        .collect())
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
             VALUES ('sheets', 'e1', 'a', 0, x'7b7d', 0)",
        )
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
                  "dead_letters": 1, "last_reconcile_at": null, "last_error": "HTTP 403" },
                { "name": "b", "links": 0, "inbox_depth": 0, "outbox_depth": 0,
                  "dead_letters": 0, "last_reconcile_at": "2025-11-21T10:15:02.123Z",
                  "last_error": null }
            ])
        );
        pairs::record_error(&db.pool, "a", "sheet read failed")
            .await
            .expect("err");
        let status = pair_statuses(&db.pool).await.expect("status");
        assert_eq!(status[0].last_error.as_deref(), Some("sheet read failed"));
    }
}
