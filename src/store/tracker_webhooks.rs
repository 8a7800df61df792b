//! The `tracker_webhooks` table: webhooks a tracker's API (Airtable) registered for us, with the
//! MAC secret shown only at creation, their expiry, the payload cursor and the ping counters that
//! make a fetch due (`pinged > fetched`) even across a crash.

use super::Exec;

use super::{StoreError, now_ms};

/// `SELECT <every column> FROM tracker_webhooks <tail>`, as the static text sqlx asks for.
macro_rules! select {
    ($tail:literal) => {
        concat!(
            "SELECT connector, id, pair, base_id, notification_url, mac_secret, expires_at, ",
            "cursor, pinged, fetched, last_error, created_at, updated_at FROM tracker_webhooks ",
            $tail
        )
    };
}

/// `UPDATE tracker_webhooks SET <set> WHERE <key>`: `$1` connector, `$2` id, `$3` now.
macro_rules! update_sql {
    ($set:literal) => {
        concat!(
            "UPDATE tracker_webhooks SET ",
            $set,
            ", updated_at = $3 WHERE connector = $1 AND id = $2"
        )
    };
}

/// One stored webhook, every column.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TrackerWebhook {
    /// The tracker kind that owns it (`"airtable"`).
    pub connector: String,
    pub id: String,
    pub pair: String,
    pub base_id: String,
    pub notification_url: String,
    /// As the API answered it at creation (Airtable: `macSecretBase64`).
    pub mac_secret: String,
    /// Unix milliseconds; `None` when not known yet.
    pub expires_at: Option<i64>,
    /// The next payload to read (Airtable's first is 1).
    pub cursor: i64,
    /// Notifications received.
    pub pinged: i64,
    /// The `pinged` value the last completed fetch started from.
    pub fetched: i64,
    pub last_error: Option<String>,
    /// Unix milliseconds.
    pub created_at: i64,
    pub updated_at: i64,
}

/// What registration knows about a webhook it just created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTrackerWebhook {
    pub connector: String,
    pub id: String,
    pub pair: String,
    pub base_id: String,
    pub notification_url: String,
    pub mac_secret: String,
    pub expires_at: Option<i64>,
}

/// Stores a new webhook; a known `(connector, id)` is left as it is (its secret and cursor must
/// not be reset). Returns whether a row was added.
pub async fn insert(exec: impl Exec<'_>, new: &NewTrackerWebhook) -> Result<bool, StoreError> {
    let now = now_ms();
    let result = sqlx::query(
        "INSERT INTO tracker_webhooks (connector, id, pair, base_id, notification_url, mac_secret,
                                       expires_at, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)
         ON CONFLICT (connector, id) DO NOTHING",
    )
    .bind(&new.connector)
    .bind(&new.id)
    .bind(&new.pair)
    .bind(&new.base_id)
    .bind(&new.notification_url)
    .bind(&new.mac_secret)
    .bind(new.expires_at)
    .bind(now)
    .execute(exec)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Every stored webhook, oldest first.
pub async fn list(exec: impl Exec<'_>) -> Result<Vec<TrackerWebhook>, StoreError> {
    let sql = select!("ORDER BY created_at, connector, id");
    Ok(sqlx::query_as(sql).fetch_all(exec).await?)
}

/// The pair's webhooks, oldest first.
pub async fn list_for_pair(
    exec: impl Exec<'_>,
    pair: &str,
) -> Result<Vec<TrackerWebhook>, StoreError> {
    let sql = select!("WHERE pair = $1 ORDER BY created_at, connector, id");
    Ok(sqlx::query_as(sql).bind(pair).fetch_all(exec).await?)
}

pub async fn get(
    exec: impl Exec<'_>,
    connector: &str,
    id: &str,
) -> Result<Option<TrackerWebhook>, StoreError> {
    let sql = select!("WHERE connector = $1 AND id = $2");
    Ok(sqlx::query_as(sql)
        .bind(connector)
        .bind(id)
        .fetch_optional(exec)
        .await?)
}

/// Webhooks with notifications not fetched yet (`pinged > fetched`), oldest first.
pub async fn due(exec: impl Exec<'_>) -> Result<Vec<TrackerWebhook>, StoreError> {
    let sql = select!("WHERE pinged > fetched ORDER BY created_at, connector, id");
    Ok(sqlx::query_as(sql).fetch_all(exec).await?)
}

/// Forgets a webhook; returns whether it was known.
pub async fn delete(exec: impl Exec<'_>, connector: &str, id: &str) -> Result<bool, StoreError> {
    let result = sqlx::query("DELETE FROM tracker_webhooks WHERE connector = $1 AND id = $2")
        .bind(connector)
        .bind(id)
        .execute(exec)
        .await?;
    Ok(result.rows_affected() == 1)
}

/// Counts one notification, in one statement so concurrent pings never lose a count. Answers
/// false when the webhook is unknown.
pub async fn ping(exec: impl Exec<'_>, connector: &str, id: &str) -> Result<bool, StoreError> {
    let sql = update_sql!("pinged = pinged + 1");
    update(exec, sql, connector, id, Binding::None).await
}

/// Makes every webhook of `pair` due, as a notification would: a reconciliation asks its feeds
/// to be read, since a notification can be lost and its changes would wait for the next one.
/// Returns how many webhooks it made due.
pub async fn ping_pair(exec: impl Exec<'_>, pair: &str) -> Result<u64, StoreError> {
    let result = sqlx::query(
        "UPDATE tracker_webhooks SET pinged = pinged + 1, updated_at = $2 WHERE pair = $1",
    )
    .bind(pair)
    .bind(now_ms())
    .execute(exec)
    .await?;
    Ok(result.rows_affected())
}

/// Stores the expiry the API answered (unix milliseconds); returns whether the webhook is known.
pub async fn set_expiry(
    exec: impl Exec<'_>,
    connector: &str,
    id: &str,
    expires_at_ms: i64,
) -> Result<bool, StoreError> {
    let sql = update_sql!("expires_at = $4");
    update(exec, sql, connector, id, Binding::Int(expires_at_ms)).await
}

/// Records (or, with `None`, clears) the webhook's last problem.
pub async fn record_error(
    exec: impl Exec<'_>,
    connector: &str,
    id: &str,
    error: Option<&str>,
) -> Result<bool, StoreError> {
    let sql = update_sql!("last_error = $4");
    let value = Binding::Text(error.map(str::to_string));
    update(exec, sql, connector, id, value).await
}

/// Moves the payload cursor; meant for the transaction that stores what the fetch read.
pub async fn advance_cursor(
    exec: impl Exec<'_>,
    connector: &str,
    id: &str,
    cursor: i64,
) -> Result<bool, StoreError> {
    let sql = update_sql!("cursor = $4");
    update(exec, sql, connector, id, Binding::Int(cursor)).await
}

/// Marks notifications up to `upto_pinged` (the `pinged` a fetch started from) as fetched; never
/// moves `fetched` back, so a slow fetch finishing late cannot re-open one already done.
pub async fn mark_fetched(
    exec: impl Exec<'_>,
    connector: &str,
    id: &str,
    upto_pinged: i64,
) -> Result<bool, StoreError> {
    let sql = update_sql!("fetched = CASE WHEN fetched > $4 THEN fetched ELSE $4 END");
    update(exec, sql, connector, id, Binding::Int(upto_pinged)).await
}

/// The one value an update binds besides the key and the time (as `$4`).
enum Binding {
    None,
    Int(i64),
    Text(Option<String>),
}

async fn update(
    exec: impl Exec<'_>,
    sql: &'static str,
    connector: &str,
    id: &str,
    value: Binding,
) -> Result<bool, StoreError> {
    let query = sqlx::query(sql).bind(connector).bind(id).bind(now_ms());
    let query = match value {
        Binding::None => query,
        Binding::Int(v) => query.bind(v),
        Binding::Text(v) => query.bind(v),
    };
    Ok(query.execute(exec).await?.rows_affected() == 1)
}

#[cfg(test)]
#[path = "tracker_webhooks_tests.rs"]
mod tests;
