//! Pages of the activity log for the console: filtered, newest first, keyset-paged by
//! `(at, id)` so a page deep in a large log costs what the first one does (no OFFSET scan).

use super::{Dialect, Exec};

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

/// The page query with only the filters in use: a `$n IS NULL OR col = $n` term would keep
/// SQLite from using the column's index, and a rare value would then cost a scan of the log.
/// Returns the SQL and the values to bind, in order.
fn page_sql(
    dialect: Dialect,
    filter: &ActivityFilter,
    before: Option<Cursor>,
) -> (String, Vec<String>) {
    let mut sql = String::from(
        "SELECT id, at, pair, lead_id, card_id, field, decision, detail FROM activity WHERE 1 = 1",
    );
    let mut binds = Vec::new();
    let terms = [
        ("pair", &filter.pair),
        ("lead_id", &filter.lead_id),
        ("field", &filter.field),
        ("decision", &filter.decision),
    ];
    // A lead has few entries, its pair or a decision many: with a lead named, the other terms
    // are written `+col` (which SQLite cannot serve from an index), so the planner reads the
    // lead's index and not a pair's whole range, filtered as it walks (the lead page's history
    // walked its pair's 100,000 entries: 100 ms). PostgreSQL has no unary `+` on text, and its
    // planner weighs the terms by their statistics itself.
    let by_lead =
        dialect == Dialect::Sqlite && filter.lead_id.as_deref().is_some_and(|l| !l.is_empty());
    for (column, value) in terms {
        if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
            binds.push(v.to_owned());
            let unindexed = if by_lead && column != "lead_id" {
                "+"
            } else {
                ""
            };
            sql.push_str(&format!(" AND {unindexed}{column} = ${}", binds.len()));
        }
    }
    if before.is_some() {
        let n = binds.len();
        sql.push_str(&format!(" AND (at, id) < (${}, ${})", n + 1, n + 2));
    }
    sql.push_str(" ORDER BY at DESC, id DESC LIMIT ");
    (sql, binds)
}

/// The entry numbered `id` (the console's conflict actions name one by it).
pub async fn entry(exec: impl Exec<'_>, id: i64) -> Result<Option<PageEntry>, StoreError> {
    let row: Option<Row> = sqlx::query_as(
        "SELECT id, at, pair, lead_id, card_id, field, decision, detail FROM activity WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(exec)
    .await?;
    row.map(entry_of).transpose()
}

fn entry_of(row: Row) -> Result<PageEntry, StoreError> {
    let detail = match row.detail.as_deref() {
        Some(text) => serde_json::from_str(text).map_err(|source| StoreError::BadJson {
            table: "activity",
            column: "detail",
            source,
        })?,
        None => serde_json::Value::Null,
    };
    Ok(PageEntry {
        id: row.id,
        at_ms: row.at,
        at: rfc3339(row.at),
        pair: row.pair,
        lead_id: row.lead_id,
        card_id: row.card_id,
        field: row.field,
        decision: row.decision,
        detail,
    })
}

/// Up to `limit` entries matching `filter`, older than `before` when given, newest first; the
/// cursor of the next page when there may be one.
pub async fn page(
    exec: impl Exec<'_>,
    filter: &ActivityFilter,
    before: Option<Cursor>,
    limit: i64,
) -> Result<(Vec<PageEntry>, Option<Cursor>), StoreError> {
    let (mut sql, binds) = page_sql(exec.dialect(), filter, before);
    // One row more than asked tells whether an older page exists.
    sql.push_str(&(limit.max(0) + 1).to_string());
    // Audited: the text is only fixed column names and numbered parameters; values are bound.
    let mut query = sqlx::query_as::<_, Row>(sqlx::AssertSqlSafe(sql));
    for value in binds {
        query = query.bind(value);
    }
    if let Some(c) = before {
        query = query.bind(c.at).bind(c.id);
    }
    let rows = query.fetch_all(exec).await?;
    let more = i64::try_from(rows.len()).unwrap_or(i64::MAX) > limit;
    let mut entries = Vec::with_capacity(rows.len());
    for row in rows.into_iter().take(usize::try_from(limit).unwrap_or(0)) {
        entries.push(entry_of(row)?);
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
        // A lead with other terms: the lead page's history (on SQLite the others are `+col`).
        let lead_in_pair = ActivityFilter {
            pair: Some("a".into()),
            lead_id: Some("L0".into()),
            ..Default::default()
        };
        assert_eq!(by(lead_in_pair).await, [6, 0]);
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

    /// 100,000 entries over 4 pairs, 1,000 leads, 7 fields and 5 decisions, a minute apart.
    async fn large_log(db: &crate::store::Db) {
        sqlx::query(
            "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 99999)
             INSERT INTO activity (at, pair, lead_id, card_id, field, decision, detail)
             SELECT 1763720000000 + i * 60000, 'p' || (i % 4), 'L' || (i % 1000), NULL,
                    'f' || (i % 7), 'd' || (i % 5), '{}' FROM n",
        )
        .execute(&db.pool)
        .await
        .expect("fill");
    }

    #[tokio::test]
    async fn every_page_of_a_large_log_reads_an_index_in_order_and_sorts_nothing() {
        let db = crate::store::testdb::temp_sqlite_db().await;
        large_log(&db).await;
        let f = |pair: Option<&str>,
                 lead: Option<&str>,
                 field: Option<&str>,
                 decision: Option<&str>| {
            ActivityFilter {
                pair: pair.map(Into::into),
                lead_id: lead.map(Into::into),
                field: field.map(Into::into),
                decision: decision.map(Into::into),
            }
        };
        let filters = [
            f(None, None, None, None),
            f(Some("p1"), None, None, None),
            f(None, Some("L7"), None, None),
            f(None, None, None, Some("d3")),
            f(None, None, Some("f2"), None),
            f(Some("p1"), None, Some("f2"), Some("d3")),
            // The lead page's history (its pair and lead), and a lead's conflicts.
            f(Some("p3"), Some("L7"), None, None),
            f(Some("p3"), Some("L7"), None, Some("d2")),
        ];
        let deep = Some(Cursor {
            at: 1763720000000 + 50_000 * 60000,
            id: 50_001,
        });
        for filter in &filters {
            for before in [None, deep] {
                let (sql, binds) = page_sql(Dialect::Sqlite, filter, before);
                let mut query = sqlx::query_as::<_, (i64, i64, i64, String)>(sqlx::AssertSqlSafe(
                    format!("EXPLAIN QUERY PLAN {sql}50"),
                ));
                for value in &binds {
                    query = query.bind(value);
                }
                if let Some(c) = before {
                    query = query.bind(c.at).bind(c.id);
                }
                let plan: Vec<String> = query
                    .fetch_all(&db.pool)
                    .await
                    .expect("plan")
                    .into_iter()
                    .map(|row| row.3)
                    .collect();
                let plan = plan.join("; ");
                assert!(
                    plan.contains("USING INDEX"),
                    "{filter:?} {before:?}: {plan}"
                );
                assert!(
                    !plan.contains("TEMP B-TREE"),
                    "{filter:?} {before:?}: {plan}"
                );
                // A pair, lead or decision (or a cursor) narrows the index read to its range;
                // only a field alone walks the time index, filtering as it goes.
                let narrowed = filter.pair.is_some()
                    || filter.lead_id.is_some()
                    || filter.decision.is_some()
                    || before.is_some();
                if narrowed {
                    assert!(plan.starts_with("SEARCH"), "{filter:?} {before:?}: {plan}");
                }
                // A lead's entries are few: its index, not a walk of its pair's or decision's.
                if filter.lead_id.is_some() {
                    assert!(
                        plan.contains("activity_lead"),
                        "{filter:?} {before:?}: {plan}"
                    );
                }
                let started = std::time::Instant::now();
                let (entries, _) = page(&db.pool, filter, before, 50).await.expect("page");
                assert!(!entries.is_empty(), "{filter:?} {before:?}");
                // Shown with --nocapture: the figures of docs/benchmarks.md#console.
                eprintln!("{filter:?} {before:?}: {:?} — {plan}", started.elapsed());
            }
        }
    }
}
