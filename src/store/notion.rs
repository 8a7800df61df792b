//! Notion's tables (migration 0007): the subscription's verification token, the events the door
//! stored and the change feed has yet to read, each pair's poll high-water mark, and each page's
//! properties as last read (a page read says what a page holds; the change is the difference).

use std::collections::{BTreeMap, HashMap};

use super::Exec;

use super::{Dialect, StoreError, now_ms};

/// The stored verification token, if Notion's verification request delivered one.
pub async fn verification_token(exec: impl Exec<'_>) -> Result<Option<String>, StoreError> {
    Ok(
        sqlx::query_scalar("SELECT token FROM notion_verification WHERE id = 1")
            .fetch_optional(exec)
            .await?,
    )
}

/// Keeps `token` unless one is kept already; answers whether it was kept (a later verification
/// request never replaces the first one's token).
pub async fn keep_verification_token(exec: impl Exec<'_>, token: &str) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "INSERT INTO notion_verification (id, token, received_at) VALUES (1, $1, $2)
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(token)
    .bind(now_ms())
    .execute(exec)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Forgets the stored token (for a new subscription); answers whether one was stored.
pub async fn reset_verification_token(exec: impl Exec<'_>) -> Result<bool, StoreError> {
    let done = sqlx::query("DELETE FROM notion_verification")
        .execute(exec)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// An event as the door stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent<'a> {
    pub id: &'a str,
    pub kind: &'a str,
    pub page_id: Option<&'a str>,
    pub parent_id: Option<&'a str>,
    /// The event's time (ms).
    pub at: i64,
    pub body: &'a [u8],
}

/// Stores an event unless one with its id is stored already; answers whether it is new.
pub async fn insert_event(exec: impl Exec<'_>, e: &NewEvent<'_>) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "INSERT INTO notion_events (id, kind, page_id, parent_id, at, received_at, body)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING",
    )
    .bind(e.id)
    .bind(e.kind)
    .bind(e.page_id)
    .bind(e.parent_id)
    .bind(e.at)
    .bind(now_ms())
    .bind(e.body)
    .execute(exec)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A stored event the change feed has not read yet.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PendingEvent {
    pub id: String,
    pub kind: String,
    pub page_id: Option<String>,
    pub parent_id: Option<String>,
    pub at: i64,
    pub attempts: i64,
}

/// Up to `limit` unread events, oldest first.
pub async fn pending_events(
    exec: impl Exec<'_>,
    limit: i64,
) -> Result<Vec<PendingEvent>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT id, kind, page_id, parent_id, at, attempts FROM notion_events
         WHERE done = 0 ORDER BY received_at, id LIMIT $1",
    )
    .bind(limit)
    .fetch_all(exec)
    .await?)
}

/// Marks an event read (in the transaction that stores what its page holds).
pub async fn mark_event_done(exec: impl Exec<'_>, id: &str) -> Result<(), StoreError> {
    sqlx::query("UPDATE notion_events SET done = 1, last_error = NULL WHERE id = $1")
        .bind(id)
        .execute(exec)
        .await?;
    Ok(())
}

/// Notes a failed read of an event's page; it stays unread and is tried again.
pub async fn note_event_error(
    exec: impl Exec<'_>,
    id: &str,
    error: &str,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE notion_events SET attempts = attempts + 1, last_error = $2 WHERE id = $1")
        .bind(id)
        .bind(error)
        .execute(exec)
        .await?;
    Ok(())
}

/// The pair's poll high-water mark (ms): when its last completed poll began.
pub async fn polled_at(exec: impl Exec<'_>, pair: &str) -> Result<Option<i64>, StoreError> {
    Ok(
        sqlx::query_scalar("SELECT polled_at FROM notion_polls WHERE pair = $1")
            .bind(pair)
            .fetch_optional(exec)
            .await?,
    )
}

/// Moves the pair's poll mark (in the transaction that stores what the poll read).
pub async fn set_polled_at(exec: impl Exec<'_>, pair: &str, at: i64) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO notion_polls (pair, polled_at) VALUES ($1, $2)
         ON CONFLICT (pair) DO UPDATE SET polled_at = excluded.polled_at",
    )
    .bind(pair)
    .bind(at)
    .execute(exec)
    .await?;
    Ok(())
}

/// A page's properties (name → text) as leadsync last read them, if it did.
pub async fn page_snapshot(
    exec: impl Exec<'_>,
    pair: &str,
    page_id: &str,
) -> Result<Option<BTreeMap<String, String>>, StoreError> {
    let cells: Option<String> =
        sqlx::query_scalar("SELECT cells FROM notion_pages WHERE pair = $1 AND page_id = $2")
            .bind(pair)
            .bind(page_id)
            .fetch_optional(exec)
            .await?;
    // A snapshot that no longer parses is as good as none: the next read is taken whole.
    Ok(cells.and_then(|c| serde_json::from_str(&c).ok()))
}

/// Keeps a page's properties as just read.
pub async fn set_page_snapshot(
    exec: impl Exec<'_>,
    pair: &str,
    page_id: &str,
    edited_at: i64,
    cells: &BTreeMap<String, String>,
) -> Result<(), StoreError> {
    let replace = "DO UPDATE SET edited_at = excluded.edited_at, cells = excluded.cells";
    insert_page(exec, (pair, page_id), edited_at, cells, replace).await
}

/// Keeps a page's properties as a create of leadsync's made them, unless the page was read
/// already (a read answered before the create's answer is newer than the create): the page's
/// first read then finds leadsync's own values unchanged, not a person's edit at the read's time.
pub async fn keep_created_page(
    exec: impl Exec<'_>,
    pair: &str,
    page_id: &str,
    edited_at: i64,
    cells: &BTreeMap<String, String>,
) -> Result<(), StoreError> {
    insert_page(exec, (pair, page_id), edited_at, cells, "DO NOTHING").await
}

/// A page's snapshot inserted; `on_conflict` (a constant of this file, never input) says what
/// an existing one becomes.
async fn insert_page(
    exec: impl Exec<'_>,
    (pair, page_id): (&str, &str),
    edited_at: i64,
    cells: &BTreeMap<String, String>,
    on_conflict: &'static str,
) -> Result<(), StoreError> {
    let text = serde_json::to_string(cells).unwrap_or_else(|_| "{}".into());
    let sql = format!(
        "INSERT INTO notion_pages (pair, page_id, edited_at, cells) VALUES ($1, $2, $3, $4)
         ON CONFLICT (pair, page_id) {on_conflict}"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(pair)
        .bind(page_id)
        .bind(edited_at)
        .bind(text)
        .execute(exec)
        .await?;
    Ok(())
}

/// Every kept snapshot of a pair's pages, by page id: what a poll compares its reads with, taken
/// before its query (a write of ours folded while the query is on its way must not make the
/// query's older value look new).
pub async fn page_snapshots(
    exec: impl Exec<'_>,
    pair: &str,
) -> Result<HashMap<String, BTreeMap<String, String>>, StoreError> {
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT page_id, cells FROM notion_pages WHERE pair = $1")
            .bind(pair)
            .fetch_all(exec)
            .await?;
    Ok((rows.into_iter())
        .filter_map(|(id, cells)| Some((id, serde_json::from_str(&cells).ok()?)))
        .collect())
}

/// Folds the properties a write of leadsync's just set (name → text, as the answer showed them)
/// into the page's snapshot, if it has one. A later read then finds them unchanged: they are no
/// edit of whoever edits the page next (a person's edit of another property makes the page
/// theirs, and every property that differs from the snapshot would be taken for their change).
pub async fn merge_page_snapshot(
    exec: impl Exec<'_>,
    pair: &str,
    page_id: &str,
    cells: &BTreeMap<String, String>,
) -> Result<(), StoreError> {
    let text = serde_json::to_string(cells).unwrap_or_else(|_| "{}".into());
    // The cells are one flat object of texts: a merge patch is a union with the new side
    // winning, which PostgreSQL's `jsonb ||` is.
    let sql = match exec.dialect() {
        Dialect::Sqlite => {
            "UPDATE notion_pages SET cells = json_patch(cells, $3) WHERE pair = $1 AND page_id = $2"
        }
        Dialect::Postgres => {
            "UPDATE notion_pages SET cells = CAST(CAST(cells AS jsonb) || CAST($3 AS jsonb) AS TEXT) WHERE pair = $1 AND page_id = $2"
        }
    };
    sqlx::query(sql)
        .bind(pair)
        .bind(page_id)
        .bind(text)
        .execute(exec)
        .await?;
    Ok(())
}

/// The payloads of the lead's page writes not finished yet (`write_row` pending or being sent):
/// until one lands, the page may show what its properties held before it.
pub async fn unfinished_page_writes(
    exec: impl Exec<'_>,
    pair: &str,
    lead_id: &str,
) -> Result<Vec<String>, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT payload FROM outbox WHERE pair = $1 AND lead_id = $2 AND kind = 'write_row'
           AND status IN ('pending', 'in_flight') ORDER BY id",
    )
    .bind(pair)
    .bind(lead_id)
    .fetch_all(exec)
    .await?)
}

/// Forgets a page (deleted in Notion): a page restored later is read whole again.
pub async fn forget_page(exec: impl Exec<'_>, pair: &str, page_id: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM notion_pages WHERE pair = $1 AND page_id = $2")
        .bind(pair)
        .bind(page_id)
        .execute(exec)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testdb::temp_db;

    #[tokio::test]
    async fn the_first_verification_token_is_kept_until_reset() {
        let db = temp_db().await;
        let pool = &db.pool;
        assert_eq!(verification_token(pool).await.unwrap(), None);
        assert!(keep_verification_token(pool, "secret_1").await.unwrap());
        assert!(!keep_verification_token(pool, "secret_2").await.unwrap());
        assert_eq!(
            verification_token(pool).await.unwrap().as_deref(),
            Some("secret_1")
        );
        assert!(reset_verification_token(pool).await.unwrap());
        assert!(keep_verification_token(pool, "secret_2").await.unwrap());
        assert_eq!(
            verification_token(pool).await.unwrap().as_deref(),
            Some("secret_2")
        );
    }

    #[tokio::test]
    async fn an_event_is_stored_once_and_read_until_done() {
        let db = temp_db().await;
        let pool = &db.pool;
        let e = NewEvent {
            id: "ev1",
            kind: "page.created",
            page_id: Some("p1"),
            parent_id: None,
            at: 5,
            body: b"{}",
        };
        assert!(insert_event(pool, &e).await.unwrap());
        assert!(
            !insert_event(pool, &e).await.unwrap(),
            "a replay is not stored twice"
        );
        note_event_error(pool, "ev1", "timeout").await.unwrap();
        let pending = pending_events(pool, 10).await.unwrap();
        assert_eq!((pending.len(), pending[0].attempts), (1, 1));
        mark_event_done(pool, "ev1").await.unwrap();
        assert!(pending_events(pool, 10).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn poll_marks_and_page_snapshots_are_kept_per_pair() {
        let db = temp_db().await;
        let pool = &db.pool;
        assert_eq!(polled_at(pool, "a").await.unwrap(), None);
        set_polled_at(pool, "a", 10).await.unwrap();
        set_polled_at(pool, "a", 20).await.unwrap();
        assert_eq!(polled_at(pool, "a").await.unwrap(), Some(20));
        let cells = BTreeMap::from([("Name".to_owned(), "Ada".to_owned())]);
        set_page_snapshot(pool, "a", "p1", 1, &cells).await.unwrap();
        assert_eq!(page_snapshot(pool, "a", "p1").await.unwrap(), Some(cells));
        assert_eq!(page_snapshot(pool, "b", "p1").await.unwrap(), None);
        forget_page(pool, "a", "p1").await.unwrap();
        assert_eq!(page_snapshot(pool, "a", "p1").await.unwrap(), None);
    }
}
