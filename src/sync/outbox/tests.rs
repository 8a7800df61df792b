//! The dispatcher's side of the tracker connector trait, with a fake connector: a pair's tracker
//! commands go to its kind's connector as one batch and each outcome is recorded; a pair whose
//! kind has no connector, or a connector that answers too few outcomes, leaves nothing claimed.
//! (The dispatcher with the real connectors is tested in `crate::connectors`.)

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use super::*;
use crate::model::TrackerKind;
use crate::store::outbox::{self, NewCommand};
use crate::store::testdb::{TestDb, temp_db};
use crate::sync::connector::FollowUp;
use crate::sync::plan::commands::Command;
use crate::sync::test_support::{StubBoard, ctx};
use crate::sync::test_tracker::FakeTracker;

/// A Sheets tracker that answers the first command of a batch as sent and the others as
/// refused, or (`short`) only the first; it remembers the lead ids of each batch it was given.
fn fake(short: bool, batches: Arc<Mutex<Vec<Vec<String>>>>) -> FakeTracker {
    FakeTracker::sheets().sending(move |batch| {
        let leads = batch.iter().map(|c| c.cmd.lead_id().to_owned()).collect();
        batches.lock().expect("lock").push(leads);
        let answer = |i: usize| match i {
            0 => Outcome::sent(FollowUp::default()),
            _ => Outcome::Invalid("refused by the fake".into()),
        };
        let n = if short { 1 } else { batch.len() };
        Box::pin(async move { Ok((0..n).map(answer).collect()) })
    })
}

/// A dispatcher for pair `a` (a Sheets pair) whose board is never called.
pub(super) fn dispatcher(db: &TestDb, trackers: Trackers) -> Dispatcher {
    let mut pair = ctx();
    pair.name = "a".into();
    let board = Arc::new(StubBoard::default());
    Dispatcher::new(db.db.clone(), board, trackers, [Arc::new(pair)])
}

/// L1's sheet write of `cells` (row 2), enqueued and claimed: the stored command and the
/// command, as the dispatcher has them when the outcome comes.
pub(super) async fn claimed_write(
    db: &TestDb,
    cells: &[(&str, &str)],
) -> (outbox::Command, Command) {
    let cmd = Command::WriteRow {
        lead_id: "L1".into(),
        row_hint: Some(2),
        expect_name: None,
        cells: (cells.iter())
            .map(|(h, v)| ((*h).to_owned(), (*v).to_owned()))
            .collect(),
    };
    let new = NewCommand {
        pair: "a".into(),
        lead_id: Some("L1".into()),
        target: cmd.target(TrackerKind::Sheets).into(),
        kind: cmd.kind().into(),
        payload: serde_json::to_value(&cmd).expect("json"),
        idempotency_key: "w-L1".into(),
    };
    assert!(outbox::enqueue(&db.pool, &new).await.expect("enqueue"));
    let id: i64 = sqlx::query_scalar("SELECT id FROM outbox WHERE idempotency_key = 'w-L1'")
        .fetch_one(&db.pool)
        .await
        .expect("id");
    sqlx::query("UPDATE outbox SET status = 'in_flight' WHERE id = $1")
        .bind(id)
        .execute(&db.pool)
        .await
        .expect("claim");
    let row = outbox::get(&db.pool, id).await.expect("get").expect("row");
    (row, cmd)
}

pub(super) async fn enqueue_writes(db: &TestDb, leads: &[&str]) -> Vec<i64> {
    let mut ids = Vec::new();
    for lead in leads {
        let cmd = Command::WriteRow {
            lead_id: (*lead).into(),
            row_hint: None,
            expect_name: None,
            cells: BTreeMap::from([("Name".to_owned(), "Ada".to_owned())]),
        };
        let new = NewCommand {
            pair: "a".into(),
            lead_id: Some((*lead).into()),
            target: cmd.target(TrackerKind::Sheets).into(),
            kind: cmd.kind().into(),
            payload: serde_json::to_value(&cmd).expect("json"),
            idempotency_key: format!("k-{lead}"),
        };
        assert!(outbox::enqueue(&db.pool, &new).await.expect("enqueue"));
        let id = sqlx::query_scalar("SELECT id FROM outbox WHERE idempotency_key = $1")
            .bind(&new.idempotency_key)
            .fetch_one(&db.pool)
            .await
            .expect("id");
        ids.push(id);
    }
    ids
}

async fn status(db: &TestDb, id: i64) -> (String, Option<String>) {
    let row = outbox::get(&db.pool, id).await.expect("get").expect("row");
    (row.status, row.last_error)
}

#[tokio::test]
async fn a_pairs_tracker_commands_go_to_its_connector_as_one_batch_and_each_outcome_is_recorded() {
    let db = temp_db().await;
    let batches = Arc::default();
    let fake = fake(false, Arc::clone(&batches));
    let d = dispatcher(&db, Trackers::default().with(Arc::new(fake)));
    let ids = enqueue_writes(&db, &["L1", "L2"]).await;
    let report = d.run_once().await.expect("round");
    assert_eq!((report.claimed, report.sent, report.dead), (2, 1, 1));
    assert_eq!(*batches.lock().expect("lock"), vec![vec!["L1", "L2"]]);
    assert_eq!(status(&db, ids[0]).await.0, "done");
    let (dead, why) = status(&db, ids[1]).await;
    assert_eq!(dead, "dead");
    assert!(why.is_some_and(|w| w.contains("refused by the fake")));
}

#[tokio::test]
async fn a_pair_whose_tracker_has_no_connector_dead_letters_its_commands_naming_what_is_missing() {
    let db = temp_db().await;
    let d = dispatcher(&db, Trackers::default());
    let ids = enqueue_writes(&db, &["L1"]).await;
    let report = d.run_once().await.expect("round");
    assert_eq!(report.dead, 1);
    let (dead, why) = status(&db, ids[0]).await;
    assert_eq!(dead, "dead");
    let why = why.expect("error");
    assert!(
        why.contains("pair a") && why.contains("no sheets connector"),
        "{why}"
    );
}

#[tokio::test]
async fn a_connector_answering_too_few_outcomes_gets_every_command_retried_not_left_claimed() {
    let db = temp_db().await;
    let fake = fake(true, Arc::default());
    let d = dispatcher(&db, Trackers::default().with(Arc::new(fake)));
    let ids = enqueue_writes(&db, &["L1", "L2"]).await;
    let report = d.run_once().await.expect("round");
    assert_eq!(report.retried, 2);
    for id in ids {
        let (pending, why) = status(&db, id).await;
        assert_eq!(pending, "pending");
        assert!(why.is_some_and(|w| w.contains("1 outcomes for 2 commands")));
    }
}
