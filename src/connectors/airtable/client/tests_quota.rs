//! The configured per-base budget is what paces the Airtable client: at the emulator's limit it
//! meets no 429 (so no 30 s lock-out), and the limiter's counters show it held calls back.

use std::time::Duration;

use super::tests::{client_with, setup_with};
use super::*;
use crate::connectors::airtable::sandbox::{AirtableOptions, RateLimit};

#[tokio::test]
async fn a_queue_of_four_seconds_at_a_configured_budget_meets_no_429() {
    // An Airtable whose bases take 4 calls per second (Airtable: 5), configured as such.
    let options = AirtableOptions {
        rate_limit: Some(RateLimit {
            max_requests: 4,
            ..RateLimit::default()
        }),
        ..AirtableOptions::default()
    };
    let (sb, _, t) = setup_with(options).await;
    let c = client_with(&sb, AirtableLimits::from_base_budget(4));
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..16 {
        let (c, base_id) = (c.clone(), t.base_id.clone());
        set.spawn(async move { c.list_records(&base_id, "Leads").await });
    }
    let results = set.join_all().await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(sb.gate().calls().count_status(429), 0);
    assert!(sb.rate_limited_until(&t.base_id).is_none());
    let stats = c.limiter_stats(&t.base_id).expect("a base");
    let base = &stats[1];
    assert_eq!(base.max, 4);
    assert_eq!(base.per, Duration::from_secs(1).div_f64(BUDGET_FRACTION));
    assert_eq!(base.granted, 16);
    // Paced, not burst: every call after the first waited for its slot.
    assert!(base.delayed >= 12, "{base:?}");
}
