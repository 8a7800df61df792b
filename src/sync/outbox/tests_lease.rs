//! The lease of a claim (CONTRACT §9: at most 60 s) against a send that outlasts it: the round's
//! heartbeat renews the claim, so another dispatcher cannot take the command over and send it a
//! second time. The lease here is short (2 s) so the test sees it run out; nothing asserts a time.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::Semaphore;

use super::tests::{dispatcher, enqueue_writes};
use super::*;
use crate::store::outbox;
use crate::store::testdb::temp_db;
use crate::sync::connector::FollowUp;
use crate::sync::test_tracker::FakeTracker;

/// A Sheets tracker whose send waits until the test lets it finish (a send in its retries),
/// and says when it has started.
fn held(started: Arc<AtomicBool>, gate: Arc<Semaphore>) -> FakeTracker {
    FakeTracker::sheets().sending(move |batch| {
        started.store(true, Ordering::SeqCst);
        let (n, gate) = (batch.len(), Arc::clone(&gate));
        Box::pin(async move {
            let _pass = gate.acquire().await.expect("gate open");
            Ok((0..n).map(|_| Outcome::sent(FollowUp::default())).collect())
        })
    })
}

/// Polls `check` every 20 ms for up to 20 s.
async fn until(what: &str, mut check: impl AsyncFnMut() -> bool) {
    for _ in 0..1000 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting until {what}");
}

#[tokio::test]
async fn a_send_that_outlasts_its_lease_keeps_its_claim_and_is_sent_once() {
    let db = temp_db().await;
    let (started, gate) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(Semaphore::new(0)),
    );
    let held = held(Arc::clone(&started), Arc::clone(&gate));
    let lease = Duration::from_secs(2);
    let d =
        dispatcher(&db, Trackers::default().with(Arc::new(held))).with_options(DispatchOptions {
            lease,
            ..DispatchOptions::default()
        });
    let id = enqueue_writes(&db, &["L1"]).await[0];
    let round = tokio::spawn({
        let d = d.clone();
        async move { d.run_once().await }
    });
    until("the send starts", async || started.load(Ordering::SeqCst)).await;
    let first_until = outbox::get(&db.pool, id).await.expect("get").expect("row");
    assert_eq!(first_until.status, "in_flight");
    let first_until = first_until.next_attempt_at;
    // The first lease runs out while the send goes on; its claim must have been renewed past it.
    until("the first lease is over", async || {
        crate::store::now_ms() > first_until
    })
    .await;
    let row = outbox::get(&db.pool, id).await.expect("get").expect("row");
    assert_eq!(row.status, "in_flight");
    assert!(
        row.next_attempt_at > first_until,
        "the lease was renewed during the send"
    );
    let other = outbox::claim_due(&db, None, 10, lease)
        .await
        .expect("claim");
    assert!(other.is_empty(), "another dispatcher took over {other:?}");
    gate.add_permits(1);
    let report = round.await.expect("joins").expect("round");
    assert_eq!((report.claimed, report.sent), (1, 1));
    assert_eq!(
        outbox::get(&db.pool, id)
            .await
            .expect("get")
            .expect("row")
            .status,
        "done"
    );
}
