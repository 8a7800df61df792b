//! The inbox writer's one statement: a batch of verified events inserted at once, each row's
//! answer (stored or a duplicate) read from its `RETURNING`.

use std::collections::HashMap;
use std::fmt::Write as _;

use crate::inbound::signature::{RawEvent, Verified};
use crate::store::inbox::Stored;
use crate::store::{Conn, StoreError, now_ms};

const INSERT_HEAD: &str = "INSERT INTO inbox
    (source, dedupe_key, pair, received_at, body, next_attempt_at, signed_at) VALUES ";
/// Columns per row: row `i` binds `$7i+1 ..= $7i+7` (numbered placeholders, which both
/// backends read).
const INSERT_COLUMNS: usize = 7;
const INSERT_TAIL: &str = " ON CONFLICT (source, dedupe_key, pair) DO NOTHING
    RETURNING source, dedupe_key, pair, id";

/// The whole batch in one `INSERT` statement. Outside an explicit transaction a statement is
/// its own transaction, so every event is stored or none, committed (`synchronous=FULL`)
/// before the statement reports done; and it is one round trip to SQLite's thread, not one
/// per event plus `BEGIN` and `COMMIT` (each a thread hand-off that a profile showed costing
/// as much as the inserts). Like the single insert, the first of two events with one key is
/// stored and the other is a duplicate.
pub(super) async fn insert_events(
    conn: &mut Conn,
    events: &[(&Verified<RawEvent>, &str)],
) -> Result<Vec<Stored>, StoreError> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    let received_at = now_ms();
    let mut sql = String::with_capacity(
        INSERT_HEAD.len() + events.len() * INSERT_COLUMNS * 7 + INSERT_TAIL.len(),
    );
    sql.push_str(INSERT_HEAD);
    for i in 0..events.len() {
        sql.push_str(if i > 0 { ",(" } else { "(" });
        for column in 1..=INSERT_COLUMNS {
            if column > 1 {
                sql.push(',');
            }
            let _ = write!(sql, "${}", i * INSERT_COLUMNS + column);
        }
        sql.push(')');
    }
    sql.push_str(INSERT_TAIL);
    // Not kept prepared: each batch size would be another statement in every cache.
    let mut query = sqlx::query_as::<_, (String, String, String, i64)>(sqlx::AssertSqlSafe(sql))
        .persistent(false);
    for (event, pair) in events {
        query = query
            .bind(event.source.as_str())
            .bind(event.dedupe_key.as_str())
            .bind(*pair)
            .bind(received_at)
            .bind(event.body.as_ref())
            .bind(received_at)
            .bind(event.signed_at);
    }
    // Keyed by route too: one action stored for a pair and a mirror of its board is two rows.
    let mut new: HashMap<(String, String, String), i64> = (query.fetch_all(&mut *conn).await?)
        .into_iter()
        .map(|(source, key, pair, id)| ((source, key, pair), id))
        .collect();
    Ok(events
        .iter()
        .map(|(event, pair)| {
            let key = (
                event.source.as_str().to_owned(),
                event.dedupe_key.clone(),
                (*pair).to_owned(),
            );
            new.remove(&key).map_or(Stored::Duplicate, Stored::New)
        })
        .collect())
}
