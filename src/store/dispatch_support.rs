//! Store helpers only the outbox dispatcher needs: a note on a claimed command that a call
//! whose outcome cannot be taken back is on its way.

use sqlx::SqliteExecutor;

use super::{StoreError, now_ms};

/// Leaves `note` in the claimed command's `last_error` without counting an attempt, before a
/// non-idempotent call (creating a card). A dispatcher killed during that call leaves the note
/// behind, so the next claimer knows the outcome is unknown even though `attempts` is still 0.
/// Returns false when the command is no longer in flight.
pub async fn note_outcome_unknown(
    exec: impl SqliteExecutor<'_>,
    id: i64,
    note: &str,
) -> Result<bool, StoreError> {
    let result = sqlx::query(
        "UPDATE outbox SET last_error = $1, updated_at = $2 WHERE id = $3 AND status = 'in_flight'",
    )
    .bind(note)
    .bind(now_ms())
    .bind(id)
    .execute(exec)
    .await?;
    Ok(result.rows_affected() == 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::outbox::{self, NewCommand};
    use crate::store::testdb::temp_db;
    use std::time::Duration;

    #[tokio::test]
    async fn a_note_stays_on_a_claimed_command_without_counting_an_attempt() {
        let db = temp_db().await;
        let cmd = NewCommand {
            pair: "a".into(),
            lead_id: Some("L1".into()),
            target: "trello".into(),
            kind: "create_card".into(),
            payload: serde_json::json!({}),
            idempotency_key: "k1".into(),
        };
        outbox::enqueue(&db.pool, &cmd).await.expect("enqueue");
        let claimed = outbox::claim_due(&db, None, 1, Duration::ZERO)
            .await
            .expect("claim");
        let id = claimed[0].id;
        assert!(
            note_outcome_unknown(&db.pool, id, "sent")
                .await
                .expect("note")
        );
        let again = outbox::claim_due(&db, None, 1, Duration::from_secs(60))
            .await
            .expect("reclaim after the zero lease");
        assert_eq!(again[0].id, id);
        assert_eq!(
            (again[0].attempts, again[0].last_error.as_deref()),
            (0, Some("sent"))
        );
        outbox::complete(&db.pool, id).await.expect("complete");
        assert!(
            !note_outcome_unknown(&db.pool, id, "late")
                .await
                .expect("note")
        );
    }
}
