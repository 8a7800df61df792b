//! The client under Airtable's per-base rate limit and injected faults: bursts stay under 5/s, a
//! 429 is waited out for the whole lock-out, 5xx and resets are retried, and a create whose
//! answer was lost is not sent twice.

use std::time::{Duration, Instant};

use super::tests::{cells, client_with, setup, setup_with};
use super::*;
use crate::connectors::airtable::sandbox::{AirtableOptions, RateLimit};
use crate::sandbox::common::Faults;

fn fail_next(statuses: &[u16], retry_after_secs: Option<u64>) -> Faults {
    Faults {
        fail_next: statuses.to_vec(),
        retry_after_secs,
        ..Faults::default()
    }
}

#[tokio::test]
async fn a_burst_of_twenty_calls_on_one_base_meets_no_429() {
    // Airtable's 5 calls, counted in any 900 ms rather than any second: the client paces 5 per
    // 1.11 s, and the 210 ms between is for a busy machine's scheduling, which can bunch calls
    // made on time (the production headroom alone, 111 ms, is not a test's margin).
    let strict = RateLimit {
        per: Duration::from_millis(900),
        ..RateLimit::default()
    };
    let (sb, _, t) = setup_with(AirtableOptions {
        rate_limit: Some(strict),
        ..AirtableOptions::default()
    })
    .await;
    // The production budgets, not the tests' unhurried ones: their pacing is what this checks.
    let c = client_with(&sb, AirtableLimits::default());
    let started = Instant::now();
    let results = burst(&c, &t.base_id, 20).await;
    let took = started.elapsed();
    assert!(results.iter().all(Result::is_ok));
    assert_eq!(sb.gate().calls().count_status(429), 0);
    assert!(sb.rate_limited_until(&t.base_id).is_none());
    // Paced at 4.5/s: the 20th call starts 19 intervals of 222 ms after the first.
    eprintln!("20 calls on one base took {took:?}");
    assert!(took >= Duration::from_millis(4000), "{took:?}");
}

/// `n` concurrent full reads of the table, each on its own task.
async fn burst(
    c: &AirtableClient,
    base_id: &str,
    n: usize,
) -> Vec<Result<Vec<Record>, ClientError>> {
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..n {
        let (c, base_id) = (c.clone(), base_id.to_owned());
        set.spawn(async move { c.list_records(&base_id, "Leads").await });
    }
    set.join_all().await
}

#[tokio::test]
async fn a_429_locks_the_base_out_and_is_waited_out_before_any_retry() {
    let penalty = Duration::from_millis(1500);
    let options = AirtableOptions {
        rate_limit: Some(RateLimit {
            penalty,
            ..RateLimit::default()
        }),
        ..AirtableOptions::default()
    };
    let (sb, _, t) = setup_with(options).await;
    // A client that overshoots the 5/s on purpose, locked out as long as the emulator's penalty.
    let limits = AirtableLimits {
        per_base: (40, Duration::from_secs(1)),
        lockout: penalty,
        ..AirtableLimits::default()
    };
    let c = client_with(&sb, limits);
    let results = burst(&c, &t.base_id, 8).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let log = sb.gate().calls().records();
    let first_429 = log
        .iter()
        .position(|r| r.status == 429)
        .expect("the burst went over");
    let refused = log.iter().filter(|r| r.status == 429).count();
    assert!(
        refused <= 3,
        "only calls already in flight meet the lock-out: {refused}"
    );
    let refused_at = log[first_429].at;
    let resumed = log[first_429..]
        .iter()
        .find(|r| r.status == 200)
        .expect("resumed");
    let waited = (resumed.at - refused_at).to_std().unwrap();
    assert!(waited >= penalty - Duration::from_millis(100), "{waited:?}");
    assert_eq!(log.iter().filter(|r| r.status == 200).count(), 8);
}

#[tokio::test]
async fn retry_after_on_a_429_wins_over_the_lockout() {
    let (sb, c, t) = setup().await;
    sb.gate().set_faults(fail_next(&[429], Some(1)));
    let started = Instant::now();
    c.list_records(&t.base_id, "Leads").await.unwrap();
    let took = started.elapsed();
    assert!(took >= Duration::from_secs(1), "{took:?}");
    assert!(
        took < Duration::from_secs(5),
        "not the 30 s lock-out: {took:?}"
    );
    assert_eq!(sb.gate().calls().count_status(429), 1);
}

#[tokio::test]
async fn server_errors_and_resets_are_retried() {
    let (sb, c, t) = setup().await;
    sb.gate().set_faults(fail_next(&[500, 503, 0], None));
    assert!(
        c.list_records(&t.base_id, "Leads")
            .await
            .unwrap()
            .is_empty()
    );
    let path = format!("/v0/{}/Leads", t.base_id);
    assert_eq!(sb.gate().calls().count("GET", &path), 4);
    assert_eq!(sb.gate().calls().count_status(0), 1);
}

#[tokio::test]
async fn a_create_whose_answer_was_lost_is_not_sent_again() {
    let (sb, c, t) = setup().await;
    sb.gate().set_faults(Faults {
        fail_next: vec![0],
        after_handler: true,
        ..Faults::default()
    });
    let new = [cells(&[("Name", "Ada")])];
    let err = c
        .create_records(&t.base_id, "Leads", &new)
        .await
        .remove(0)
        .unwrap_err();
    assert!(err.is_timeout_or_connection(), "{err}");
    let path = format!("/v0/{}/Leads", t.base_id);
    assert_eq!(
        sb.gate().calls().count("POST", &path),
        1,
        "no blind second POST"
    );
    assert_eq!(sb.records(&t.base_id, "Leads").len(), 1, "created once");

    // A 429 was refused before anything was done: that create is retried.
    sb.gate().set_faults(fail_next(&[429], Some(0)));
    c.create_records(&t.base_id, "Leads", &new)
        .await
        .remove(0)
        .unwrap();
    assert_eq!(sb.gate().calls().count("POST", &path), 3);
    assert_eq!(sb.records(&t.base_id, "Leads").len(), 2);

    // An update is idempotent: its lost answer is retried.
    sb.gate().set_faults(Faults {
        fail_next: vec![0],
        after_handler: true,
        ..Faults::default()
    });
    let id = sb.records(&t.base_id, "Leads")[0].id.clone();
    let update = RecordUpdate {
        id,
        fields: cells(&[("Name", "Ada L.")]),
    };
    let r = c
        .update_records(&t.base_id, "Leads", &[update])
        .await
        .remove(0)
        .unwrap();
    assert_eq!(r.cell("Name").text(), Some("Ada L."));
    assert_eq!(sb.gate().calls().count("PATCH", &path), 2);
}
