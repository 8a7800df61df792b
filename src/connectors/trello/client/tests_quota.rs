//! The configured budget is what paces the Trello client: at the emulator's own quota it meets
//! no 429, and the limiter's counters show it held calls back (timings are the quota bench's).

use std::time::Duration;

use tokio::task::JoinSet;

use super::tests::{client_with, fast_policy};
use super::*;
use crate::connectors::trello::sandbox::{SandboxQuotas, TrelloSandbox};
use crate::sandbox::common::Quota;

/// A Trello whose token quota is `per_token` calls per `window` (Trello: 100 per 10 s).
async fn sandbox(per_token: u32, window: Duration) -> TrelloSandbox {
    let quotas = SandboxQuotas {
        per_token: Some(Quota {
            max_requests: per_token,
            per: window,
        }),
        per_key: Some(Quota {
            max_requests: per_token * 3,
            per: window,
        }),
    };
    TrelloSandbox::start_with(quotas).await.unwrap()
}

/// The client's limits for a budget of `per_token` per `window`, at the production fraction.
fn limits(per_token: u32, window: Duration) -> TrelloLimits {
    let paced = window.div_f64(BUDGET_FRACTION);
    TrelloLimits {
        per_token: (per_token, paced),
        per_key: (per_token * 3, paced),
    }
}

async fn calls(c: &TrelloClient, n: usize) -> Vec<Result<Member, ClientError>> {
    let mut set = JoinSet::new();
    for _ in 0..n {
        let c = c.clone();
        set.spawn(async move { c.me().await });
    }
    set.join_all().await
}

#[tokio::test]
async fn a_queue_twice_the_budget_is_paced_by_it_and_meets_no_429() {
    // A 2 s window keeps the test short; the fraction, not the window, sets the jitter headroom.
    let window = Duration::from_secs(2);
    let sb = sandbox(20, window).await;
    let no_retry = RetryPolicy {
        max_attempts: 1,
        ..fast_policy()
    };
    let c = client_with(&sb, sb.api_token(), no_retry.clone(), limits(20, window));
    let results = calls(&c, 40).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(sb.gate().calls().count_status(429), 0);
    assert_eq!(sb.gate().calls().count_status(200), 40);
    let token = &c.limiter_stats()[0];
    assert_eq!((token.max, token.granted), (20, 40));
    // Everything past the first window's budget waited for the limiter, not for a 429.
    assert!(token.delayed >= 20, "{token:?}");

    // The same queue with a budget over the emulator's quota: it is the budget that kept it under.
    sb.gate().calls().clear();
    let fresh = Quota {
        max_requests: 20,
        per: window,
    };
    sb.gate().set_quota_for_prefix("token:", Some(fresh));
    let over = client_with(&sb, sb.api_token(), no_retry, limits(40, window));
    let results = calls(&over, 40).await;
    assert!(results.iter().any(Result::is_err));
    assert!(sb.gate().calls().count_status(429) > 0);
}
