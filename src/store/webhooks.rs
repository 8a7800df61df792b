//! The `trello_webhooks` table: webhooks leadsync registered, kept so their callback URLs stay
//! accepted for signatures after `server.public_url` changes.

use super::Exec;

use super::{StoreError, now_ms};

/// One registered webhook as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StoredWebhook {
    pub id: String,
    /// The pair it was registered for; `None` for rows written before pairs were recorded.
    pub pair: Option<String>,
    pub board_id: String,
    pub callback_url: String,
    /// Unix milliseconds.
    pub created_at: i64,
}

/// Remembers a webhook; a known id is left as it is. Returns whether a row was added.
pub async fn insert(
    exec: impl Exec<'_>,
    id: &str,
    pair: Option<&str>,
    board_id: &str,
    callback_url: &str,
) -> Result<bool, StoreError> {
    let result = sqlx::query(
        "INSERT INTO trello_webhooks (id, pair, board_id, callback_url, created_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(id)
    .bind(pair)
    .bind(board_id)
    .bind(callback_url)
    .bind(now_ms())
    .execute(exec)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Every stored webhook, oldest first.
pub async fn list(exec: impl Exec<'_>) -> Result<Vec<StoredWebhook>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT id, pair, board_id, callback_url, created_at FROM trello_webhooks
         ORDER BY created_at, id",
    )
    .fetch_all(exec)
    .await?)
}

/// Forgets a webhook; returns whether it was known.
pub async fn delete(exec: impl Exec<'_>, id: &str) -> Result<bool, StoreError> {
    let result = sqlx::query("DELETE FROM trello_webhooks WHERE id = $1")
        .bind(id)
        .execute(exec)
        .await?;
    Ok(result.rows_affected() == 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::inbox::registered_callback_urls;
    use crate::store::testdb::temp_db;

    #[tokio::test]
    async fn inserting_a_known_id_again_changes_nothing() {
        let db = temp_db().await;
        assert!(
            insert(
                &db.pool,
                "w1",
                Some("a"),
                "board-a",
                "https://x/webhooks/trello"
            )
            .await
            .unwrap()
        );
        assert!(
            !insert(
                &db.pool,
                "w1",
                Some("b"),
                "board-b",
                "https://y/webhooks/trello"
            )
            .await
            .unwrap()
        );
        let rows = list(&db.pool).await.unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(
            (rows[0].pair.as_deref(), rows[0].board_id.as_str()),
            (Some("a"), "board-a")
        );
        assert_eq!(rows[0].callback_url, "https://x/webhooks/trello");
    }

    #[tokio::test]
    async fn deleted_webhooks_are_forgotten_with_their_callback_urls() {
        let db = temp_db().await;
        insert(
            &db.pool,
            "w1",
            Some("a"),
            "board-a",
            "https://old/webhooks/trello",
        )
        .await
        .unwrap();
        insert(
            &db.pool,
            "w2",
            None,
            "board-b",
            "https://new/webhooks/trello",
        )
        .await
        .unwrap();
        assert!(delete(&db.pool, "w1").await.unwrap());
        assert!(!delete(&db.pool, "w1").await.unwrap());
        let ids: Vec<String> = list(&db.pool)
            .await
            .unwrap()
            .into_iter()
            .map(|w| w.id)
            .collect();
        assert_eq!(ids, ["w2"]);
        assert_eq!(
            registered_callback_urls(&db.pool).await.unwrap(),
            ["https://new/webhooks/trello"]
        );
    }
}
