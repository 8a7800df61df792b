//! Pages of the activity log for the console: filtered, newest first, keyset-paged by
//! `(at, id)` so a page deep in a large log costs what the first one does (no OFFSET scan).

use sqlx::SqliteExecutor;

use super::StoreError;
use super::activity::rfc3339;

/// What a page is narrowed to; `None` (or empty) matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ActivityFilter {
    pub pair: Option<String>,
    pub lead_id: Option<String>,
    pub field: Option<String>,
    pub decision: Option<String>,
}

/// Where the next (older) page starts: the `(at, id)` of the last entry shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub at: i64,
    pub id: i64,
}

impl Cursor {
    /// `"<at>.<id>"`, the form it takes in a page's "older" link.
    pub fn encode(self) -> String {
        format!("{}.{}", self.at, self.id)
    }

    pub fn decode(text: &str) -> Option<Self> {
        let (at, id) = text.split_once('.')?;
        Some(Self {
            at: at.parse().ok()?,
            id: id.parse().ok()?,
        })
    }
}

/// One entry as the console shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct PageEntry {
    pub id: i64,
    pub at_ms: i64,
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
struct Row {
    id: i64,
    at: i64,
    pair: String,
    lead_id: Option<String>,
    card_id: Option<String>,
    field: Option<String>,
    decision: String,
    detail: Option<String>,
}

/// Up to `limit` entries matching `filter`, older than `before` when given, newest first; the
/// cursor of the next page when there may be one.
pub async fn page(
    exec: impl SqliteExecutor<'_>,
    filter: &ActivityFilter,
    before: Option<Cursor>,
    limit: i64,
) -> Result<(Vec<PageEntry>, Option<Cursor>), StoreError> {
    let some = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
    // One row more than asked tells whether an older page exists.
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT id, at, pair, lead_id, card_id, field, decision, detail FROM activity
         WHERE ($1 IS NULL OR pair = $1) AND ($2 IS NULL OR lead_id = $2)
           AND ($3 IS NULL OR field = $3) AND ($4 IS NULL OR decision = $4)
           AND ($5 IS NULL OR (at, id) < ($5, $6))
         ORDER BY at DESC, id DESC
         LIMIT $7",
    )
    .bind(some(&filter.pair))
    .bind(some(&filter.lead_id))
    .bind(some(&filter.field))
    .bind(some(&filter.decision))
    .bind(before.map(|c| c.at))
    .bind(before.map_or(0, |c| c.id))
    .bind(limit + 1)
    .fetch_all(exec)
    .await?;
    let more = i64::try_from(rows.len()).unwrap_or(i64::MAX) > limit;
    let mut entries = Vec::with_capacity(rows.len());
    for row in rows.into_iter().take(usize::try_from(limit).unwrap_or(0)) {
        let detail = match row.detail.as_deref() {
            Some(text) => serde_json::from_str(text).map_err(|source| StoreError::BadJson {
                table: "activity",
                column: "detail",
                source,
            })?,
            None => serde_json::Value::Null,
        };
        entries.push(PageEntry {
            id: row.id,
            at_ms: row.at,
            at: rfc3339(row.at),
            pair: row.pair,
            lead_id: row.lead_id,
            card_id: row.card_id,
            field: row.field,
            decision: row.decision,
            detail,
        });
    }
    let next = more
        .then(|| {
            entries.last().map(|e| Cursor {
                at: e.at_ms,
                id: e.id,
            })
        })
        .flatten();
    Ok((entries, next))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::activity::{NewActivity, insert};
    use crate::store::testdb::temp_db;

    async fn fill(db: &crate::store::Db) {
        for i in 0..7 {
            let entry = NewActivity {
                pair: if i % 2 == 0 { "a" } else { "b" }.into(),
                lead_id: Some(format!("L{}", i % 3)),
                card_id: None,
                field: Some(if i < 4 { "email" } else { "status" }.into()),
                decision: if i == 5 { "conflict" } else { "copy_to_trello" }.into(),
                detail: serde_json::json!({ "n": i }),
            };
            insert(&db.pool, &entry).await.expect("insert");
        }
        // Every entry at one millisecond: paging must still split ties by id.
        sqlx::query("UPDATE activity SET at = 1763720000000")
            .execute(&db.pool)
            .await
            .expect("pin");
    }

    fn numbers(entries: &[PageEntry]) -> Vec<i64> {
        entries
            .iter()
            .map(|e| e.detail["n"].as_i64().unwrap())
            .collect()
    }

    #[tokio::test]
    async fn pages_walk_the_log_newest_first_without_gaps_or_repeats() {
        let db = temp_db().await;
        fill(&db).await;
        let all = ActivityFilter::default();
        let (first, next) = page(&db.pool, &all, None, 3).await.expect("page 1");
        assert_eq!(numbers(&first), [6, 5, 4]);
        let next = Cursor::decode(&next.expect("more").encode()).expect("round trip");
        let (second, next) = page(&db.pool, &all, Some(next), 3).await.expect("page 2");
        assert_eq!(numbers(&second), [3, 2, 1]);
        let (third, next) = page(&db.pool, &all, next, 3).await.expect("page 3");
        assert_eq!(numbers(&third), [0]);
        assert_eq!(next, None, "the last page has no older one");
    }

    #[tokio::test]
    async fn filters_narrow_by_pair_lead_field_and_decision() {
        let db = temp_db().await;
        fill(&db).await;
        let by = |f: ActivityFilter| {
            let pool = db.pool.clone();
            async move { numbers(&page(&pool, &f, None, 10).await.expect("page").0) }
        };
        let pair_b = ActivityFilter {
            pair: Some("b".into()),
            ..Default::default()
        };
        assert_eq!(by(pair_b).await, [5, 3, 1]);
        let lead = ActivityFilter {
            lead_id: Some("L0".into()),
            ..Default::default()
        };
        assert_eq!(by(lead).await, [6, 3, 0]);
        let both = ActivityFilter {
            field: Some("status".into()),
            decision: Some("copy_to_trello".into()),
            ..Default::default()
        };
        assert_eq!(by(both).await, [6, 4]);
        let empty = ActivityFilter {
            pair: Some(String::new()),
            ..Default::default()
        };
        assert_eq!(
            by(empty).await.len(),
            7,
            "an empty filter matches everything"
        );
    }
}
