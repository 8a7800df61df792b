//! The `activity` table: one row per sync decision, read newest first by `/admin/activity`.

use super::Exec;
use chrono::{DateTime, SecondsFormat};
use serde::Serialize;

use super::{StoreError, now_ms};

#[derive(Debug, Clone, PartialEq)]
pub struct NewActivity {
    pub pair: String,
    pub lead_id: Option<String>,
    pub card_id: Option<String>,
    pub field: Option<String>,
    /// `copy_to_trello`, `copy_to_sheet`, `conflict`, `echo`, `card_created`, …
    pub decision: String,
    pub detail: serde_json::Value,
}

/// One entry of `GET /admin/activity`, serialising to the CONTRACT §4 shape.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActivityEntry {
    /// RFC 3339, UTC, milliseconds.
    pub at: String,
    pub pair: String,
    pub lead_id: Option<String>,
    pub card_id: Option<String>,
    pub field: Option<String>,
    pub decision: String,
    pub detail: serde_json::Value,
}

#[derive(sqlx::FromRow)]
struct ActivityRow {
    at: i64,
    pair: String,
    lead_id: Option<String>,
    card_id: Option<String>,
    field: Option<String>,
    decision: String,
    detail: Option<String>,
}

/// Formats stored unix milliseconds as the API shows times.
pub fn rfc3339(ms: i64) -> String {
    DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Records a decision at the current time (normally on the decision transaction).
pub async fn insert(exec: impl Exec<'_>, entry: &NewActivity) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO activity (at, pair, lead_id, card_id, field, decision, detail)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(now_ms())
    .bind(&entry.pair)
    .bind(&entry.lead_id)
    .bind(&entry.card_id)
    .bind(&entry.field)
    .bind(&entry.decision)
    .bind(entry.detail.to_string())
    .execute(exec)
    .await?;
    Ok(())
}

/// The latest `limit` entries (of one lead, or all), newest first.
pub async fn recent(
    exec: impl Exec<'_>,
    lead_id: Option<&str>,
    limit: i64,
) -> Result<Vec<ActivityEntry>, StoreError> {
    let rows: Vec<ActivityRow> = sqlx::query_as(
        "SELECT at, pair, lead_id, card_id, field, decision, detail FROM activity
         WHERE $1 IS NULL OR lead_id = $1
         ORDER BY at DESC, id DESC
         LIMIT $2",
    )
    .bind(lead_id)
    .bind(limit)
    .fetch_all(exec)
    .await?;
    rows.into_iter()
        .map(|row| {
            let detail = match row.detail {
                Some(text) => {
                    serde_json::from_str(&text).map_err(|source| StoreError::BadJson {
                        table: "activity",
                        column: "detail",
                        source,
                    })?
                }
                None => serde_json::Value::Null,
            };
            Ok(ActivityEntry {
                at: rfc3339(row.at),
                pair: row.pair,
                lead_id: row.lead_id,
                card_id: row.card_id,
                field: row.field,
                decision: row.decision,
                detail,
            })
        })
        .collect()
}

/// Deletes entries older than `days` days; returns how many.
pub async fn prune_older_than(exec: impl Exec<'_>, days: u32) -> Result<u64, StoreError> {
    let cutoff = now_ms() - i64::from(days) * 86_400_000;
    let result = sqlx::query("DELETE FROM activity WHERE at < $1")
        .bind(cutoff)
        .execute(exec)
        .await?;
    Ok(result.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testdb::temp_db;
    use serde_json::json;

    fn decision(lead: &str, decision: &str) -> NewActivity {
        NewActivity {
            pair: "a".into(),
            lead_id: Some(lead.into()),
            card_id: Some("C1".into()),
            field: Some("status".into()),
            decision: decision.into(),
            detail: json!({ "policy": "last_writer_wins", "winner": "sheet" }),
        }
    }

    #[tokio::test]
    async fn entries_come_back_newest_first_in_the_contract_shape() {
        let db = temp_db().await;
        let mut tx = db.begin_write().await.expect("begin");
        insert(&mut *tx, &decision("L1", "copy_to_trello"))
            .await
            .expect("1");
        insert(&mut *tx, &decision("L2", "echo")).await.expect("2");
        insert(&mut *tx, &decision("L1", "conflict"))
            .await
            .expect("3");
        tx.commit().await.expect("commit");
        sqlx::query("UPDATE activity SET at = 1763720102123 WHERE decision = 'conflict'")
            .execute(&db.pool)
            .await
            .expect("pin time");
        sqlx::query("UPDATE activity SET at = 1763720000000 WHERE decision <> 'conflict'")
            .execute(&db.pool)
            .await
            .expect("pin time");

        let all = recent(&db.pool, None, 10).await.expect("recent");
        let order: Vec<&str> = all.iter().map(|e| e.decision.as_str()).collect();
        assert_eq!(
            order,
            ["conflict", "echo", "copy_to_trello"],
            "ties fall back to insert order"
        );
        assert_eq!(
            serde_json::to_value(&all[0]).expect("json"),
            json!({
                "at": "2025-11-21T10:15:02.123Z",
                "pair": "a", "lead_id": "L1", "card_id": "C1", "field": "status",
                "decision": "conflict",
                "detail": { "policy": "last_writer_wins", "winner": "sheet" }
            })
        );
        let l1 = recent(&db.pool, Some("L1"), 1).await.expect("recent");
        assert_eq!(l1.len(), 1);
        assert_eq!(l1[0].decision, "conflict");
    }

    #[tokio::test]
    async fn pruning_deletes_old_entries_and_keeps_recent_ones() {
        let db = temp_db().await;
        insert(&db.pool, &decision("L1", "old")).await.expect("old");
        insert(&db.pool, &decision("L1", "recent"))
            .await
            .expect("recent");
        sqlx::query("UPDATE activity SET at = $1 WHERE decision = 'old'")
            .bind(now_ms() - 31 * 86_400_000)
            .execute(&db.pool)
            .await
            .expect("age");
        assert_eq!(prune_older_than(&db.pool, 30).await.expect("prune"), 1);
        let left = recent(&db.pool, None, 10).await.expect("recent");
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].decision, "recent");
    }
}
