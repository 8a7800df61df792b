//! Renaming a lead: an Airtable pair's lead is keyed by its record id, which exists only once
//! the record is made, so a lead leadsync created from a card (`L…`) takes the record's id then.

use super::Conn;

use super::{Dialect, StoreError, now_ms};

/// Renames lead `from` of `pair` to `to` wherever the engine keys state by lead: its link, its
/// field states, its row absence, and its unfinished (and dead) outbox commands, `lead_id` and
/// the payload's `lead_id` both, so commands queued behind the create reach the new record.
/// Finished commands and activity keep the old id: they are history. Must run in the caller's
/// write transaction. False (and nothing changed) when `to` is already a lead of the pair.
pub async fn rename_lead(
    tx: &mut Conn,
    pair: &str,
    from: &str,
    to: &str,
) -> Result<bool, StoreError> {
    if from == to {
        return Ok(true);
    }
    let taken: i64 =
        sqlx::query_scalar("SELECT count(*) FROM links WHERE pair = $1 AND lead_id = $2")
            .bind(pair)
            .bind(to)
            .fetch_one(&mut *tx)
            .await?;
    if taken > 0 {
        return Ok(false);
    }
    // field_states references links(pair, lead_id) without ON UPDATE: the check waits for the
    // commit (the pragma ends with the transaction), by when both sides carry the new id.
    let defer = match Dialect::of_conn(tx) {
        Dialect::Sqlite => "PRAGMA defer_foreign_keys = ON",
        // The constraint is DEFERRABLE (migrations_pg 0010); this defers it to the commit.
        Dialect::Postgres => "SET CONSTRAINTS ALL DEFERRED",
    };
    sqlx::query(defer).execute(&mut *tx).await?;
    let now = now_ms();
    for table in ["links", "field_states"] {
        // Only these constant names are formatted into the statement.
        let sql = format!(
            "UPDATE {table} SET lead_id = $1, updated_at = $2 WHERE pair = $3 AND lead_id = $4"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(to)
            .bind(now)
            .bind(pair)
            .bind(from)
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query("UPDATE row_absences SET lead_id = $1 WHERE pair = $2 AND lead_id = $3")
        .bind(to)
        .bind(pair)
        .bind(from)
        .execute(&mut *tx)
        .await?;
    let payload = match Dialect::of_conn(tx) {
        Dialect::Sqlite => "json_set(payload, '$.lead_id', $1)",
        Dialect::Postgres => {
            "CAST(jsonb_set(CAST(payload AS jsonb), '{lead_id}', to_jsonb(CAST($1 AS TEXT))) AS TEXT)"
        }
    };
    let sql = format!(
        "UPDATE outbox SET lead_id = $1, payload = {payload}, updated_at = $2
         WHERE pair = $3 AND lead_id = $4 AND status IN ('pending', 'in_flight', 'dead')"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(to)
        .bind(now)
        .bind(pair)
        .bind(from)
        .execute(&mut *tx)
        .await?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::lead_state::{self, StoredField};
    use crate::store::links::{self, NewLink};
    use crate::store::outbox::{self, NewCommand};
    use crate::store::testdb::temp_db;
    use crate::store::{Db, absences};

    async fn lead(db: &Db, pair: &str, lead: &str, card: &str) {
        let link = NewLink {
            pair: pair.into(),
            lead_id: lead.into(),
            card_id: Some(card.into()),
            ..NewLink::default()
        };
        assert!(links::insert(&db.pool, &link).await.expect("link"));
        let state = StoredField {
            lead_id: lead.into(),
            field: "name".into(),
            agreed_hash: "h".into(),
            agreed_value: "Ada".into(),
            agreed_at: 1,
            last_writer: None,
            sheet_seen_at: None,
            sheet_written_at: None,
            trello_seen_at: None,
            trello_written_at: None,
        };
        lead_state::save(&db.pool, pair, &state)
            .await
            .expect("state");
    }

    async fn command(db: &Db, pair: &str, lead: &str, key: &str) -> i64 {
        let new = NewCommand {
            pair: pair.into(),
            lead_id: Some(lead.into()),
            target: "trello".into(),
            kind: "mark_card".into(),
            payload: serde_json::json!({"kind": "mark_card", "lead_id": lead, "card_id": "c1"}),
            idempotency_key: key.into(),
        };
        assert!(outbox::enqueue(&db.pool, &new).await.expect("enqueue"));
        sqlx::query_scalar("SELECT id FROM outbox WHERE idempotency_key = $1")
            .bind(key)
            .fetch_one(&db.pool)
            .await
            .expect("id")
    }

    #[tokio::test]
    async fn a_renamed_lead_keeps_its_link_states_absence_and_queued_commands_under_its_new_id() {
        let db = temp_db().await;
        lead(&db, "a", "L1", "c1").await;
        lead(&db, "b", "L1", "c9").await;
        absences::record_miss(&db.pool, "a", "L1", 5)
            .await
            .expect("miss");
        let done = command(&db, "a", "L1", "k-done").await;
        sqlx::query("UPDATE outbox SET status = 'done' WHERE id = $1")
            .bind(done)
            .execute(&db.pool)
            .await
            .expect("done");
        let queued = command(&db, "a", "L1", "k-queued").await;
        let mut tx = db.begin_write().await.expect("begin");
        assert!(
            rename_lead(&mut tx, "a", "L1", "recABC")
                .await
                .expect("rename")
        );
        tx.commit().await.expect("commit: foreign keys hold");

        let link = links::get_by_lead(&db.pool, "a", "recABC")
            .await
            .expect("get");
        assert_eq!(link.expect("renamed").card_id.as_deref(), Some("c1"));
        assert!(
            links::get_by_lead(&db.pool, "a", "L1")
                .await
                .expect("get")
                .is_none()
        );
        let states = lead_state::load_lead(&db.pool, "a", "recABC")
            .await
            .expect("load");
        assert_eq!(states.len(), 1);
        assert!(
            lead_state::load_lead(&db.pool, "a", "L1")
                .await
                .expect("load")
                .is_empty()
        );
        let missed = absences::list(&db.pool, "a").await.expect("absences");
        assert_eq!(missed.len(), 1);
        assert_eq!(missed[0].0, "recABC");
        let q = outbox::get(&db.pool, queued)
            .await
            .expect("get")
            .expect("row");
        assert_eq!(q.lead_id.as_deref(), Some("recABC"));
        assert_eq!(q.payload["lead_id"], "recABC");
        assert_eq!(q.payload["card_id"], "c1");
        let d = outbox::get(&db.pool, done)
            .await
            .expect("get")
            .expect("row");
        assert_eq!(d.lead_id.as_deref(), Some("L1"), "history keeps the old id");
        // The other pair's lead of the same id is not touched.
        assert!(
            links::get_by_lead(&db.pool, "b", "L1")
                .await
                .expect("get")
                .is_some()
        );
    }

    #[tokio::test]
    async fn a_rename_onto_an_existing_lead_changes_nothing() {
        let db = temp_db().await;
        lead(&db, "a", "L1", "c1").await;
        lead(&db, "a", "recABC", "c2").await;
        let mut tx = db.begin_write().await.expect("begin");
        assert!(
            !rename_lead(&mut tx, "a", "L1", "recABC")
                .await
                .expect("rename")
        );
        tx.commit().await.expect("commit");
        assert!(
            links::get_by_lead(&db.pool, "a", "L1")
                .await
                .expect("get")
                .is_some()
        );
    }
}
