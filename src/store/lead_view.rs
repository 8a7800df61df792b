//! What the console's lead page reads and does beyond links, field states and activity: the
//! lead's unfinished commands, and requeueing its dead letters.

use super::Exec;

use super::{StoreError, now_ms};

/// A command of the lead not yet sent: waiting, in flight or dead-lettered.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct UnsentCommand {
    pub id: i64,
    pub target: String,
    pub kind: String,
    pub status: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub created_at: i64,
}

/// The lead's commands other than sent ones, oldest first (the `outbox_lead` index).
pub async fn unsent_commands(
    exec: impl Exec<'_>,
    pair: &str,
    lead_id: &str,
) -> Result<Vec<UnsentCommand>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT id, target, kind, status, attempts, last_error, created_at FROM outbox
         WHERE pair = $1 AND lead_id = $2 AND status IN ('pending', 'in_flight', 'dead')
         ORDER BY id",
    )
    .bind(pair)
    .bind(lead_id)
    .fetch_all(exec)
    .await?)
}

/// Makes the lead's dead letters due now with fresh attempts; returns how many.
pub async fn requeue_lead(
    exec: impl Exec<'_>,
    pair: &str,
    lead_id: &str,
) -> Result<u64, StoreError> {
    let now = now_ms();
    let result = sqlx::query(
        "UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = $1,
                           dead_lettered_at = NULL, updated_at = $1
         WHERE status = 'dead' AND pair = $2 AND lead_id = $3",
    )
    .bind(now)
    .bind(pair)
    .bind(lead_id)
    .execute(exec)
    .await?;
    Ok(result.rows_affected())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::store::outbox::{self, NewCommand};
    use crate::store::testdb::temp_db;

    fn command(lead: &str, key: &str) -> NewCommand {
        NewCommand {
            pair: "a".into(),
            lead_id: Some(lead.into()),
            target: "trello".into(),
            kind: "update_card".into(),
            payload: serde_json::json!({}),
            idempotency_key: key.into(),
        }
    }

    #[tokio::test]
    async fn a_leads_unsent_commands_show_and_only_its_dead_letters_are_requeued() {
        let db = temp_db().await;
        let claim = || outbox::claim_due(&db, None, 10, Duration::from_secs(60));
        for (lead, key) in [("L1", "k1"), ("L2", "k3")] {
            outbox::enqueue(&db.pool, &command(lead, key))
                .await
                .expect("enqueue");
        }
        let first = claim().await.expect("claim");
        outbox::complete(&db.pool, first[0].id).await.expect("sent");
        outbox::dead_letter(&db.pool, first[1].id, "HTTP 403")
            .await
            .expect("dead");
        outbox::enqueue(&db.pool, &command("L1", "k2"))
            .await
            .expect("enqueue");
        let second = claim().await.expect("claim");
        outbox::dead_letter(&db.pool, second[0].id, "HTTP 403")
            .await
            .expect("dead");
        outbox::enqueue(&db.pool, &command("L1", "k4"))
            .await
            .expect("enqueue");

        let unsent = unsent_commands(&db.pool, "a", "L1").await.expect("unsent");
        let shown: Vec<&str> = unsent.iter().map(|c| c.status.as_str()).collect();
        assert_eq!(
            shown,
            ["dead", "pending"],
            "the sent one is not shown, L2's neither"
        );
        assert_eq!(unsent[0].last_error.as_deref(), Some("HTTP 403"));
        assert_eq!(requeue_lead(&db.pool, "a", "L1").await.expect("requeue"), 1);
        let dead_l2: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox WHERE status = 'dead'")
            .fetch_one(&db.pool)
            .await
            .expect("count");
        assert_eq!(dead_l2, 1, "another lead's dead letter stays");
    }
}
