//! The `outbox` table: commands for Trello and the sheet, committed with the decision that made
//! them, claimed by the dispatcher in per-lead FIFO order, retried, and dead-lettered.

use std::time::Duration;

use super::Exec;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Db, Dialect, StoreError, now_ms};

/// A command to enqueue.
#[derive(Debug, Clone, PartialEq)]
pub struct NewCommand {
    pub pair: String,
    /// `None` for pair-wide commands, which are not ordered against any lead.
    pub lead_id: Option<String>,
    /// `"trello"` or `"sheets"`.
    pub target: String,
    /// `create_card`, `update_card`, `set_custom_fields`, `write_row`, …
    pub kind: String,
    pub payload: serde_json::Value,
    /// The same decision replayed must produce the same key: a second enqueue is then a no-op.
    pub idempotency_key: String,
}

/// A stored command.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Command {
    pub id: i64,
    pub pair: String,
    pub lead_id: Option<String>,
    pub target: String,
    pub kind: String,
    pub payload: serde_json::Value,
    pub idempotency_key: String,
    /// `pending`, `in_flight`, `done` or `dead`.
    pub status: String,
    /// Failed attempts so far (a claim alone does not count).
    pub attempts: i64,
    pub last_error: Option<String>,
    pub next_attempt_at: i64,
    pub dead_lettered_at: Option<i64>,
    pub created_at: i64,
}

#[derive(sqlx::FromRow)]
struct CommandRow {
    id: i64,
    pair: String,
    lead_id: Option<String>,
    target: String,
    kind: String,
    payload: String,
    idempotency_key: String,
    status: String,
    attempts: i64,
    last_error: Option<String>,
    next_attempt_at: i64,
    dead_lettered_at: Option<i64>,
    created_at: i64,
}

impl CommandRow {
    /// The stored command with `payload` in place of the row's text.
    fn with_payload(self, payload: serde_json::Value) -> Command {
        Command {
            id: self.id,
            pair: self.pair,
            lead_id: self.lead_id,
            target: self.target,
            kind: self.kind,
            payload,
            idempotency_key: self.idempotency_key,
            status: self.status,
            attempts: self.attempts,
            last_error: self.last_error,
            next_attempt_at: self.next_attempt_at,
            dead_lettered_at: self.dead_lettered_at,
            created_at: self.created_at,
        }
    }
}

impl TryFrom<CommandRow> for Command {
    type Error = StoreError;
    fn try_from(mut row: CommandRow) -> Result<Self, StoreError> {
        let text = std::mem::take(&mut row.payload);
        let payload = serde_json::from_str(&text).map_err(|source| StoreError::BadJson {
            table: "outbox",
            column: "payload",
            source,
        })?;
        Ok(row.with_payload(payload))
    }
}

fn commands(rows: Vec<CommandRow>) -> Result<Vec<Command>, StoreError> {
    rows.into_iter().map(Command::try_from).collect()
}

/// A claimed command whose payload was parsed from its stored text straight into `P` (the
/// dispatcher's command type), never held as a JSON tree: a sheet batch claims up to thousands
/// of commands at once, and their trees were 2.5 times the size of the parsed commands. `row`'s
/// `payload` is `Null`; a payload `P` cannot read is its error, for the caller to dead-letter.
#[derive(Debug)]
pub struct Parsed<P> {
    pub row: Command,
    pub payload: Result<P, serde_json::Error>,
}

const COLUMNS: &str = "id, pair, lead_id, target, kind, payload, idempotency_key, status, attempts, \
                       last_error, next_attempt_at, dead_lettered_at, created_at";

pub(crate) fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Enqueues a command, due now. Returns false when its idempotency key is already stored.
pub async fn enqueue(exec: impl Exec<'_>, cmd: &NewCommand) -> Result<bool, StoreError> {
    let now = now_ms();
    let result = sqlx::query(
        "INSERT INTO outbox (pair, lead_id, target, kind, payload, idempotency_key,
                             next_attempt_at, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $7)
         ON CONFLICT (idempotency_key) DO NOTHING",
    )
    .bind(&cmd.pair)
    .bind(&cmd.lead_id)
    .bind(&cmd.target)
    .bind(&cmd.kind)
    .bind(cmd.payload.to_string())
    .bind(&cmd.idempotency_key)
    .bind(now)
    .execute(exec)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Claims up to `limit` due commands (of one pair, or all), in id order, marking them
/// `in_flight` for `lease`. A command still in flight when its lease runs out may be claimed and
/// sent a second time: a dispatcher renews the leases of what it is sending
/// (`dispatch_support::renew_claims`, the dispatcher's heartbeat).
///
/// A command is due when it is pending (or in flight with an expired lease: its dispatcher died)
/// and its time has come, and its lead has no earlier unfinished command and no other command in
/// flight. So each lead's commands go out one at a time in order, a lead waiting on a retry
/// holds back only itself, and two claimers never get the same command (one write transaction).
pub async fn claim_due(
    db: &Db,
    pair: Option<&str>,
    limit: i64,
    lease: Duration,
) -> Result<Vec<Command>, StoreError> {
    claim_due_of(db, pair, &Targets::Any, limit, lease).await
}

/// Which `target`s a claim takes: the dispatcher claims the commands of a tracker it sends in
/// large batches apart from the rest, each with its own limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Targets {
    Any,
    Only(Vec<String>),
    Except(Vec<String>),
}

impl Targets {
    /// `(only, except)` as JSON arrays for `Dialect::list_of`, `NULL` where the claim does not filter.
    fn binds(&self) -> (Option<String>, Option<String>) {
        let list = |t: &Vec<String>| serde_json::Value::from(t.clone()).to_string();
        match self {
            Self::Any => (None, None),
            Self::Only(t) => (Some(list(t)), None),
            Self::Except(t) => (None, Some(list(t))),
        }
    }
}

/// The commands a claim may take (`$1` now, `$4` pair, `$5`/`$6` only/except targets): due,
/// and the first unfinished one of their lead, with no other command of the lead in flight.
fn due_heads(dialect: Dialect) -> String {
    let (only, except) = (dialect.list_of(5), dialect.list_of(6));
    format!(
        "c.status IN ('pending', 'in_flight') AND c.next_attempt_at <= $1
               AND ($4 IS NULL OR c.pair = $4)
               AND ($5 IS NULL OR c.target IN ({only}))
               AND ($6 IS NULL OR c.target NOT IN ({except}))
               AND NOT EXISTS (
                   SELECT 1 FROM outbox o
                   WHERE o.pair = c.pair AND o.lead_id = c.lead_id AND o.id <> c.id
                     AND ((o.id < c.id AND o.status IN ('pending', 'in_flight'))
                          OR (o.status = 'in_flight' AND o.next_attempt_at > $1)))"
    )
}

/// [`claim_due`] of the commands whose target `targets` admits.
pub async fn claim_due_of(
    db: &Db,
    pair: Option<&str>,
    targets: &Targets,
    limit: i64,
    lease: Duration,
) -> Result<Vec<Command>, StoreError> {
    commands(claim_rows(db, pair, targets, limit, lease).await?)
}

/// [`claim_due_of`] with each payload parsed as `P` (see [`Parsed`]).
pub async fn claim_due_parsed<P: DeserializeOwned>(
    db: &Db,
    pair: Option<&str>,
    targets: &Targets,
    limit: i64,
    lease: Duration,
) -> Result<Vec<Parsed<P>>, StoreError> {
    let rows = claim_rows(db, pair, targets, limit, lease).await?;
    Ok((rows.into_iter())
        .map(|mut row| {
            // Each row's text is freed as soon as it is parsed, not with the whole claim.
            let text = std::mem::take(&mut row.payload);
            let payload = serde_json::from_str(&text);
            drop(text);
            Parsed {
                row: row.with_payload(serde_json::Value::Null),
                payload,
            }
        })
        .collect())
}

/// The claim itself: the rows taken, in id order.
async fn claim_rows(
    db: &Db,
    pair: Option<&str>,
    targets: &Targets,
    limit: i64,
    lease: Duration,
) -> Result<Vec<CommandRow>, StoreError> {
    let now = now_ms();
    let (only, except) = targets.binds();
    let mut tx = db.begin_write().await?;
    // `begin_write` serialises claimers on both backends (SQLite's write lock, PostgreSQL's
    // transaction-scoped advisory lock), so no row is claimed twice and `FOR UPDATE SKIP
    // LOCKED` would add nothing; `due_heads` keeps a lead's commands to one claimer at a time.
    let due_heads = due_heads(db.dialect());
    let sql = format!(
        "UPDATE outbox SET status = 'in_flight', next_attempt_at = $2, updated_at = $1
         WHERE id IN (
             SELECT c.id FROM outbox c
             WHERE {due_heads}
             ORDER BY c.id
             LIMIT $3)
         RETURNING {COLUMNS}"
    );
    let mut rows: Vec<CommandRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(now)
        .bind(now.saturating_add(ms(lease)))
        .bind(limit)
        .bind(pair)
        .bind(only)
        .bind(except)
        .fetch_all(&mut *tx)
        .await?;
    tx.commit().await?;
    rows.sort_by_key(|r| r.id);
    Ok(rows)
}

/// Since when (ms) the longest-waiting command [`claim_due_of`] would take has been due; `None`
/// when none is.
pub async fn due_since(
    exec: impl Exec<'_>,
    pair: Option<&str>,
    targets: &Targets,
) -> Result<Option<i64>, StoreError> {
    let now = now_ms();
    let (only, except) = targets.binds();
    let due_heads = due_heads(exec.dialect());
    let sql = format!("SELECT min(c.next_attempt_at) FROM outbox c WHERE {due_heads}");
    let since: Option<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(now)
        .bind(now)
        .bind(0_i64)
        .bind(pair)
        .bind(only)
        .bind(except)
        .fetch_one(exec)
        .await?;
    Ok(since)
}

/// Marks a claimed command done. Returns false if it was not in flight.
pub async fn complete(exec: impl Exec<'_>, id: i64) -> Result<bool, StoreError> {
    let result = sqlx::query(
        "UPDATE outbox SET status = 'done', updated_at = $1 WHERE id = $2 AND status = 'in_flight'",
    )
    .bind(now_ms())
    .bind(id)
    .execute(exec)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Counts a failed attempt and makes the command due again after `delay`.
pub async fn retry_later(
    exec: impl Exec<'_>,
    id: i64,
    error: &str,
    delay: Duration,
) -> Result<bool, StoreError> {
    let now = now_ms();
    let result = sqlx::query(
        "UPDATE outbox SET status = 'pending', attempts = attempts + 1, last_error = $1,
                           next_attempt_at = $2, updated_at = $3
         WHERE id = $4 AND status = 'in_flight'",
    )
    .bind(error)
    .bind(now.saturating_add(ms(delay)))
    .bind(now)
    .bind(id)
    .execute(exec)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Gives up on a command (counting this attempt); the lead's later commands may then go out.
pub async fn dead_letter(exec: impl Exec<'_>, id: i64, error: &str) -> Result<bool, StoreError> {
    let now = now_ms();
    let result = sqlx::query(
        "UPDATE outbox SET status = 'dead', attempts = attempts + 1, last_error = $1,
                           dead_lettered_at = $2, updated_at = $2
         WHERE id = $3 AND status = 'in_flight'",
    )
    .bind(error)
    .bind(now)
    .bind(id)
    .execute(exec)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Makes dead letters (of one pair, or all) due now with fresh attempts; returns how many.
pub async fn requeue_dead_letters(
    exec: impl Exec<'_>,
    pair: Option<&str>,
) -> Result<u64, StoreError> {
    let now = now_ms();
    let result = sqlx::query(
        "UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = $1,
                           dead_lettered_at = NULL, updated_at = $1
         WHERE status = 'dead' AND ($2 IS NULL OR pair = $2)",
    )
    .bind(now)
    .bind(pair)
    .execute(exec)
    .await?;
    Ok(result.rows_affected())
}

/// Leads of a pair with commands not yet sent: reconciliation must not read their stale side
/// as a fresh change while our write is still on its way.
pub async fn leads_with_unsent(exec: impl Exec<'_>, pair: &str) -> Result<Vec<String>, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT DISTINCT lead_id FROM outbox
         WHERE pair = $1 AND lead_id IS NOT NULL AND status IN ('pending', 'in_flight')
         ORDER BY lead_id",
    )
    .bind(pair)
    .fetch_all(exec)
    .await?)
}

/// Deletes sent commands older than `days` days; returns how many. Their idempotency keys go
/// with them, so keep `days` well beyond any replay of the decisions that made them.
pub async fn prune_done_older_than(exec: impl Exec<'_>, days: u32) -> Result<u64, StoreError> {
    let cutoff = now_ms() - i64::from(days) * 86_400_000;
    let result = sqlx::query("DELETE FROM outbox WHERE status = 'done' AND updated_at < $1")
        .bind(cutoff)
        .execute(exec)
        .await?;
    Ok(result.rows_affected())
}

pub async fn get(exec: impl Exec<'_>, id: i64) -> Result<Option<Command>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM outbox WHERE id = $1");
    let row: Option<CommandRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(exec)
        .await?;
    row.map(Command::try_from).transpose()
}

#[cfg(test)]
#[path = "outbox_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "outbox_claim_tests.rs"]
mod claim_tests;
