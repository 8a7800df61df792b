//! Store helpers only the outbox dispatcher needs: a note on a claimed command that a call
//! whose outcome cannot be taken back is on its way, the release of claims a stopped round did
//! not send or a dispatcher that died left behind, and a lead's commands queued after one.

use std::time::Duration;

use super::{Exec, StoreError, now_ms};

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

/// Which claims a dispatcher starting up may take back at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stale {
    /// Every claim: the dispatcher is its database's only one (SQLite, one process), so a claim
    /// it finds was made by a process that died (SIGKILL, power loss).
    All,
    /// Only claims whose lease ran out (PostgreSQL): the leader before this one may still be
    /// sending — its lock check has not failed yet, or its round is in its stop grace — and its
    /// dispatcher renews the leases of what it sends, so an unexpired claim is still in use.
    Expired,
}

/// Makes the commands still `in_flight` that `which` admits due now, keeping their attempts and
/// note, so a dead dispatcher's unfinished commands go out now rather than when its lease runs
/// out. A create whose outcome is unknown keeps its note, so the next claim looks for the card
/// before creating one. Returns how many were released.
pub async fn release_stale_claims(exec: impl Exec<'_>, which: Stale) -> Result<u64, StoreError> {
    let now = now_ms();
    // `$2` is far in the future for `All`: every in-flight command's lease is then "over".
    let over_by = match which {
        Stale::All => i64::MAX,
        Stale::Expired => now,
    };
    let result = sqlx::query(
        "UPDATE outbox SET status = 'pending', next_attempt_at = $1, updated_at = $1
         WHERE status = 'in_flight' AND next_attempt_at <= $2",
    )
    .bind(now)
    .bind(over_by)
    .execute(exec)
    .await?;
    Ok(result.rows_affected())
}

/// Renews, for `lease` from now, the claims among `ids` still in flight: the dispatcher's
/// heartbeat while it sends them, so a send that outlasts one lease (retries, `Retry-After`
/// waits, a rate limiter's queue) is never claimed and sent a second time by another
/// dispatcher. Returns how many it renewed.
pub async fn renew_claims(
    exec: impl Exec<'_>,
    ids: &[i64],
    lease: Duration,
) -> Result<u64, StoreError> {
    if ids.is_empty() {
        return Ok(0);
    }
    let now = now_ms();
    let until = now.saturating_add(i64::try_from(lease.as_millis()).unwrap_or(i64::MAX));
    // The ids as one JSON list of strings (a sheet's batch is thousands: one bind, not one each),
    // compared as text: `Dialect::list_of` yields text on both backends.
    let list = serde_json::Value::from(ids.iter().map(i64::to_string).collect::<Vec<_>>());
    let sql = format!(
        "UPDATE outbox SET next_attempt_at = $1, updated_at = $2
         WHERE status = 'in_flight' AND CAST(id AS TEXT) IN ({})",
        exec.dialect().list_of(3)
    );
    let result = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(until)
        .bind(now)
        .bind(list.to_string())
        .execute(exec)
        .await?;
    Ok(result.rows_affected())
}

/// The payloads of a lead's commands queued after command `after` (a higher id) and not sent
/// yet (pending or in flight): what lands after it, per lead, in order.
pub async fn queued_after(
    exec: impl Exec<'_>,
    pair: &str,
    lead_id: &str,
    after: i64,
) -> Result<Vec<String>, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT payload FROM outbox WHERE pair = $1 AND lead_id = $2 AND id > $3
           AND status IN ('pending', 'in_flight') ORDER BY id",
    )
    .bind(pair)
    .bind(lead_id)
    .bind(after)
    .fetch_all(exec)
    .await?)
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
        two_commands(&db).await;
        let claimed = outbox::claim_due(&db, None, 1, Duration::from_secs(300))
            .await
            .expect("claim");
        let id = claimed[0].id;
        assert!(
            note_outcome_unknown(&db.pool, id, "sent")
                .await
                .expect("note")
        );
        assert_eq!(
            release_stale_claims(&db.pool, Stale::All)
                .await
                .expect("release"),
            1
        );
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

    async fn two_commands(db: &crate::store::testdb::TestDb) {
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
    }

    #[tokio::test]
    async fn a_new_leader_releases_only_the_claims_whose_lease_ran_out() {
        let db = temp_db().await;
        two_commands(&db).await;
        // Leased first: a claim with a zero lease would be due (and taken) again at once.
        let leased = outbox::claim_due(&db, None, 1, Duration::from_secs(300))
            .await
            .expect("claim")[0]
            .id;
        let expired = outbox::claim_due(&db, None, 1, Duration::ZERO)
            .await
            .expect("claim")[0]
            .id;
        assert_ne!(expired, leased);
        assert_eq!(
            release_stale_claims(&db.pool, Stale::Expired)
                .await
                .expect("release"),
            1
        );
        let again = outbox::claim_due(&db, None, 10, Duration::from_secs(300))
            .await
            .expect("claim after release");
        let again: Vec<i64> = again.iter().map(|c| c.id).collect();
        assert_eq!(again, vec![expired], "the leased claim is still in use");
    }

    #[tokio::test]
    async fn a_renewed_claim_is_not_taken_over_when_its_first_lease_ends() {
        let db = temp_db().await;
        two_commands(&db).await;
        let claimed = outbox::claim_due(&db, None, 10, Duration::ZERO)
            .await
            .expect("claim");
        let ids: Vec<i64> = claimed.iter().map(|c| c.id).collect();
        assert_eq!(ids.len(), 2);
        // The first is finished; only the one still in flight is renewed.
        outbox::complete(&db.pool, ids[0]).await.expect("complete");
        let renewed = renew_claims(&db.pool, &ids, Duration::from_secs(300))
            .await
            .expect("renew");
        assert_eq!(renewed, 1);
        let taken = outbox::claim_due(&db, None, 10, Duration::from_secs(300))
            .await
            .expect("claim again");
        assert!(taken.is_empty(), "{taken:?}");
    }
}
