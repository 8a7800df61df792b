//! The `links` table: which card belongs to which lead, per pair.

use super::Exec;

use super::{StoreError, now_ms};

pub use super::rename::rename_lead;

#[derive(Debug, Clone, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct Link {
    pub pair: String,
    pub lead_id: String,
    /// `None` while the card is being created (or after its card was deleted).
    pub card_id: Option<String>,
    pub card_short_url: Option<String>,
    /// Last known 1-based sheet row: a hint for targeted writes, never an identity.
    pub row_hint: Option<i64>,
    #[sqlx(try_from = "super::Flag")]
    pub card_closed: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A link to create; reconciliation rebuilding a lost database fills in the card at once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewLink {
    pub pair: String,
    pub lead_id: String,
    pub card_id: Option<String>,
    pub card_short_url: Option<String>,
    pub row_hint: Option<i64>,
    /// leadsync made this id for a row that had none; it is on its way to the sheet.
    pub id_assigned: bool,
}

// Only constants are formatted into these statements.
pub(crate) const COLUMNS: &str =
    "pair, lead_id, card_id, card_short_url, row_hint, card_closed, created_at, updated_at";
/// A link whose record its tracker deleted is tombstoned (`store::tombstones`): kept for the
/// record's return, but no lead anyone reads — as if forgotten.
const LIVE: &str = "record_deleted_at IS NULL";

pub async fn get_by_lead(
    exec: impl Exec<'_>,
    pair: &str,
    lead_id: &str,
) -> Result<Option<Link>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM links WHERE pair = $1 AND lead_id = $2 AND {LIVE}");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(pair)
        .bind(lead_id)
        .fetch_optional(exec)
        .await?)
}

pub async fn get_by_card(
    exec: impl Exec<'_>,
    pair: &str,
    card_id: &str,
) -> Result<Option<Link>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM links WHERE pair = $1 AND card_id = $2 AND {LIVE}");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(pair)
        .bind(card_id)
        .fetch_optional(exec)
        .await?)
}

/// Every link of a pair, by lead id.
pub async fn list(exec: impl Exec<'_>, pair: &str) -> Result<Vec<Link>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM links WHERE pair = $1 AND {LIVE} ORDER BY lead_id");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(pair)
        .fetch_all(exec)
        .await?)
}

/// Inserts a link; returns false (and changes nothing) when the lead is already linked.
/// A tombstoned link of the lead (its record deleted, now back) is revived instead: its card
/// (or the one the new link names, found on the board by its marker),
/// the card's archived state (open again when the deletion archived it, since the caller
/// unarchives it) and its agreed field states are the lead's again; true.
/// A card already linked to another lead of the pair is [`StoreError::CardAlreadyLinked`].
pub async fn insert(exec: impl Exec<'_>, link: &NewLink) -> Result<bool, StoreError> {
    let result = sqlx::query(
        "INSERT INTO links (pair, lead_id, card_id, card_short_url, row_hint, created_at, updated_at,
                            id_assigned_at)
         VALUES ($1, $2, $3, $4, $5, $6, $6, CASE WHEN $7 THEN $6 END)
         ON CONFLICT (pair, lead_id) DO UPDATE SET
            card_id = coalesce(excluded.card_id, links.card_id),
            card_short_url = CASE WHEN excluded.card_id IS NULL THEN links.card_short_url
                                  ELSE excluded.card_short_url END,
            card_closed = CASE WHEN links.deletion_archived = 1 THEN 0 ELSE links.card_closed END,
            row_hint = coalesce(excluded.row_hint, links.row_hint),
            record_deleted_at = NULL, deletion_archived = 0, updated_at = excluded.updated_at
         WHERE links.record_deleted_at IS NOT NULL",
    )
    .bind(&link.pair)
    .bind(&link.lead_id)
    .bind(&link.card_id)
    .bind(&link.card_short_url)
    .bind(link.row_hint)
    .bind(now_ms())
    .bind(link.id_assigned)
    .execute(exec)
    .await
    .map_err(|e| card_conflict(e, &link.pair, link.card_id.as_deref()))?;
    Ok(result.rows_affected() == 1)
}

/// Records that leadsync's write of the lead's new id reached the sheet.
pub async fn set_id_landed(
    exec: impl Exec<'_>,
    pair: &str,
    lead_id: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE links SET id_landed_at = $1 WHERE pair = $2 AND lead_id = $3
           AND id_assigned_at IS NOT NULL AND id_landed_at IS NULL",
    )
    .bind(now_ms())
    .bind(pair)
    .bind(lead_id)
    .execute(exec)
    .await?;
    Ok(())
}

/// Forgets a lead leadsync made for a row its id could not be written to (the row was deleted,
/// or is no longer the one the id was made for), so no card is made for a row that is not
/// there. Only a lead with no card, whose id never landed and whose other id writes (after
/// `except`) are all done, is forgotten. True when it was.
pub async fn abandon_unlanded(
    exec: impl Exec<'_>,
    pair: &str,
    lead_id: &str,
    except: i64,
) -> Result<bool, StoreError> {
    let result = sqlx::query(
        "DELETE FROM links WHERE pair = $1 AND lead_id = $2 AND card_id IS NULL
           AND id_assigned_at IS NOT NULL AND id_landed_at IS NULL
           AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.pair = $1 AND o.lead_id = $2
                AND o.kind = 'write_row' AND o.status IN ('pending', 'in_flight') AND o.id <> $3)",
    )
    .bind(pair)
    .bind(lead_id)
    .bind(except)
    .execute(exec)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Attaches the created card. Returns false when the lead has no link.
/// A card already linked to another lead of the pair is [`StoreError::CardAlreadyLinked`].
pub async fn set_card(
    exec: impl Exec<'_>,
    pair: &str,
    lead_id: &str,
    card_id: &str,
    card_short_url: Option<&str>,
) -> Result<bool, StoreError> {
    let result = sqlx::query(
        "UPDATE links SET card_id = $1, card_short_url = $2, card_closed = 0, updated_at = $3
         WHERE pair = $4 AND lead_id = $5",
    )
    .bind(card_id)
    .bind(card_short_url)
    .bind(now_ms())
    .bind(pair)
    .bind(lead_id)
    .execute(exec)
    .await
    .map_err(|e| card_conflict(e, pair, Some(card_id)))?;
    Ok(result.rows_affected() == 1)
}

pub async fn set_row_hint(
    exec: impl Exec<'_>,
    pair: &str,
    lead_id: &str,
    row: i64,
) -> Result<bool, StoreError> {
    let result = sqlx::query(
        "UPDATE links SET row_hint = $1, updated_at = $2 WHERE pair = $3 AND lead_id = $4",
    )
    .bind(row)
    .bind(now_ms())
    .bind(pair)
    .bind(lead_id)
    .execute(exec)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Records whether the card is archived (closed) in Trello.
pub async fn set_closed(
    exec: impl Exec<'_>,
    pair: &str,
    lead_id: &str,
    closed: bool,
) -> Result<bool, StoreError> {
    let result = sqlx::query(
        "UPDATE links SET card_closed = $1, updated_at = $2 WHERE pair = $3 AND lead_id = $4",
    )
    .bind(i64::from(closed))
    .bind(now_ms())
    .bind(pair)
    .bind(lead_id)
    .execute(exec)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Deletes the link; its field states go with it (ON DELETE CASCADE). Returns whether it existed.
pub async fn delete(exec: impl Exec<'_>, pair: &str, lead_id: &str) -> Result<bool, StoreError> {
    let result = sqlx::query("DELETE FROM links WHERE pair = $1 AND lead_id = $2")
        .bind(pair)
        .bind(lead_id)
        .execute(exec)
        .await?;
    Ok(result.rows_affected() == 1)
}

fn card_conflict(e: sqlx::Error, pair: &str, card_id: Option<&str>) -> StoreError {
    match (&e, card_id) {
        (sqlx::Error::Database(db), Some(card_id)) if db.is_unique_violation() => {
            StoreError::CardAlreadyLinked {
                pair: pair.to_string(),
                card_id: card_id.to_string(),
            }
        }
        _ => StoreError::Sqlx(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testdb::temp_db;

    fn new_link(pair: &str, lead: &str, card: Option<&str>) -> NewLink {
        NewLink {
            pair: pair.into(),
            lead_id: lead.into(),
            card_id: card.map(Into::into),
            card_short_url: card.map(|c| format!("https://trello.com/c/{c}")),
            row_hint: Some(2),
            id_assigned: false,
        }
    }

    #[tokio::test]
    async fn a_lead_is_linked_without_a_card_and_then_gets_one() {
        let db = temp_db().await;
        assert!(
            insert(&db.pool, &new_link("a", "L1", None))
                .await
                .expect("insert")
        );
        assert!(
            !insert(&db.pool, &new_link("a", "L1", None))
                .await
                .expect("again")
        );
        let link = get_by_lead(&db.pool, "a", "L1")
            .await
            .expect("get")
            .expect("link");
        assert_eq!(
            (link.card_id, link.row_hint, link.card_closed),
            (None, Some(2), false)
        );
        assert!(
            set_card(&db.pool, "a", "L1", "C1", Some("https://trello.com/c/x"))
                .await
                .expect("set")
        );
        let by_card = get_by_card(&db.pool, "a", "C1")
            .await
            .expect("get")
            .expect("link");
        assert_eq!(by_card.lead_id, "L1");
        assert_eq!(
            by_card.card_short_url.as_deref(),
            Some("https://trello.com/c/x")
        );
        assert!(
            get_by_card(&db.pool, "b", "C1")
                .await
                .expect("get")
                .is_none()
        );
        assert!(
            !set_card(&db.pool, "a", "nobody", "C9", None)
                .await
                .expect("set")
        );
    }

    #[tokio::test]
    async fn a_card_linked_twice_is_a_typed_error_in_insert_and_set_card() {
        let db = temp_db().await;
        insert(&db.pool, &new_link("a", "L1", Some("C1")))
            .await
            .expect("insert");
        insert(&db.pool, &new_link("a", "L2", None))
            .await
            .expect("insert");
        let err = set_card(&db.pool, "a", "L2", "C1", None)
            .await
            .expect_err("dup");
        assert!(
            matches!(err, StoreError::CardAlreadyLinked { ref card_id, .. } if card_id == "C1")
        );
        let err = insert(&db.pool, &new_link("a", "L3", Some("C1")))
            .await
            .expect_err("dup");
        assert!(matches!(err, StoreError::CardAlreadyLinked { .. }));
        // Another pair may link the same card id, and many leads may wait for a card at once.
        insert(&db.pool, &new_link("b", "L1", Some("C1")))
            .await
            .expect("other pair");
        insert(&db.pool, &new_link("a", "L4", None))
            .await
            .expect("second cardless");
    }

    #[tokio::test]
    async fn row_hint_closed_flag_clear_card_and_list_are_kept() {
        let db = temp_db().await;
        insert(&db.pool, &new_link("a", "L2", Some("C2")))
            .await
            .expect("insert");
        insert(&db.pool, &new_link("a", "L1", Some("C1")))
            .await
            .expect("insert");
        insert(&db.pool, &new_link("b", "L9", None))
            .await
            .expect("insert");
        assert!(set_row_hint(&db.pool, "a", "L1", 7).await.expect("hint"));
        assert!(set_closed(&db.pool, "a", "L1", true).await.expect("closed"));
        let l1 = get_by_lead(&db.pool, "a", "L1")
            .await
            .expect("get")
            .expect("l1");
        assert_eq!((l1.row_hint, l1.card_closed), (Some(7), true));
        crate::store::lead_state::mark_card_deleted(&db.pool, "a", "L2")
            .await
            .expect("clear");
        let l2 = get_by_lead(&db.pool, "a", "L2")
            .await
            .expect("get")
            .expect("l2");
        assert_eq!((l2.card_id, l2.card_short_url), (None, None));
        let leads: Vec<String> = list(&db.pool, "a")
            .await
            .expect("list")
            .into_iter()
            .map(|l| l.lead_id)
            .collect();
        assert_eq!(leads, ["L1", "L2"]);
        assert!(delete(&db.pool, "a", "L1").await.expect("delete"));
        assert!(!delete(&db.pool, "a", "L1").await.expect("delete again"));
        assert!(
            get_by_lead(&db.pool, "a", "L1")
                .await
                .expect("get")
                .is_none()
        );
    }
}
