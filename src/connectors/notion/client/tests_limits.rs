//! Politeness against the emulator: the client stays under Notion's 3 calls per second, waits
//! out a 429's `Retry-After`, retries 5xx, and never repeats a create whose outcome is unknown.

use std::time::Duration;

use super::tests::{props_for_name, setup};
use super::*;
use crate::connectors::notion::sandbox::RateLimit;
use crate::sandbox::common::Faults;

#[tokio::test]
async fn the_client_stays_under_three_calls_a_second() {
    // Notion's 3 calls, counted in any 900 ms rather than any second: the client paces 3 per
    // 1.11 s, and the 210 ms between is for a busy machine's scheduling, which can bunch calls
    // made on time (the production headroom alone, 111 ms, is not a test's margin).
    let strict = RateLimit {
        per: Duration::from_millis(900),
        ..RateLimit::default()
    };
    let (sb, client, db) = setup(Some(strict), REQUESTS_PER_SECOND).await;
    for _ in 0..8 {
        client
            .retrieve_data_source(&db.data_source_id)
            .await
            .unwrap();
    }
    let calls = sb.gate().calls();
    assert_eq!(calls.count("GET", "/v1/data_sources/"), 8);
    assert_eq!(calls.count_status(429), 0, "no call was refused");
}

#[tokio::test]
async fn a_429_is_waited_out_for_its_retry_after() {
    let (sb, client, db) = setup(None, 100).await;
    sb.gate().set_faults(Faults {
        fail_next: vec![429],
        retry_after_secs: Some(1),
        ..Faults::default()
    });
    client.retrieve_database(&db.database_id).await.unwrap();
    let calls = sb.gate().calls().records();
    assert_eq!(
        calls.iter().map(|c| c.status).collect::<Vec<_>>(),
        [429, 200]
    );
    let gap = calls[1].at - calls[0].at;
    assert!(
        gap >= chrono::TimeDelta::milliseconds(950),
        "retried after {gap}"
    );
}

#[tokio::test]
async fn the_emulators_own_limit_answers_429_and_the_client_recovers() {
    // A client paced far over the budget meets the emulator's 429s and still finishes. Three
    // calls in 3 s rather than in one, so the five calls meet the limit on a loaded machine too.
    let limit = RateLimit {
        max_requests: 3,
        per: std::time::Duration::from_secs(3),
    };
    let (sb, client, db) = setup(Some(limit), 100).await;
    for _ in 0..5 {
        client
            .retrieve_data_source(&db.data_source_id)
            .await
            .unwrap();
    }
    let calls = sb.gate().calls();
    assert!(calls.count_status(429) >= 1);
    assert_eq!(calls.count_status(200), 5);
}

#[tokio::test]
async fn server_errors_are_retried_with_backoff() {
    let (sb, client, db) = setup(None, 100).await;
    sb.gate().set_faults(Faults {
        fail_next: vec![500, 502, 503],
        ..Faults::default()
    });
    let ds = client
        .retrieve_data_source(&db.data_source_id)
        .await
        .unwrap();
    assert!(ds.properties.contains_key("Name"));
    sb.gate().set_faults(Faults {
        fail_next: vec![529],
        ..Faults::default()
    });
    client
        .retrieve_data_source(&db.data_source_id)
        .await
        .unwrap();
    let statuses: Vec<u16> = sb
        .gate()
        .calls()
        .records()
        .iter()
        .map(|c| c.status)
        .collect();
    assert_eq!(statuses, [500, 502, 503, 200, 529, 200]);
}

#[tokio::test]
async fn a_create_is_not_repeated_after_a_server_error_but_is_after_a_429() {
    let (sb, client, db) = setup(None, 100).await;
    sb.gate().set_faults(Faults {
        fail_next: vec![500],
        ..Faults::default()
    });
    let err = client
        .create_page(&db.data_source_id, &props_for_name("A"))
        .await
        .unwrap_err();
    assert!(
        err.is_timeout_or_connection(),
        "the outcome is unknown: {err}"
    );
    assert_eq!(sb.gate().calls().count("POST", "/v1/pages"), 1);
    sb.gate().set_faults(Faults {
        fail_next: vec![429],
        retry_after_secs: Some(0),
        ..Faults::default()
    });
    client
        .create_page(&db.data_source_id, &props_for_name("B"))
        .await
        .unwrap();
    assert_eq!(sb.gate().calls().count("POST", "/v1/pages"), 3);
}

#[tokio::test]
async fn a_hung_call_times_out_and_is_retried() {
    let (sb, client, db) = setup(None, 100).await;
    sb.gate().set_faults(Faults {
        hang_next: 1,
        hang_for: Duration::from_secs(5),
        ..Faults::default()
    });
    let id = sb
        .user_create_page(&db.data_source_id, &[("Name", "A")])
        .unwrap();
    let page = client.retrieve_page(&id).await.unwrap();
    assert_eq!(page.text("Name"), "A");
    assert_eq!(sb.gate().faults().hang_next, 0, "the first attempt hung");
}
