//! The engine's view of stored merge state: every field state column of a lead (or of a whole
//! pair, for reconciliation), and the deleted-card tombstone of a link.

use std::collections::HashMap;

use super::Exec;

use super::{StoreError, now_ms};

/// One row of `field_states` with the per-side memory the merge keeps. Times are unix ms.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StoredField {
    pub lead_id: String,
    pub field: String,
    pub agreed_hash: String,
    pub agreed_value: String,
    pub agreed_at: i64,
    pub last_writer: Option<String>,
    pub sheet_seen_at: Option<i64>,
    pub sheet_written_at: Option<i64>,
    pub trello_seen_at: Option<i64>,
    pub trello_written_at: Option<i64>,
}

const COLUMNS: &str = "lead_id, field, agreed_hash, agreed_value, agreed_at, last_writer, \
    sheet_seen_at, sheet_written_at, trello_seen_at, trello_written_at";

pub async fn load_lead(
    exec: impl Exec<'_>,
    pair: &str,
    lead_id: &str,
) -> Result<Vec<StoredField>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM field_states WHERE pair = $1 AND lead_id = $2");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(pair)
        .bind(lead_id)
        .fetch_all(exec)
        .await?)
}

/// The field states of the named leads of a pair in one query, grouped by lead: reconciliation
/// of thousands of leads must not cost a query per lead, nor hold every lead's state at once
/// (it asks a chunk of leads at a time).
pub async fn load_leads(
    exec: impl Exec<'_>,
    pair: &str,
    lead_ids: &[&str],
) -> Result<HashMap<String, Vec<StoredField>>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM field_states WHERE pair = $1 AND lead_id IN ({})",
        exec.dialect().list_of(2)
    );
    let ids = serde_json::json!(lead_ids).to_string();
    let rows: Vec<StoredField> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(pair)
        .bind(ids)
        .fetch_all(exec)
        .await?;
    let mut out: HashMap<String, Vec<StoredField>> = HashMap::new();
    for row in rows {
        out.entry(row.lead_id.clone()).or_default().push(row);
    }
    Ok(out)
}

/// Inserts or replaces one field's full state. The link must exist.
pub async fn save(exec: impl Exec<'_>, pair: &str, f: &StoredField) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO field_states (pair, lead_id, field, agreed_hash, agreed_value, agreed_at,
             last_writer, sheet_seen_at, sheet_written_at, trello_seen_at, trello_written_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
         ON CONFLICT (pair, lead_id, field) DO UPDATE SET
             agreed_hash = excluded.agreed_hash, agreed_value = excluded.agreed_value,
             agreed_at = excluded.agreed_at, last_writer = excluded.last_writer,
             sheet_seen_at = excluded.sheet_seen_at, sheet_written_at = excluded.sheet_written_at,
             trello_seen_at = excluded.trello_seen_at, trello_written_at = excluded.trello_written_at,
             updated_at = excluded.updated_at",
    )
    .bind(pair)
    .bind(&f.lead_id)
    .bind(&f.field)
    .bind(&f.agreed_hash)
    .bind(&f.agreed_value)
    .bind(f.agreed_at)
    .bind(&f.last_writer)
    .bind(f.sheet_seen_at)
    .bind(f.sheet_written_at)
    .bind(f.trello_seen_at)
    .bind(f.trello_written_at)
    .bind(now_ms())
    .execute(exec)
    .await?;
    Ok(())
}

/// The card was deleted in Trello: forget it, and remember not to recreate it on its own.
pub async fn mark_card_deleted(
    exec: impl Exec<'_>,
    pair: &str,
    lead_id: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE links SET card_id = NULL, card_short_url = NULL, card_closed = 0, card_deleted = 1,
             updated_at = $3
         WHERE pair = $1 AND lead_id = $2",
    )
    .bind(pair)
    .bind(lead_id)
    .bind(now_ms())
    .execute(exec)
    .await?;
    Ok(())
}

/// Leads of a pair whose card was deleted in Trello.
pub async fn deleted_cards(exec: impl Exec<'_>, pair: &str) -> Result<Vec<String>, StoreError> {
    Ok(
        sqlx::query_scalar("SELECT lead_id FROM links WHERE pair = $1 AND card_deleted = 1")
            .bind(pair)
            .fetch_all(exec)
            .await?,
    )
}

/// A new card replaces a deleted one: the tombstone is lifted.
pub async fn clear_card_deleted(
    exec: impl Exec<'_>,
    pair: &str,
    lead_id: &str,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE links SET card_deleted = 0 WHERE pair = $1 AND lead_id = $2")
        .bind(pair)
        .bind(lead_id)
        .execute(exec)
        .await?;
    Ok(())
}

/// Whether the lead's card was deleted in Trello (and not replaced since).
pub async fn is_card_deleted(
    exec: impl Exec<'_>,
    pair: &str,
    lead_id: &str,
) -> Result<bool, StoreError> {
    let flag: Option<i64> =
        sqlx::query_scalar("SELECT card_deleted FROM links WHERE pair = $1 AND lead_id = $2")
            .bind(pair)
            .bind(lead_id)
            .fetch_optional(exec)
            .await?;
    Ok(flag == Some(1))
}

/// Whether a card create for the lead is queued or on its way.
pub async fn create_pending(
    exec: impl Exec<'_>,
    pair: &str,
    lead_id: &str,
) -> Result<bool, StoreError> {
    let n: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM outbox WHERE pair = $1 AND lead_id = $2 AND kind = 'create_card'
           AND status IN ('pending', 'in_flight')",
    )
    .bind(pair)
    .bind(lead_id)
    .fetch_one(exec)
    .await?;
    Ok(n > 0)
}

/// True while an id leadsync gave a row of the pair has not landed and its write is still to
/// be sent: until then, a row read without an id may be that row. A dead-lettered write is
/// not on its way (it is sent again only when requeued, and then finds its row by name or
/// gives the lead up), so it holds no new row back.
pub async fn ids_on_their_way(exec: impl Exec<'_>, pair: &str) -> Result<bool, StoreError> {
    let n: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM links l WHERE l.pair = $1
           AND l.id_assigned_at IS NOT NULL AND l.id_landed_at IS NULL
           AND EXISTS (SELECT 1 FROM outbox o WHERE o.pair = l.pair AND o.lead_id = l.lead_id
                AND o.kind = 'write_row' AND o.status IN ('pending', 'in_flight'))",
    )
    .bind(pair)
    .fetch_one(exec)
    .await?;
    Ok(n > 0)
}

/// The payloads of a lead's commands not sent yet, or dead-lettered (sent later, once
/// requeued): what lands after a decision made now.
pub async fn unsent_payloads(
    exec: impl Exec<'_>,
    pair: &str,
    lead_id: &str,
) -> Result<Vec<String>, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT payload FROM outbox WHERE pair = $1 AND lead_id = $2
           AND status IN ('pending', 'in_flight', 'dead') ORDER BY id",
    )
    .bind(pair)
    .bind(lead_id)
    .fetch_all(exec)
    .await?)
}

/// The header texts (trimmed, lower-cased) of the cells a lead's row writes set after
/// `since_ms`, or will set (not sent yet): a read of the row taken at `since_ms` shows what
/// those writes replace.
pub async fn row_cells_written_after(
    exec: impl Exec<'_>,
    pair: &str,
    lead_id: &str,
    since_ms: i64,
) -> Result<std::collections::HashSet<String>, StoreError> {
    let payloads: Vec<String> = sqlx::query_scalar(
        "SELECT payload FROM outbox WHERE pair = $1 AND lead_id = $2 AND kind = 'write_row'
           AND (status IN ('pending', 'in_flight') OR (status = 'done' AND updated_at > $3))",
    )
    .bind(pair)
    .bind(lead_id)
    .bind(since_ms)
    .fetch_all(exec)
    .await?;
    Ok(payloads
        .iter()
        .filter_map(|p| serde_json::from_str::<serde_json::Value>(p).ok())
        .filter_map(|v| v.get("cells").and_then(|c| c.as_object()).cloned())
        .flat_map(|cells| {
            cells
                .keys()
                .map(|k| k.trim().to_lowercase())
                .collect::<Vec<_>>()
        })
        .collect())
}

/// True while some card of the pair is being created (`create_card` pending or in flight):
/// a card event that matches no link may be about that card, whose link is not set yet.
pub async fn creates_unfinished(exec: impl Exec<'_>, pair: &str) -> Result<bool, StoreError> {
    let n: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM outbox WHERE pair = $1 AND kind = 'create_card'
           AND status IN ('pending', 'in_flight')",
    )
    .bind(pair)
    .fetch_one(exec)
    .await?;
    Ok(n > 0)
}

/// The payloads of the lead's tracker writes (`write_row`, `append_row`) made or queued since
/// `since_ms`, whatever became of them: a change the tracker reports as made through the API
/// that shows one of their values is leadsync's own write coming back, however late.
pub async fn recent_tracker_writes(
    exec: impl Exec<'_>,
    pair: &str,
    lead_id: &str,
    since_ms: i64,
) -> Result<Vec<String>, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT payload FROM outbox WHERE pair = $1 AND lead_id = $2
           AND kind IN ('write_row', 'append_row') AND updated_at >= $3 ORDER BY id",
    )
    .bind(pair)
    .bind(lead_id)
    .bind(since_ms)
    .fetch_all(exec)
    .await?)
}

/// True while a record leadsync asked a tracker to create (`append_row`) may exist without its
/// lead knowing it yet: pending, being sent, or dead-lettered with its outcome unknown. A record
/// the tracker shows that no lead holds may be that one, about to be adopted by its lead.
pub async fn appends_unfinished(exec: impl Exec<'_>, pair: &str) -> Result<bool, StoreError> {
    let n: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM outbox WHERE pair = $1 AND kind = 'append_row'
           AND status IN ('pending', 'in_flight', 'dead')",
    )
    .bind(pair)
    .fetch_one(exec)
    .await?;
    Ok(n > 0)
}

/// Moves the time leadsync last wrote `side` of these fields to `at_ms` (never back): the
/// merge records a write when it is planned, but it overwrote that side only when it landed,
/// and a user's change made in between was lost to it (and must win if it is the newer).
pub async fn mark_written(
    conn: &mut super::Conn,
    pair: &str,
    lead_id: &str,
    side: &str,
    fields: &[&str],
    at_ms: i64,
) -> Result<(), StoreError> {
    let column = match side {
        "sheet" => "sheet_written_at",
        _ => "trello_written_at",
    };
    let sql = format!(
        "UPDATE field_states SET {column} =
             CASE WHEN coalesce({column}, 0) > $1 THEN {column} ELSE $1 END
         WHERE pair = $2 AND lead_id = $3 AND field = $4"
    );
    for field in fields {
        sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
            .bind(at_ms)
            .bind(pair)
            .bind(lead_id)
            .bind(field)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Every lead leadsync made for a row without an id since `created_since_ms` whose id had not
/// landed in the sheet by `edited_at_ms`, newest first, with the row it was made at: a row
/// edited then showed no id, and may be any of them (rows move).
pub async fn unlanded_new_leads(
    exec: impl Exec<'_>,
    pair: &str,
    created_since_ms: i64,
    edited_at_ms: i64,
) -> Result<Vec<(String, Option<i64>)>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT lead_id, row_hint FROM links WHERE pair = $1 AND id_assigned_at >= $2
           AND (id_landed_at IS NULL OR id_landed_at > $3)
         ORDER BY created_at DESC",
    )
    .bind(pair)
    .bind(created_since_ms)
    .bind(edited_at_ms)
    .fetch_all(exec)
    .await?)
}

/// Leads of a pair whose link, field states or outbox changed at or after `since_ms`.
pub async fn touched_since(
    exec: impl Exec<'_>,
    pair: &str,
    since_ms: i64,
) -> Result<std::collections::HashSet<String>, StoreError> {
    let rows: Vec<String> = sqlx::query_scalar(
        "SELECT lead_id FROM links WHERE pair = $1 AND updated_at >= $2
         UNION SELECT lead_id FROM field_states WHERE pair = $1 AND updated_at >= $2
         UNION SELECT lead_id FROM outbox WHERE pair = $1 AND lead_id IS NOT NULL AND updated_at >= $2",
    )
    .bind(pair)
    .bind(since_ms)
    .fetch_all(exec)
    .await?;
    Ok(rows.into_iter().collect())
}

/// Leads of a pair with dead-lettered commands. Their agreed state already holds the value the
/// command failed to write, so the target still shows the old one: reconciling them would read
/// that old value as a fresh change and copy it back over the user's edit.
pub async fn leads_with_dead_letters(
    exec: impl Exec<'_>,
    pair: &str,
) -> Result<Vec<String>, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT DISTINCT lead_id FROM outbox
         WHERE pair = $1 AND lead_id IS NOT NULL AND status = 'dead'",
    )
    .bind(pair)
    .fetch_all(exec)
    .await?)
}

#[cfg(test)]
#[path = "lead_state_tests.rs"]
mod tests;
