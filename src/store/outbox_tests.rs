//! Tests of the outbox: idempotent enqueue, per-lead FIFO claims, leases, retries, dead letters.

use crate::store::outbox_depth::{OutboxDepth, RunProgress, depths, run_progress};
use std::collections::HashSet;
use std::time::Duration;

use super::*;
use crate::store::testdb::temp_db;

const LONG: Duration = Duration::from_secs(3600);

fn cmd(pair: &str, lead: Option<&str>, key: &str) -> NewCommand {
    NewCommand {
        pair: pair.into(),
        lead_id: lead.map(Into::into),
        target: "trello".into(),
        kind: "update_card".into(),
        payload: serde_json::json!({ "key": key, "name": "Zoë" }),
        idempotency_key: key.into(),
    }
}

async fn ids(db: &Db, limit: i64, lease: Duration) -> Vec<i64> {
    claim_due(db, None, limit, lease)
        .await
        .expect("claim")
        .into_iter()
        .map(|c| c.id)
        .collect()
}

/// Enqueues in order and returns the ids.
async fn enqueue_all(db: &Db, cmds: &[NewCommand]) -> Vec<i64> {
    let mut tx = db.begin_write().await.expect("begin");
    for c in cmds {
        assert!(enqueue(&mut *tx, c).await.expect("enqueue"));
    }
    tx.commit().await.expect("commit");
    let keys: Vec<&str> = cmds.iter().map(|c| c.idempotency_key.as_str()).collect();
    let mut out = Vec::new();
    for key in keys {
        let id: i64 = sqlx::query_scalar("SELECT id FROM outbox WHERE idempotency_key = $1")
            .bind(key)
            .fetch_one(&db.pool)
            .await
            .expect("id");
        out.push(id);
    }
    out
}

#[tokio::test]
async fn enqueue_is_idempotent_by_key_and_keeps_the_payload() {
    let db = temp_db().await;
    assert!(
        enqueue(&db.pool, &cmd("a", Some("L1"), "k1"))
            .await
            .expect("first")
    );
    let mut again = cmd("a", Some("L1"), "k1");
    again.kind = "something_else".into();
    assert!(!enqueue(&db.pool, &again).await.expect("second"));
    let claimed = claim_due(&db, None, 10, LONG).await.expect("claim");
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].kind, "update_card");
    assert_eq!(claimed[0].payload["name"], "Zoë");
    assert_eq!(
        (claimed[0].status.as_str(), claimed[0].attempts),
        ("in_flight", 0)
    );
}

#[tokio::test]
async fn a_leads_second_command_waits_for_the_first_while_other_leads_go_out() {
    let db = temp_db().await;
    let id = enqueue_all(
        &db,
        &[
            cmd("a", Some("L1"), "1"),
            cmd("a", Some("L1"), "2"),
            cmd("a", Some("L2"), "3"),
            cmd("b", Some("L1"), "4"),
        ],
    )
    .await;
    assert_eq!(ids(&db, 10, LONG).await, [id[0], id[2], id[3]]);
    assert!(
        ids(&db, 10, LONG).await.is_empty(),
        "L1's second waits while its first is in flight"
    );
    assert!(complete(&db.pool, id[0]).await.expect("complete"));
    assert_eq!(ids(&db, 10, LONG).await, [id[1]]);
    assert!(
        !complete(&db.pool, id[0]).await.expect("complete twice"),
        "already done"
    );
}

#[tokio::test]
async fn a_lead_waiting_on_a_retry_blocks_only_itself() {
    let db = temp_db().await;
    let id = enqueue_all(
        &db,
        &[
            cmd("a", Some("L1"), "1"),
            cmd("a", Some("L1"), "2"),
            cmd("a", Some("L2"), "3"),
        ],
    )
    .await;
    assert_eq!(ids(&db, 1, LONG).await, [id[0]], "the limit is honoured");
    assert!(
        retry_later(&db.pool, id[0], "HTTP 500", LONG)
            .await
            .expect("retry")
    );
    let retried = get(&db.pool, id[0]).await.expect("get").expect("cmd");
    assert_eq!((retried.status.as_str(), retried.attempts), ("pending", 1));
    assert_eq!(retried.last_error.as_deref(), Some("HTTP 500"));
    assert_eq!(ids(&db, 10, LONG).await, [id[2]]);
    // Due again at once: it goes out before L1's second command.
    assert!(
        !retry_later(&db.pool, id[0], "not in flight", Duration::ZERO)
            .await
            .expect("r")
    );
    sqlx::query("UPDATE outbox SET next_attempt_at = 0 WHERE id = $1")
        .bind(id[0])
        .execute(&db.pool)
        .await
        .expect("make due");
    assert_eq!(ids(&db, 10, LONG).await, [id[0]]);
}

#[tokio::test]
async fn commands_without_a_lead_are_not_ordered_against_each_other() {
    let db = temp_db().await;
    let id = enqueue_all(&db, &[cmd("a", None, "1"), cmd("a", None, "2")]).await;
    assert_eq!(ids(&db, 10, LONG).await, id);
}

#[tokio::test]
async fn an_expired_lease_makes_a_crashed_command_claimable_again_before_later_ones() {
    let db = temp_db().await;
    let id = enqueue_all(&db, &[cmd("a", Some("L1"), "1"), cmd("a", Some("L1"), "2")]).await;
    // A dispatcher claims with a lease that has already run out, then "crashes".
    assert_eq!(ids(&db, 10, Duration::ZERO).await, [id[0]]);
    assert_eq!(
        ids(&db, 10, LONG).await,
        [id[0]],
        "reclaimed, not its successor"
    );
    assert!(
        ids(&db, 10, LONG).await.is_empty(),
        "a live lease is respected"
    );
}

#[tokio::test]
async fn a_dead_letter_unblocks_its_lead_and_is_requeued_on_request() {
    let db = temp_db().await;
    let id = enqueue_all(
        &db,
        &[
            cmd("a", Some("L1"), "1"),
            cmd("a", Some("L1"), "2"),
            cmd("b", Some("L9"), "3"),
        ],
    )
    .await;
    assert_eq!(ids(&db, 10, LONG).await, [id[0], id[2]]);
    assert!(
        dead_letter(&db.pool, id[0], "card gone")
            .await
            .expect("dead")
    );
    assert!(
        dead_letter(&db.pool, id[2], "board gone")
            .await
            .expect("dead")
    );
    let dead: Vec<(i64, i64, Option<i64>)> = sqlx::query_as(
        "SELECT id, attempts, dead_lettered_at FROM outbox WHERE status = 'dead' AND pair = 'a'",
    )
    .fetch_all(&db.pool)
    .await
    .expect("list");
    assert_eq!(dead.len(), 1);
    assert_eq!((dead[0].0, dead[0].1), (id[0], 1));
    assert!(dead[0].2.is_some());
    let all: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox WHERE status = 'dead'")
        .fetch_one(&db.pool)
        .await
        .expect("all");
    assert_eq!(all, 2);
    assert_eq!(
        ids(&db, 10, LONG).await,
        [id[1]],
        "the lead's next command goes out"
    );

    assert_eq!(
        requeue_dead_letters(&db.pool, Some("a"))
            .await
            .expect("requeue"),
        1
    );
    let requeued = get(&db.pool, id[0]).await.expect("get").expect("cmd");
    assert_eq!(
        (requeued.status.as_str(), requeued.attempts),
        ("pending", 0)
    );
    assert!(
        ids(&db, 10, LONG).await.is_empty(),
        "waits while the lead has one in flight"
    );
    complete(&db.pool, id[1]).await.expect("complete");
    assert_eq!(ids(&db, 10, LONG).await, [id[0]]);
    assert_eq!(
        requeue_dead_letters(&db.pool, None)
            .await
            .expect("requeue all"),
        1
    );
    assert_eq!(
        requeue_dead_letters(&db.pool, None)
            .await
            .expect("none left"),
        0
    );
}

#[tokio::test]
async fn depths_errors_and_unsent_leads_are_reported_per_pair() {
    let db = temp_db().await;
    let id = enqueue_all(
        &db,
        &[
            cmd("a", Some("L1"), "1"),
            cmd("a", Some("L2"), "2"),
            cmd("a", Some("L3"), "3"),
            cmd("b", None, "4"),
        ],
    )
    .await;
    claim_due(&db, None, 10, LONG).await.expect("claim");
    complete(&db.pool, id[0]).await.expect("done");
    dead_letter(&db.pool, id[1], "older error")
        .await
        .expect("dead");
    retry_later(&db.pool, id[2], "newest error", LONG)
        .await
        .expect("retry");
    let depths = depths(&db.pool).await.expect("depths");
    assert_eq!(
        depths.get("a"),
        Some(&OutboxDepth {
            depth: 1,
            dead_letters: 1
        })
    );
    assert_eq!(
        depths.get("b"),
        Some(&OutboxDepth {
            depth: 1,
            dead_letters: 0
        })
    );
    // Same-millisecond updates fall back to id order, so the later write wins either way.
    // The pair's last error in /admin/status is the newest command error.
    let status = crate::store::status::pair_statuses(&db.pool)
        .await
        .expect("status");
    let error = |pair: &str| {
        status
            .iter()
            .find(|s| s.name == pair)
            .and_then(|s| s.last_error.clone())
    };
    assert_eq!(error("a").as_deref(), Some("newest error"));
    assert_eq!(error("b"), None);
    assert_eq!(
        leads_with_unsent(&db.pool, "a").await.expect("unsent"),
        ["L3"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_concurrent_dispatchers_never_claim_the_same_command() {
    let db = temp_db().await;
    let cmds: Vec<NewCommand> = (0..120)
        .map(|i| cmd("a", Some(&format!("L{}", i % 15)), &format!("k{i}")))
        .collect();
    enqueue_all(&db, &cmds).await;
    let worker = |db: Db| async move {
        let mut mine = Vec::new();
        for _ in 0..1_000 {
            let claimed = claim_due(&db, None, 4, LONG).await.expect("claim");
            for c in &claimed {
                assert!(complete(&db.pool, c.id).await.expect("complete"));
                mine.push(c.id);
            }
            let left: i64 =
                sqlx::query_scalar("SELECT count(*) FROM outbox WHERE status <> 'done'")
                    .fetch_one(&db.pool)
                    .await
                    .expect("count");
            if left == 0 {
                break;
            }
            tokio::task::yield_now().await;
        }
        mine
    };
    let (one, two) = tokio::join!(
        tokio::spawn(worker(db.db.clone())),
        tokio::spawn(worker(db.db.clone()))
    );
    let (one, two) = (one.expect("task one"), two.expect("task two"));
    let all: Vec<i64> = one.iter().chain(two.iter()).copied().collect();
    let unique: HashSet<i64> = all.iter().copied().collect();
    assert_eq!(all.len(), unique.len(), "a command was claimed twice");
    assert_eq!(unique.len(), 120);
}

#[tokio::test]
async fn a_claim_can_be_limited_to_one_pair_and_old_sent_commands_are_pruned() {
    let db = temp_db().await;
    let id = enqueue_all(&db, &[cmd("a", Some("L1"), "1"), cmd("b", Some("L1"), "2")]).await;
    let claimed = claim_due(&db, Some("b"), 10, LONG).await.expect("claim b");
    assert_eq!(claimed.iter().map(|c| c.id).collect::<Vec<_>>(), [id[1]]);
    complete(&db.pool, id[1]).await.expect("done");
    assert_eq!(
        prune_done_older_than(&db.pool, 30).await.expect("prune"),
        0,
        "recent"
    );
    sqlx::query("UPDATE outbox SET updated_at = $1")
        .bind(now_ms() - 31 * 86_400_000)
        .execute(&db.pool)
        .await
        .expect("age");
    assert_eq!(prune_done_older_than(&db.pool, 30).await.expect("prune"), 1);
    assert!(get(&db.pool, id[1]).await.expect("get").is_none());
    assert!(
        get(&db.pool, id[0]).await.expect("get").is_some(),
        "unsent commands stay"
    );
}

#[tokio::test]
async fn run_progress_counts_what_finished_since_the_start_and_what_is_left() {
    let db = temp_db().await;
    let cmds: Vec<NewCommand> = (1..=5)
        .map(|i| cmd("a", Some(&format!("L{i}")), &format!("k{i}")))
        .collect();
    let ids = enqueue_all(&db, &cmds).await;
    claim_due(&db, None, 10, LONG).await.expect("claim");
    // Sent before the run began: not the run's work.
    complete(&db.pool, ids[0]).await.expect("complete");
    sqlx::query("UPDATE outbox SET updated_at = 0 WHERE id = $1")
        .bind(ids[0])
        .execute(&db.pool)
        .await
        .expect("age");
    let since = now_ms();
    complete(&db.pool, ids[1]).await.expect("complete");
    dead_letter(&db.pool, ids[2], "HTTP 400")
        .await
        .expect("dead");
    retry_later(&db.pool, ids[3], "HTTP 503", LONG)
        .await
        .expect("retry");
    let progress = run_progress(&db.pool, since).await.expect("progress");
    assert_eq!(
        progress.get("a"),
        Some(&RunProgress {
            sent: 1,
            dead: 1,
            left: 2
        }),
        "one retrying, one still in flight"
    );
}
