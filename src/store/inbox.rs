//! The ingress side of the `inbox` table: store a verified webhook event once, durably, before
//! it is acknowledged. The worker's side (claims) lives in `store::inbox_work`.

use super::Exec;

use super::{Db, StoreError, now_ms};
use crate::inbound::signature::{RawEvent, Verified};

/// What storing an event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    /// A new row with this id.
    New(i64),
    /// An event with the same (source, dedupe key) was stored before; nothing changed.
    Duplicate,
}

/// Stores `event` for `pair` in one autocommit statement. The pool runs with
/// `synchronous=FULL`, so once this returns the row survives a crash or power loss. Concurrent
/// calls with one key race on the unique index: exactly one of them gets `New`.
pub async fn insert(db: &Db, event: &Verified<RawEvent>, pair: &str) -> Result<Stored, StoreError> {
    insert_at(&db.pool, event, pair, now_ms()).await
}

pub(super) async fn insert_at(
    exec: impl Exec<'_>,
    event: &Verified<RawEvent>,
    pair: &str,
    received_at: i64,
) -> Result<Stored, StoreError> {
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO inbox (source, dedupe_key, pair, received_at, body, next_attempt_at, signed_at)
         VALUES ($1, $2, $3, $4, $5, $4, $6)
         ON CONFLICT (source, dedupe_key, pair) DO NOTHING
         RETURNING id",
    )
    .bind(event.source.as_str())
    .bind(&event.dedupe_key)
    .bind(pair)
    .bind(received_at)
    .bind(event.body.as_ref())
    .bind(event.signed_at)
    .fetch_optional(exec)
    .await?;
    Ok(id.map_or(Stored::Duplicate, Stored::New))
}

/// Stores an event leadsync read itself from a system's API (a change feed), in the caller's
/// transaction: it is trusted because leadsync's own call read it, not by a signature. Answers
/// the new row's id, or `None` when the same (source, dedupe key) was stored before.
pub async fn insert_fetched(
    exec: impl Exec<'_>,
    source: crate::inbound::Source,
    dedupe_key: &str,
    pair: &str,
    body: &[u8],
) -> Result<Option<i64>, StoreError> {
    let now = now_ms();
    Ok(sqlx::query_scalar(
        "INSERT INTO inbox (source, dedupe_key, pair, received_at, body, next_attempt_at)
         VALUES ($1, $2, $3, $4, $5, $4)
         ON CONFLICT (source, dedupe_key, pair) DO NOTHING
         RETURNING id",
    )
    .bind(source.as_str())
    .bind(dedupe_key)
    .bind(pair)
    .bind(now)
    .bind(body)
    .fetch_optional(exec)
    .await?)
}

/// Events stored and not yet processed (pending or being processed), over all pairs.
pub async fn depth(exec: impl Exec<'_>) -> Result<i64, StoreError> {
    Ok(
        sqlx::query_scalar("SELECT count(*) FROM inbox WHERE status IN ('pending', 'processing')")
            .fetch_one(exec)
            .await?,
    )
}

/// Callback URLs of every Trello webhook registered earlier: their signatures stay valid.
pub async fn registered_callback_urls(exec: impl Exec<'_>) -> Result<Vec<String>, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT DISTINCT callback_url FROM trello_webhooks ORDER BY callback_url",
    )
    .fetch_all(exec)
    .await?)
}

#[cfg(test)]
mod tests {
    use axum::body::Bytes;
    use axum::http::HeaderMap;
    use secrecy::SecretString;

    use super::*;
    use crate::inbound::signature::Unverified;
    use crate::store::testdb::{temp_db, verified_trello as verified};

    #[tokio::test]
    async fn a_repeated_key_is_stored_once_and_reported_as_duplicate() {
        let db = temp_db().await;
        let event = verified("act-1");
        let first = insert(&db, &event, "a").await.unwrap();
        assert!(matches!(first, Stored::New(_)));
        assert_eq!(insert(&db, &event, "a").await.unwrap(), Stored::Duplicate);
        assert_eq!(depth(&db.pool).await.unwrap(), 1);
        let (source, key, pair, body): (String, String, String, Vec<u8>) =
            sqlx::query_as("SELECT source, dedupe_key, pair, body FROM inbox")
                .fetch_one(&db.pool)
                .await
                .unwrap();
        assert_eq!(
            (source.as_str(), key.as_str(), pair.as_str()),
            ("trello", "act-1", "a")
        );
        assert_eq!(body, event.body.as_ref());
    }

    #[tokio::test]
    async fn an_apps_script_event_keeps_its_signed_timestamp_for_the_worker() {
        use crate::inbound::signature::{SheetsVerifier, StandardWebhooksKey};
        let secret = SecretString::from("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        let key = StandardWebhooksKey::from_secret(&secret).unwrap();
        let body = r#"{"spreadsheet_id":"s","sheet":"Leads","kind":"change","edited_at":"2026-11-21T10:15:02Z"}"#;
        let ts = 1_800_000_000;
        let mut headers = HeaderMap::new();
        headers.insert("webhook-id", "evt_1".parse().unwrap());
        headers.insert("webhook-timestamp", ts.into());
        let signature = key.sign("evt_1", ts, body.as_bytes());
        headers.insert("webhook-signature", signature.parse().unwrap());
        let request = Unverified::new(headers, Bytes::from(body));
        let event = SheetsVerifier::new(key, 300).verify(&request, ts).unwrap();
        let db = temp_db().await;
        insert_at(&db.pool, &event, "a", 5_000).await.unwrap();
        insert_at(&db.pool, &verified("act-3"), "a", 5_000)
            .await
            .unwrap();
        let due = crate::store::inbox_work::due_events(&db.pool, 5_000, 10)
            .await
            .unwrap();
        let signed: Vec<Option<i64>> = due.iter().map(|e| e.signed_at).collect();
        assert_eq!(signed, [Some(ts), None]);
    }

    #[tokio::test]
    async fn stored_events_are_due_at_once_for_the_worker() {
        let db = temp_db().await;
        insert_at(&db.pool, &verified("act-2"), "b", 1_000)
            .await
            .unwrap();
        let (received, due, status): (i64, i64, String) =
            sqlx::query_as("SELECT received_at, next_attempt_at, status FROM inbox")
                .fetch_one(&db.pool)
                .await
                .unwrap();
        assert_eq!((received, due, status.as_str()), (1_000, 1_000, "pending"));
    }

    #[tokio::test]
    async fn callback_urls_of_registered_webhooks_are_listed_once() {
        let db = temp_db().await;
        for (id, url) in [
            ("w1", "https://a/x"),
            ("w2", "https://a/x"),
            ("w3", "https://b/y"),
        ] {
            sqlx::query(
                "INSERT INTO trello_webhooks (id, board_id, callback_url, created_at)
                 VALUES ($1, 'board-a', $2, 0)",
            )
            .bind(id)
            .bind(url)
            .execute(&db.pool)
            .await
            .unwrap();
        }
        let urls = registered_callback_urls(&db.pool).await.unwrap();
        assert_eq!(urls, ["https://a/x", "https://b/y"]);
    }
}
