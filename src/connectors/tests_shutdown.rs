//! A stop in the middle of a rate-limited dispatch round: the round ends between calls, the
//! calls made are recorded, and every command not yet sent is pending again, never sent and
//! with no attempt counted.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::connectors::bench::Bench;
use crate::connectors::trello::client::TrelloLimits;
use crate::store::outbox;
use crate::sync::outbox::DispatchOptions;
use crate::sync::plan::commands::Command;

const LEADS: usize = 30;

fn rename(lead: &str) -> Command {
    Command::UpdateCard {
        card_id: None,
        lead_id: lead.into(),
        name: Some(format!("{lead} renamed")),
        desc: None,
        id_list: None,
        closed: None,
    }
}

async fn count(b: &Bench, status: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM outbox WHERE status = $1")
        .bind(status)
        .fetch_one(&b.db.pool)
        .await
        .expect("count")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_ends_a_rate_limited_round_between_calls_and_releases_the_unsent() {
    let b = Bench::start().await;
    let mut commands = Vec::new();
    for i in 0..LEADS {
        let lead = format!("L{i}");
        let card = b.user_card(&lead, "New", &lead);
        b.link(&lead, Some(&card), None).await;
        commands.push((b.enqueue(&rename(&lead)).await, card));
    }
    // Two calls a second: the one round that claims all 30 would take about 15 s.
    let limits = TrelloLimits {
        per_token: (2, Duration::from_secs(1)),
        per_key: (100, Duration::from_secs(1)),
    };
    let dispatcher = b.dispatcher_limited(limits).with_options(DispatchOptions {
        trello_concurrency: 2,
        // Far past the bound below: the round must stop by itself, not be dropped by the grace.
        stop_grace: Duration::from_secs(120),
        ..DispatchOptions::default()
    });
    let shutdown = CancellationToken::new();
    let run = tokio::spawn(dispatcher.run(shutdown.clone()));
    tokio::time::timeout(Duration::from_secs(20), async {
        while count(&b, "done").await < 2 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the round sends its first commands");
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(8), run)
        .await
        .expect("the dispatcher stops between calls, not at the end of its round")
        .expect("no panic");

    assert_eq!(count(&b, "in_flight").await, 0, "no claim is left behind");
    let mut pending = 0;
    for (id, card) in &commands {
        let stored = b.stored(*id).await;
        let name = b.trello.card(card).expect("card").name;
        match stored.status.as_str() {
            "done" => assert!(name.ends_with("renamed"), "{name}"),
            "pending" => {
                pending += 1;
                assert_eq!(stored.attempts, 0, "a release is not an attempt");
                assert_eq!(stored.last_error, None);
                assert!(!name.ends_with("renamed"), "released unsent: {name}");
            }
            other => panic!("command {id} is {other}"),
        }
    }
    assert!(
        pending >= LEADS / 2,
        "most of the round was released unsent: {pending}"
    );
    let due = outbox::claim_due(&b.db, None, 100, Duration::from_secs(60))
        .await
        .expect("claim");
    assert_eq!(due.len(), pending, "the released commands are due at once");
}
