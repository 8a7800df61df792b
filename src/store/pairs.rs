//! The `pairs` table: configured tracker ↔ board pairs, their Trello member and reconcile health.

use super::Exec;

use super::{Db, StoreError, now_ms};
use crate::model::TrackerKind;

/// A pair as configured (the part of `[[pairs]]` the database keeps).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPair {
    pub name: String,
    /// The lead tracker's kind (`pairs.tracker`).
    pub tracker: TrackerKind,
    /// What locates the pair's leads in that tracker, as JSON (`pairs.tracker_settings`):
    /// `{"spreadsheet_id","sheet"}` for Sheets, `{"base_id","table"}` for Airtable. Kept for
    /// operators reading the database; the config stays what the daemon runs by.
    pub tracker_settings: serde_json::Value,
    /// Sheets pairs only (empty otherwise): the columns 0001 made `NOT NULL`.
    pub spreadsheet_id: String,
    pub sheet: String,
    pub board_id: String,
}

impl NewPair {
    /// A Google Sheets pair: its settings are the spreadsheet and the sheet (tab).
    pub fn sheets(name: &str, spreadsheet_id: &str, sheet: &str, board_id: &str) -> Self {
        Self {
            name: name.to_owned(),
            tracker: TrackerKind::Sheets,
            tracker_settings: serde_json::json!({"spreadsheet_id": spreadsheet_id, "sheet": sheet}),
            spreadsheet_id: spreadsheet_id.to_owned(),
            sheet: sheet.to_owned(),
            board_id: board_id.to_owned(),
        }
    }

    /// An Airtable pair: its settings are the base and the table (name or id).
    pub fn airtable(name: &str, base_id: &str, table: &str, board_id: &str) -> Self {
        Self {
            name: name.to_owned(),
            tracker: TrackerKind::Airtable,
            tracker_settings: serde_json::json!({"base_id": base_id, "table": table}),
            spreadsheet_id: String::new(),
            sheet: String::new(),
            board_id: board_id.to_owned(),
        }
    }

    /// A Notion pair: its settings name the database (or the data source) as configured.
    pub fn notion(name: &str, settings: serde_json::Value, board_id: &str) -> Self {
        Self {
            name: name.to_owned(),
            tracker: TrackerKind::Notion,
            tracker_settings: settings,
            spreadsheet_id: String::new(),
            sheet: String::new(),
            board_id: board_id.to_owned(),
        }
    }
}

/// A stored pair.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Pair {
    pub name: String,
    pub spreadsheet_id: String,
    pub sheet: String,
    pub board_id: String,
    /// `sheets` for every pair stored before trackers had kinds.
    pub tracker: String,
    /// JSON; `NULL` until the pair is next upserted (a database upgraded from 0003).
    pub tracker_settings: Option<String>,
    pub member_id: Option<String>,
    pub last_reconcile_at: Option<i64>,
    pub last_error: Option<String>,
}

/// Upserts every configured pair in one transaction. Pairs no longer configured are kept: deleting
/// them would cascade to their links, and a pair briefly commented out must not lose its history.
pub async fn upsert_all(db: &Db, pairs: &[NewPair]) -> Result<(), StoreError> {
    let mut tx = db.begin_write().await?;
    for pair in pairs {
        upsert(&mut *tx, pair).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Inserts a pair or updates its tracker, sheet and board, keeping member id and reconcile state.
pub async fn upsert(exec: impl Exec<'_>, pair: &NewPair) -> Result<(), StoreError> {
    let now = now_ms();
    sqlx::query(
        "INSERT INTO pairs (name, spreadsheet_id, sheet, board_id, tracker, tracker_settings,
                            created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
         ON CONFLICT (name) DO UPDATE SET
             spreadsheet_id = excluded.spreadsheet_id,
             sheet = excluded.sheet,
             board_id = excluded.board_id,
             tracker = excluded.tracker,
             tracker_settings = excluded.tracker_settings,
             updated_at = excluded.updated_at",
    )
    .bind(&pair.name)
    .bind(&pair.spreadsheet_id)
    .bind(&pair.sheet)
    .bind(&pair.board_id)
    .bind(pair.tracker.as_str())
    .bind(pair.tracker_settings.to_string())
    .bind(now)
    .execute(exec)
    .await?;
    Ok(())
}

const COLUMNS: &str = "name, spreadsheet_id, sheet, board_id, tracker, tracker_settings, \
                       member_id, last_reconcile_at, last_error";

pub async fn get(exec: impl Exec<'_>, name: &str) -> Result<Option<Pair>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM pairs WHERE name = $1");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(name)
        .fetch_optional(exec)
        .await?)
}

/// All pairs, by name.
pub async fn list(exec: impl Exec<'_>) -> Result<Vec<Pair>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM pairs ORDER BY name");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .fetch_all(exec)
        .await?)
}

/// Records the Trello member id of the pair's token (learned at start-up).
pub async fn set_member_id(
    exec: impl Exec<'_>,
    name: &str,
    member_id: &str,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE pairs SET member_id = $1, updated_at = $2 WHERE name = $3")
        .bind(member_id)
        .bind(now_ms())
        .bind(name)
        .execute(exec)
        .await?;
    Ok(())
}

/// Records a completed reconciliation at `at_ms` and clears the pair's last error.
pub async fn record_reconcile(
    exec: impl Exec<'_>,
    name: &str,
    at_ms: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE pairs SET last_reconcile_at = $1, last_error = NULL, updated_at = $2 WHERE name = $3",
    )
    .bind(at_ms)
    .bind(now_ms())
    .bind(name)
    .execute(exec)
    .await?;
    Ok(())
}

/// Records the pair's most recent failure (shown by `/admin/status`).
pub async fn record_error(exec: impl Exec<'_>, name: &str, error: &str) -> Result<(), StoreError> {
    sqlx::query("UPDATE pairs SET last_error = $1, updated_at = $2 WHERE name = $3")
        .bind(error)
        .bind(now_ms())
        .bind(name)
        .execute(exec)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testdb::{pair, temp_db};

    #[tokio::test]
    async fn upsert_updates_the_sheet_and_board_but_keeps_member_and_reconcile_state() {
        let db = temp_db().await;
        set_member_id(&db.pool, "a", "member-1")
            .await
            .expect("member");
        record_reconcile(&db.pool, "a", 1_000)
            .await
            .expect("reconcile");
        let mut changed = pair("a");
        changed.board_id = "board-new".into();
        upsert_all(&db, &[changed, pair("c")])
            .await
            .expect("upsert");
        let a = get(&db.pool, "a").await.expect("get").expect("pair a");
        assert_eq!(a.board_id, "board-new");
        assert_eq!(a.member_id.as_deref(), Some("member-1"));
        assert_eq!(a.last_reconcile_at, Some(1_000));
        let names: Vec<String> = list(&db.pool)
            .await
            .expect("list")
            .into_iter()
            .map(|p| p.name)
            .collect();
        assert_eq!(names, ["a", "b", "c"]);
        assert!(get(&db.pool, "zzz").await.expect("get").is_none());
    }

    #[tokio::test]
    async fn upsert_stores_the_tracker_kind_and_its_settings_as_json() {
        let db = temp_db().await;
        let a = get(&db.pool, "a").await.expect("get").expect("pair a");
        assert_eq!(a.tracker, "sheets");
        let settings: serde_json::Value =
            serde_json::from_str(a.tracker_settings.as_deref().expect("settings")).expect("json");
        assert_eq!(
            settings,
            serde_json::json!({"spreadsheet_id": "sheet-a", "sheet": "Leads"})
        );
        // A pair moved to Airtable keeps its member and history; kind and settings follow.
        set_member_id(&db.pool, "a", "member-1")
            .await
            .expect("member");
        let moved = NewPair::airtable("a", "appB", "Leads", "board-a");
        upsert_all(&db, &[moved]).await.expect("upsert");
        let a = get(&db.pool, "a").await.expect("get").expect("pair a");
        assert_eq!(a.tracker, "airtable");
        assert_eq!((a.spreadsheet_id.as_str(), a.sheet.as_str()), ("", ""));
        assert_eq!(a.member_id.as_deref(), Some("member-1"));
        let settings: serde_json::Value =
            serde_json::from_str(a.tracker_settings.as_deref().expect("settings")).expect("json");
        assert_eq!(
            settings,
            serde_json::json!({"base_id": "appB", "table": "Leads"})
        );
    }

    #[tokio::test]
    async fn an_error_is_recorded_and_cleared_by_the_next_reconcile() {
        let db = temp_db().await;
        record_error(&db.pool, "a", "sheet read failed")
            .await
            .expect("err");
        let a = get(&db.pool, "a").await.expect("get").expect("a");
        assert_eq!(a.last_error.as_deref(), Some("sheet read failed"));
        record_error(&db.pool, "a", "again").await.expect("err");
        record_reconcile(&db.pool, "a", 5).await.expect("rec");
        let a = get(&db.pool, "a").await.expect("get").expect("a");
        assert_eq!((a.last_error, a.last_reconcile_at), (None, Some(5)));
    }
}
