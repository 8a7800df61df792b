//! A sheet write that lands after its fields' agreed values changed (a person's newer edit,
//! read while the write was queued or in flight) has those agreed values written again when its
//! landing is recorded (seed 53); a write that still carries the agreed values enqueues nothing.

use std::collections::BTreeMap;

use super::tests::{claimed_write, dispatcher};
use super::*;
use crate::model::TrackerKind;
use crate::store::lead_state::{self, StoredField};
use crate::store::links::{self, NewLink};
use crate::store::outbox::{self, NewCommand};
use crate::store::testdb::{TestDb, temp_db};
use crate::sync::connector::{FollowUp, Outcome};
use crate::sync::plan::commands::Command;

async fn save_agreed(db: &TestDb, field: &str, value: &str) {
    let link = NewLink {
        pair: "a".into(),
        lead_id: "L1".into(),
        card_id: None,
        card_short_url: None,
        row_hint: Some(2),
        id_assigned: false,
    };
    links::insert(&db.pool, &link).await.expect("link");
    let agreed = StoredField {
        lead_id: "L1".into(),
        field: field.into(),
        agreed_hash: "h".into(),
        agreed_value: value.into(),
        agreed_at: 1,
        last_writer: None,
        sheet_seen_at: None,
        sheet_written_at: None,
        trello_seen_at: None,
        trello_written_at: None,
    };
    lead_state::save(&db.pool, "a", &agreed)
        .await
        .expect("state");
}

/// The commands queued besides the one recorded.
/// A write of Won to L1's Status, found by its id: the write the landing check queues.
fn status_won() -> Command {
    Command::WriteRow {
        lead_id: "L1".into(),
        row_hint: None,
        expect_name: None,
        cells: BTreeMap::from([("Status".to_owned(), "Won".to_owned())]),
    }
}

async fn queued(db: &TestDb) -> Vec<Command> {
    let payloads: Vec<String> =
        sqlx::query_scalar("SELECT payload FROM outbox WHERE idempotency_key != 'w-L1'")
            .fetch_all(&db.pool)
            .await
            .expect("outbox");
    (payloads.iter())
        .map(|p| serde_json::from_str(p).expect("command"))
        .collect()
}

#[tokio::test]
async fn a_sheet_write_that_landed_after_a_newer_edit_was_agreed_has_the_agreed_value_written_again()
 {
    let db = temp_db().await;
    let dispatcher = dispatcher(&db, Trackers::default());
    // The copy of a card move to Contacted, planned then; a person typed Won in the sheet, and
    // that edit was decided (copied to the card) before the copy landed over it.
    let (row, cmd) = claimed_write(&db, &[("Status", "Contacted"), ("Notes", "call back")]).await;
    save_agreed(&db, "status", "Won").await;
    save_agreed(&db, "notes", "call back").await;
    let recorded = dispatcher
        .record(&row, Some(&cmd), Outcome::sent(FollowUp::default()))
        .await
        .expect("record");
    assert_eq!(recorded, Recorded::Sent);
    assert_eq!(
        queued(&db).await,
        [status_won()],
        "only the field whose agreed value changed"
    );
}

#[tokio::test]
async fn a_sheet_write_that_still_carries_the_agreed_values_enqueues_nothing_more() {
    let db = temp_db().await;
    let dispatcher = dispatcher(&db, Trackers::default());
    let (row, cmd) = claimed_write(&db, &[("Status", "Contacted"), ("Lead ID", "L1")]).await;
    save_agreed(&db, "status", " Contacted").await;
    let outcomes = vec![Outcome::sent(FollowUp::default())];
    let batch = [crate::sync::connector::Claimed { row, cmd }];
    let recorded = dispatcher.record_batch(&batch, outcomes).await;
    assert_eq!(recorded.expect("record"), [Recorded::Sent]);
    assert_eq!(queued(&db).await, []);
}

#[tokio::test]
async fn a_write_queued_after_it_with_the_agreed_value_is_left_to_land_after_it() {
    let db = temp_db().await;
    let dispatcher = dispatcher(&db, Trackers::default());
    let (row, cmd) = claimed_write(&db, &[("Status", "Contacted")]).await;
    save_agreed(&db, "status", "Won").await;
    // The decision that agreed Won saw the copy on its way and queued Won behind it.
    let behind = status_won();
    let new = NewCommand {
        pair: "a".into(),
        lead_id: Some("L1".into()),
        target: behind.target(TrackerKind::Sheets).into(),
        kind: behind.kind().into(),
        payload: serde_json::to_value(&behind).expect("json"),
        idempotency_key: "behind".into(),
    };
    assert!(outbox::enqueue(&db.pool, &new).await.expect("enqueue"));
    let recorded = dispatcher
        .record(&row, Some(&cmd), Outcome::sent(FollowUp::default()))
        .await;
    assert_eq!(recorded.expect("record"), Recorded::Sent);
    assert_eq!(queued(&db).await, [behind], "no second write of Won");
}

/// The other order of seed 53's race, on either backend: the worker's decision agreeing the
/// person's value is open (its write transaction not yet committed) when the write's landing
/// is recorded. The landing check must not read the agreed value before that decision
/// commits, nor the decision read before the check's mark commits, or neither writes the
/// person's value again. Both start with `Db::begin_write` (SQLite's write lock, PostgreSQL's
/// transaction advisory lock): the record waits for the decision and then sees its value.
#[tokio::test]
async fn the_landing_check_waits_for_a_decision_in_flight_and_reads_what_it_agreed() {
    let db = temp_db().await;
    let dispatcher = dispatcher(&db, Trackers::default());
    let (row, cmd) = claimed_write(&db, &[("Status", "Contacted")]).await;
    save_agreed(&db, "status", "Contacted").await;
    // The worker's transaction: it agreed Won (a person's edit) and has not committed yet.
    let mut decision = db.begin_write().await.expect("the decision's transaction");
    let won = StoredField {
        lead_id: "L1".into(),
        field: "status".into(),
        agreed_hash: "h2".into(),
        agreed_value: "Won".into(),
        agreed_at: 2,
        last_writer: None,
        sheet_seen_at: None,
        sheet_written_at: None,
        trello_seen_at: None,
        trello_written_at: None,
    };
    lead_state::save(&mut *decision, "a", &won)
        .await
        .expect("agree Won");
    let d = dispatcher.clone();
    let mut record = tokio::spawn(async move {
        d.record(&row, Some(&cmd), Outcome::sent(FollowUp::default()))
            .await
    });
    // Bounded: the record must still be waiting for the decision's lock after this long.
    let early = tokio::time::timeout(std::time::Duration::from_millis(400), &mut record).await;
    assert!(
        early.is_err(),
        "the landing was recorded while the decision was still open"
    );
    decision.commit().await.expect("commit the decision");
    let recorded = tokio::time::timeout(std::time::Duration::from_secs(10), record)
        .await
        .expect("the record went on once the decision committed")
        .expect("join")
        .expect("record");
    assert_eq!(recorded, Recorded::Sent);
    assert_eq!(
        queued(&db).await,
        [status_won()],
        "the write of Won again, read after the decision committed"
    );
}
