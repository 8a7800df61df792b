//! The stored merge state and the link flags the engine reads.

use super::*;
use crate::store::links::{self, NewLink};
use crate::store::outbox::{self, NewCommand};
use crate::store::testdb::temp_db;
use crate::store::{Db, now_ms};

fn field(lead: &str, name: &str, value: &str, writer: Option<&str>) -> StoredField {
    StoredField {
        lead_id: lead.into(),
        field: name.into(),
        agreed_hash: format!("h-{value}"),
        agreed_value: value.into(),
        agreed_at: 1_000,
        last_writer: writer.map(str::to_owned),
        sheet_seen_at: Some(900),
        sheet_written_at: None,
        trello_seen_at: None,
        trello_written_at: Some(950),
    }
}

async fn linked(db: &Db, lead: &str, card: Option<&str>) {
    let link = NewLink {
        pair: "a".into(),
        lead_id: lead.into(),
        card_id: card.map(str::to_owned),
        row_hint: Some(7),
        ..NewLink::default()
    };
    links::insert(&db.pool, &link).await.expect("link");
}

fn sorted(mut rows: Vec<StoredField>) -> Vec<StoredField> {
    rows.sort_by(|a, b| a.field.cmp(&b.field));
    rows
}

#[tokio::test]
async fn states_are_saved_in_a_transaction_and_loaded_back_per_lead_and_per_pair() {
    let db = temp_db().await;
    linked(&db, "L1", None).await;
    linked(&db, "L2", None).await;
    let mut tx = db.begin_write().await.expect("begin");
    save(&mut *tx, "a", &field("L1", "status", "New", Some("sheet")))
        .await
        .expect("save");
    save(&mut *tx, "a", &field("L1", "name", "Ada", None))
        .await
        .expect("save");
    tx.commit().await.expect("commit");
    save(&db.pool, "a", &field("L1", "status", "Won", Some("trello")))
        .await
        .expect("replace");
    save(&db.pool, "a", &field("L2", "name", "Bob", None))
        .await
        .expect("save");
    assert_eq!(
        sorted(load_lead(&db.pool, "a", "L1").await.expect("load")),
        [
            field("L1", "name", "Ada", None),
            field("L1", "status", "Won", Some("trello"))
        ]
    );
    assert!(
        load_lead(&db.pool, "b", "L1")
            .await
            .expect("load")
            .is_empty()
    );
    let pair = load_leads(&db.pool, "a", &["L1", "L2", "L9"])
        .await
        .expect("pair");
    assert_eq!(pair.len(), 2);
    assert_eq!(pair["L2"], [field("L2", "name", "Bob", None)]);
    let one = load_leads(&db.pool, "a", &["L2"]).await.expect("one");
    assert_eq!(
        one.keys().collect::<Vec<_>>(),
        ["L2"],
        "only the leads named"
    );
}

#[tokio::test]
async fn a_state_without_a_link_or_with_an_unknown_writer_is_refused() {
    let db = temp_db().await;
    assert!(
        save(&db.pool, "a", &field("ghost", "name", "x", None))
            .await
            .is_err()
    );
    linked(&db, "L1", None).await;
    assert!(
        save(&db.pool, "a", &field("L1", "name", "x", Some("fax")))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn deleting_a_link_deletes_its_field_states() {
    let db = temp_db().await;
    linked(&db, "L1", None).await;
    linked(&db, "L2", None).await;
    save(&db.pool, "a", &field("L1", "name", "Ada", None))
        .await
        .expect("s1");
    save(&db.pool, "a", &field("L2", "name", "Bob", None))
        .await
        .expect("s2");
    assert!(links::delete(&db.pool, "a", "L1").await.expect("delete"));
    assert!(
        load_lead(&db.pool, "a", "L1")
            .await
            .expect("load")
            .is_empty()
    );
    assert_eq!(load_lead(&db.pool, "a", "L2").await.expect("load").len(), 1);
}

#[tokio::test]
async fn a_deleted_card_leaves_a_tombstone_until_a_new_card_lifts_it() {
    let db = temp_db().await;
    linked(&db, "L1", Some("c1")).await;
    assert!(!is_card_deleted(&db.pool, "a", "L1").await.expect("flag"));
    mark_card_deleted(&db.pool, "a", "L1").await.expect("mark");
    let link = links::get_by_lead(&db.pool, "a", "L1")
        .await
        .expect("get")
        .expect("link");
    assert_eq!((link.card_id, link.card_short_url), (None, None));
    assert!(is_card_deleted(&db.pool, "a", "L1").await.expect("flag"));
    assert_eq!(deleted_cards(&db.pool, "a").await.expect("list"), ["L1"]);
    clear_card_deleted(&db.pool, "a", "L1")
        .await
        .expect("clear");
    assert!(!is_card_deleted(&db.pool, "a", "L1").await.expect("flag"));
}

fn command(lead: &str, kind: &str, key: &str) -> NewCommand {
    NewCommand {
        pair: "a".into(),
        lead_id: Some(lead.into()),
        target: "trello".into(),
        kind: kind.into(),
        payload: serde_json::json!({}),
        idempotency_key: key.into(),
    }
}

#[tokio::test]
async fn pending_creates_dead_letters_and_recent_changes_are_found_by_lead() {
    let db = temp_db().await;
    let start = now_ms();
    linked(&db, "L1", None).await;
    outbox::enqueue(&db.pool, &command("L1", "create_card", "k1"))
        .await
        .expect("enqueue");
    outbox::enqueue(&db.pool, &command("L2", "update_card", "k2"))
        .await
        .expect("enqueue");
    assert!(create_pending(&db.pool, "a", "L1").await.expect("pending"));
    assert!(!create_pending(&db.pool, "a", "L2").await.expect("pending"));
    let claimed = outbox::claim_due(&db, None, 10, std::time::Duration::from_secs(60))
        .await
        .expect("claim");
    let l2 = claimed
        .iter()
        .find(|c| c.lead_id.as_deref() == Some("L2"))
        .expect("L2 claimed");
    outbox::dead_letter(&db.pool, l2.id, "refused")
        .await
        .expect("dead");
    assert_eq!(
        leads_with_dead_letters(&db.pool, "a").await.expect("dead"),
        ["L2"]
    );
    let touched = touched_since(&db.pool, "a", start).await.expect("touched");
    assert!(
        touched.contains("L1") && touched.contains("L2"),
        "{touched:?}"
    );
    assert!(
        touched_since(&db.pool, "a", now_ms() + 1_000)
            .await
            .expect("touched")
            .is_empty()
    );
}

#[tokio::test]
async fn a_lead_made_for_a_row_is_found_by_its_row_until_its_id_landed_before_the_edit() {
    let db = temp_db().await;
    let assigned = NewLink {
        pair: "a".into(),
        lead_id: "L1".into(),
        row_hint: Some(7),
        id_assigned: true,
        ..NewLink::default()
    };
    links::insert(&db.pool, &assigned).await.expect("link");
    let recent = now_ms() - 60_000;
    // The candidates at a row: the query's leads made at that position.
    let at = |row: i64, since, edited| {
        let pool = db.pool.clone();
        async move {
            unlanded_new_leads(&pool, "a", since, edited)
                .await
                .map(|all| {
                    all.into_iter()
                        .find(|(_, hint)| *hint == Some(row))
                        .map(|(lead, _)| lead)
                })
        }
    };
    let later = now_ms() + 60_000;
    assert_eq!(
        at(7, recent, later).await.expect("row").as_deref(),
        Some("L1")
    );
    assert_eq!(at(8, recent, later).await.expect("row"), None);
    assert_eq!(at(7, later, later).await.expect("row"), None, "too old");
    links::set_id_landed(&db.pool, "a", "L1")
        .await
        .expect("landed");
    assert_eq!(
        at(7, recent, recent).await.expect("row").as_deref(),
        Some("L1"),
        "edited before the id landed: the same row"
    );
    assert_eq!(
        at(7, recent, later).await.expect("row"),
        None,
        "edited after the id landed: another row at that position"
    );
    // A lead whose id came from the sheet is never a row's new lead.
    linked(&db, "L2", None).await;
    assert_eq!(
        at(7, recent, recent).await.expect("row").as_deref(),
        Some("L1")
    );
}

/// A tracker write of `lead` in `pair` whose payload names `value`, last updated at `at_ms`.
async fn tracker_write(db: &Db, pair: &str, lead: &str, kind: &str, value: &str, at_ms: i64) {
    let key = format!("{pair}:{lead}:{kind}:{value}");
    let cmd = NewCommand {
        pair: pair.into(),
        target: "sheets".into(),
        payload: serde_json::json!({ "value": value }),
        ..command(lead, kind, &key)
    };
    assert!(outbox::enqueue(&db.pool, &cmd).await.expect("enqueue"));
    sqlx::query("UPDATE outbox SET updated_at = $1 WHERE idempotency_key = $2")
        .bind(at_ms)
        .bind(&key)
        .execute(&db.pool)
        .await
        .expect("age it");
}

fn values(payloads: &[String]) -> Vec<String> {
    (payloads.iter())
        .map(|p| serde_json::from_str::<serde_json::Value>(p).expect("json")["value"].to_string())
        .map(|v| v.trim_matches('"').to_owned())
        .collect()
}

#[tokio::test]
async fn recent_tracker_writes_are_the_leads_row_writes_and_appends_since_the_window_opened() {
    let db = temp_db().await;
    let since = 10_000;
    tracker_write(&db, "a", "L1", "append_row", "made", since).await;
    tracker_write(&db, "a", "L1", "write_row", "old", since - 1).await;
    tracker_write(&db, "a", "L1", "write_row", "new", since + 5).await;
    tracker_write(&db, "a", "L1", "update_card", "card", since + 5).await;
    tracker_write(&db, "a", "L1", "create_card", "made card", since + 5).await;
    tracker_write(&db, "a", "L2", "write_row", "other lead", since + 5).await;
    tracker_write(&db, "b", "L1", "write_row", "other pair", since + 5).await;
    let got = recent_tracker_writes(&db.pool, "a", "L1", since)
        .await
        .expect("read");
    // The window includes its first instant; card commands are not tracker writes; another
    // lead's or another pair's writes are not this lead's.
    assert_eq!(
        values(&got),
        ["made", "new"],
        "in the order they were queued"
    );
    let later = recent_tracker_writes(&db.pool, "a", "L1", since + 1)
        .await
        .expect("read");
    assert_eq!(values(&later), ["new"], "the window moves on");
    let none = recent_tracker_writes(&db.pool, "a", "L3", 0)
        .await
        .expect("read");
    assert!(none.is_empty(), "a lead with no writes has none");
}

#[tokio::test]
async fn a_tracker_write_counts_as_recent_whatever_became_of_it() {
    let db = temp_db().await;
    let start = now_ms();
    tracker_write(&db, "a", "L1", "write_row", "sent", start).await;
    tracker_write(&db, "a", "L1", "write_row", "refused", start).await;
    tracker_write(&db, "a", "L1", "write_row", "queued", start).await;
    for (value, status) in [("sent", "done"), ("refused", "dead")] {
        sqlx::query("UPDATE outbox SET status = $1 WHERE payload LIKE $2")
            .bind(status)
            .bind(format!("%\"{value}\"%"))
            .execute(&db.pool)
            .await
            .expect("status");
    }
    let got = recent_tracker_writes(&db.pool, "a", "L1", start)
        .await
        .expect("read");
    // Its notice may come back late whether it landed, was refused after landing, or is still
    // on its way.
    assert_eq!(values(&got), ["sent", "refused", "queued"]);
}

#[tokio::test]
async fn an_unlanded_id_is_on_its_way_while_its_write_is_pending_not_once_dead_lettered() {
    let db = temp_db().await;
    let assigned = NewLink {
        pair: "a".into(),
        lead_id: "L1".into(),
        row_hint: Some(3),
        id_assigned: true,
        ..NewLink::default()
    };
    links::insert(&db.pool, &assigned).await.expect("link");
    assert!(!ids_on_their_way(&db.pool, "a").await.expect("query"));
    outbox::enqueue(&db.pool, &command("L1", "write_row", "k1"))
        .await
        .expect("enqueue");
    assert!(ids_on_their_way(&db.pool, "a").await.expect("query"));
    let claimed = outbox::claim_due(&db, None, 10, std::time::Duration::from_secs(60))
        .await
        .expect("claim");
    assert!(ids_on_their_way(&db.pool, "a").await.expect("in flight"));
    outbox::dead_letter(&db.pool, claimed[0].id, "rows moved")
        .await
        .expect("dead");
    // Sent again only once requeued: new rows need not wait for it (seed 141).
    assert!(!ids_on_their_way(&db.pool, "a").await.expect("dead"));
}
