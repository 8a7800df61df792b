//! The `field_states` table: per link and field, the value both sides last agreed on.

use sqlx::{SqliteConnection, SqliteExecutor};

use super::{StoreError, now_ms};

/// The base of the three-way merge for one field of one link.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct FieldState {
    pub field: String,
    pub agreed_hash: String,
    pub agreed_value: String,
    /// Time (unix ms) of the change that produced the agreed value.
    pub agreed_at: i64,
    /// `"sheet"` or `"trello"` (the schema's CHECK refuses anything else).
    pub last_writer: Option<String>,
}

/// The field states of one link, by field name.
pub async fn load(
    exec: impl SqliteExecutor<'_>,
    pair: &str,
    lead_id: &str,
) -> Result<Vec<FieldState>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT field, agreed_hash, agreed_value, agreed_at, last_writer FROM field_states
         WHERE pair = $1 AND lead_id = $2 ORDER BY field",
    )
    .bind(pair)
    .bind(lead_id)
    .fetch_all(exec)
    .await?)
}

/// Inserts or replaces one field's state. The link must exist (foreign key).
pub async fn upsert(
    exec: impl SqliteExecutor<'_>,
    pair: &str,
    lead_id: &str,
    state: &FieldState,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO field_states
             (pair, lead_id, field, agreed_hash, agreed_value, agreed_at, last_writer, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (pair, lead_id, field) DO UPDATE SET
             agreed_hash = excluded.agreed_hash,
             agreed_value = excluded.agreed_value,
             agreed_at = excluded.agreed_at,
             last_writer = excluded.last_writer,
             updated_at = excluded.updated_at",
    )
    .bind(pair)
    .bind(lead_id)
    .bind(&state.field)
    .bind(&state.agreed_hash)
    .bind(&state.agreed_value)
    .bind(state.agreed_at)
    .bind(&state.last_writer)
    .bind(now_ms())
    .execute(exec)
    .await?;
    Ok(())
}

/// Upserts several fields of one link on the caller's connection (normally the decision
/// transaction, so they commit together with the activity rows and outbox commands).
pub async fn upsert_many(
    conn: &mut SqliteConnection,
    pair: &str,
    lead_id: &str,
    states: &[FieldState],
) -> Result<(), StoreError> {
    for state in states {
        upsert(&mut *conn, pair, lead_id, state).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::links::{self, NewLink};
    use crate::store::testdb::temp_db;

    fn state(field: &str, value: &str, writer: Option<&str>) -> FieldState {
        FieldState {
            field: field.into(),
            agreed_hash: format!("h({value})"),
            agreed_value: value.into(),
            agreed_at: 1_000,
            last_writer: writer.map(Into::into),
        }
    }

    async fn linked(db: &crate::store::Db, lead: &str) {
        let link = NewLink {
            pair: "a".into(),
            lead_id: lead.into(),
            ..NewLink::default()
        };
        links::insert(&db.pool, &link).await.expect("link");
    }

    #[tokio::test]
    async fn states_are_upserted_in_a_transaction_and_loaded_back() {
        let db = temp_db().await;
        linked(&db, "L1").await;
        let mut tx = db.begin_write().await.expect("begin");
        upsert_many(
            &mut tx,
            "a",
            "L1",
            &[
                state("status", "New", Some("sheet")),
                state("name", "Ada", None),
            ],
        )
        .await
        .expect("upsert");
        tx.commit().await.expect("commit");
        upsert(&db.pool, "a", "L1", &state("status", "Won", Some("trello")))
            .await
            .expect("replace");
        let loaded = load(&db.pool, "a", "L1").await.expect("load");
        assert_eq!(
            loaded,
            [
                state("name", "Ada", None),
                state("status", "Won", Some("trello"))
            ]
        );
        assert!(load(&db.pool, "b", "L1").await.expect("load").is_empty());
    }

    #[tokio::test]
    async fn a_state_without_a_link_or_with_an_unknown_writer_is_refused() {
        let db = temp_db().await;
        assert!(
            upsert(&db.pool, "a", "ghost", &state("name", "x", None))
                .await
                .is_err()
        );
        linked(&db, "L1").await;
        assert!(
            upsert(&db.pool, "a", "L1", &state("name", "x", Some("fax")))
                .await
                .is_err()
        );
    }

    #[tokio::test]
    async fn deleting_a_link_deletes_its_field_states() {
        let db = temp_db().await;
        linked(&db, "L1").await;
        linked(&db, "L2").await;
        upsert(&db.pool, "a", "L1", &state("name", "Ada", None))
            .await
            .expect("s1");
        upsert(&db.pool, "a", "L2", &state("name", "Bob", None))
            .await
            .expect("s2");
        assert!(links::delete(&db.pool, "a", "L1").await.expect("delete"));
        let left: i64 =
            sqlx::query_scalar("SELECT count(*) FROM field_states WHERE lead_id = 'L1'")
                .fetch_one(&db.pool)
                .await
                .expect("count");
        assert_eq!(left, 0);
        assert_eq!(load(&db.pool, "a", "L2").await.expect("load").len(), 1);
    }
}
