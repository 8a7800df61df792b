//! The configured per-user budget is what paces the Sheets client: at the emulator's quota it
//! meets no 429, and the limiter's counters show it held calls back.

use std::time::Duration;

use super::tests::{SS, client_with, policy, sandbox_with};
use super::*;
use crate::connectors::sheets::sandbox::GoogleOptions;
use crate::sandbox::common::Quota;

async fn reads(c: &SheetsClient, n: usize) -> Vec<Result<(), ClientError>> {
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..n {
        let c = c.clone();
        set.spawn(async move { c.spreadsheet(SS).await.map(drop) });
    }
    set.join_all().await
}

#[tokio::test]
async fn a_queue_twice_the_budget_is_paced_by_it_and_meets_no_429() {
    // Google's 60 per minute, scaled to 20 per 2 s so the test stays short.
    let window = Duration::from_secs(2);
    let g = sandbox_with(GoogleOptions {
        quota: Some(Quota {
            max_requests: 20,
            per: window,
        }),
        ..GoogleOptions::default()
    })
    .await;
    let no_retry = RetryPolicy {
        max_attempts: 1,
        ..policy()
    };
    let limiter = RateLimiter::for_budget(20, window, BUDGET_FRACTION);
    let c = client_with(&g, no_retry.clone(), limiter);
    let results = reads(&c, 40).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(g.gate().calls().count_status(429), 0);
    let user = &c.limiter_stats()[0];
    assert_eq!((user.max, user.granted), (20, 40));
    assert!(user.delayed >= 20, "{user:?}");

    // A budget over the emulator's quota meets 429s: it is the budget that kept the first under.
    g.gate().calls().clear();
    g.gate().set_quota(Some(Quota {
        max_requests: 20,
        per: window,
    }));
    let over = client_with(&g, no_retry, RateLimiter::for_budget(40, window, 1.0));
    let results = reads(&over, 40).await;
    assert!(results.iter().any(Result::is_err));
    assert!(g.gate().calls().count_status(429) > 0);
}
