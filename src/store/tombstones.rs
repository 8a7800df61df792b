//! Tombstoned links: a lead whose record its tracker deleted (an Airtable record, a Notion page
//! in the trash) keeps its link row, marked deleted, instead of losing it. Every reader of
//! `store::links` sees no such lead (as if forgotten); when the same record id comes back (a page
//! restored from the trash), `links::insert` revives the link, with its card and agreed field
//! states, and the caller unarchives the card the deletion archived: no second card.

use super::Exec;

use super::links::{COLUMNS, Link};
use super::{StoreError, now_ms};

/// A deleted record's link as kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tombstone {
    pub link: Link,
    /// The deletion archived the lead's card: the record's return unarchives it.
    pub archived: bool,
}

/// Tombstones the lead's live link; `archived`: the deletion archives its card. True when a
/// live link was tombstoned.
pub async fn tombstone(
    exec: impl Exec<'_>,
    pair: &str,
    lead_id: &str,
    archived: bool,
) -> Result<bool, StoreError> {
    let result = sqlx::query(
        "UPDATE links SET record_deleted_at = $1, deletion_archived = $2, updated_at = $1
         WHERE pair = $3 AND lead_id = $4 AND record_deleted_at IS NULL",
    )
    .bind(now_ms())
    .bind(i64::from(archived))
    .bind(pair)
    .bind(lead_id)
    .execute(exec)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// The lead's tombstoned link, if its record was deleted (and has not come back).
pub async fn get(
    exec: impl Exec<'_>,
    pair: &str,
    lead_id: &str,
) -> Result<Option<Tombstone>, StoreError> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        link: Link,
        #[sqlx(try_from = "super::Flag")]
        deletion_archived: bool,
    }
    // Only constants are formatted into the statement.
    let sql = format!(
        "SELECT {COLUMNS}, deletion_archived FROM links
         WHERE pair = $1 AND lead_id = $2 AND record_deleted_at IS NOT NULL"
    );
    let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(pair)
        .bind(lead_id)
        .fetch_optional(exec)
        .await?;
    Ok(row.map(|r| Tombstone {
        link: r.link,
        archived: r.deletion_archived,
    }))
}

/// The pair's tombstoned leads whose deletion archived their card (what a reconciliation that
/// finds one of their records again unarchives).
pub async fn archived_leads(exec: impl Exec<'_>, pair: &str) -> Result<Vec<String>, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT lead_id FROM links
         WHERE pair = $1 AND record_deleted_at IS NOT NULL AND deletion_archived = 1",
    )
    .bind(pair)
    .fetch_all(exec)
    .await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::lead_state::{self, StoredField};
    use crate::store::links::{self, NewLink};
    use crate::store::testdb::temp_db;

    fn new_link(lead: &str, card: Option<&str>) -> NewLink {
        NewLink {
            pair: "a".into(),
            lead_id: lead.into(),
            card_id: card.map(Into::into),
            card_short_url: card.map(|c| format!("https://trello.com/c/{c}")),
            ..NewLink::default()
        }
    }

    #[tokio::test]
    async fn a_tombstoned_link_is_no_lead_until_its_record_comes_back_with_its_card_and_states() {
        let db = temp_db().await;
        let pool = &db.pool;
        links::insert(pool, &new_link("L1", Some("C1")))
            .await
            .unwrap();
        let name = StoredField {
            lead_id: "L1".into(),
            field: "name".into(),
            agreed_hash: "h".into(),
            agreed_value: "Ada".into(),
            agreed_at: 1,
            last_writer: None,
            sheet_seen_at: None,
            sheet_written_at: None,
            trello_seen_at: None,
            trello_written_at: None,
        };
        lead_state::save(pool, "a", &name).await.unwrap();
        assert!(tombstone(pool, "a", "L1", true).await.unwrap());
        assert!(!tombstone(pool, "a", "L1", true).await.unwrap(), "once");
        links::set_closed(pool, "a", "L1", true).await.unwrap();
        assert_eq!(links::get_by_lead(pool, "a", "L1").await.unwrap(), None);
        assert_eq!(links::get_by_card(pool, "a", "C1").await.unwrap(), None);
        assert!(links::list(pool, "a").await.unwrap().is_empty());
        let kept = get(pool, "a", "L1").await.unwrap().expect("tombstone");
        assert_eq!(
            (kept.link.card_id.as_deref(), kept.archived),
            (Some("C1"), true)
        );
        assert_eq!(archived_leads(pool, "a").await.unwrap(), ["L1"]);
        // The record is back: the same link, its card open again, its agreed name kept.
        assert!(links::insert(pool, &new_link("L1", None)).await.unwrap());
        let link = links::get_by_lead(pool, "a", "L1")
            .await
            .unwrap()
            .expect("revived");
        assert_eq!(
            (link.card_id.as_deref(), link.card_closed),
            (Some("C1"), false)
        );
        assert_eq!(get(pool, "a", "L1").await.unwrap(), None);
        assert!(archived_leads(pool, "a").await.unwrap().is_empty());
        let state = lead_state::load_lead(pool, "a", "L1").await.unwrap();
        assert_eq!(state.len(), 1, "the agreed state outlived the tombstone");
        assert!(
            !links::insert(pool, &new_link("L1", None)).await.unwrap(),
            "live: kept"
        );
    }

    #[tokio::test]
    async fn a_deletion_that_archived_nothing_leaves_the_card_as_it_was_on_return() {
        let db = temp_db().await;
        let pool = &db.pool;
        links::insert(pool, &new_link("L1", Some("C1")))
            .await
            .unwrap();
        links::set_closed(pool, "a", "L1", true).await.unwrap();
        tombstone(pool, "a", "L1", false).await.unwrap();
        assert!(archived_leads(pool, "a").await.unwrap().is_empty());
        links::insert(pool, &new_link("L1", None)).await.unwrap();
        let link = links::get_by_lead(pool, "a", "L1")
            .await
            .unwrap()
            .expect("revived");
        assert!(
            link.card_closed,
            "archived by a person before: left archived"
        );
    }
}
