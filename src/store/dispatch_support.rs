//! Store helpers only the outbox dispatcher needs: a note on a claimed command that a call
//! whose outcome cannot be taken back is on its way, and the release of claims a stopped round did
//! not send or a dispatcher that died left behind.

use super::Exec;

use super::{StoreError, now_ms};

/// Leaves `note` in the claimed command's `last_error` without counting an attempt, before a
/// non-idempotent call (creating a card). A dispatcher killed during that call leaves the note
/// behind, so the next claimer knows the outcome is unknown even though `attempts` is still 0.
/// Returns false when the command is no longer in flight.
pub async fn note_outcome_unknown(
    exec: impl Exec<'_>,
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

/// Gives a claimed command back unsent (a stopped dispatch round never called for it): pending
/// and due now, its attempts and note unchanged. Returns false when it was not in flight.
pub async fn release_unsent(exec: impl Exec<'_>, id: i64) -> Result<bool, StoreError> {
    let now = now_ms();
    let result = sqlx::query(
        "UPDATE outbox SET status = 'pending', next_attempt_at = $1, updated_at = $1
         WHERE id = $2 AND status = 'in_flight'",
    )
    .bind(now)
    .bind(id)
    .execute(exec)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Makes every command still `in_flight` due now, keeping its attempts and note. Only for a
/// daemon starting up: it is its database's one dispatcher, so a claim it finds was made by a
/// process that died (SIGKILL, power loss) and would otherwise hold the lead back until the
/// lease ran out (minutes). A create whose outcome is unknown keeps its note, so the next claim
/// looks for the card before creating one. Returns how many were released.
pub async fn release_stale_claims(exec: impl Exec<'_>) -> Result<u64, StoreError> {
    let now = now_ms();
    let result = sqlx::query(
        "UPDATE outbox SET status = 'pending', next_attempt_at = $1, updated_at = $1
         WHERE status = 'in_flight'",
    )
    .bind(now)
    .execute(exec)
    .await?;
    Ok(result.rows_affected())
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

    #[tokio::test]
    async fn released_claims_are_due_at_once_and_keep_their_note() {
        let db = temp_db().await;
        for key in ["k1", "k2"] {
            let cmd = NewCommand {
                pair: "a".into(),
                lead_id: Some(key.into()),
                target: "trello".into(),
                kind: "create_card".into(),
                payload: serde_json::json!({}),
                idempotency_key: key.into(),
            };
            outbox::enqueue(&db.pool, &cmd).await.expect("enqueue");
        }
        let claimed = outbox::claim_due(&db, None, 1, Duration::from_secs(300))
            .await
            .expect("claim");
        let id = claimed[0].id;
        assert!(
            note_outcome_unknown(&db.pool, id, "sent")
                .await
                .expect("note")
        );
        assert_eq!(release_stale_claims(&db.pool).await.expect("release"), 1);
        let again = outbox::claim_due(&db, None, 10, Duration::from_secs(300))
            .await
            .expect("claim after release");
        let first = again
            .iter()
            .find(|c| c.id == id)
            .expect("released command is due");
        assert_eq!(
            (first.attempts, first.last_error.as_deref()),
            (0, Some("sent"))
        );
        assert_eq!(again.len(), 2);
    }
}
