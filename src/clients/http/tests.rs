//! Backoff, Retry-After, error classes and connection-error wording of the outbound client.

use std::sync::{Arc, Mutex};

use super::*;

#[test]
fn backoff_cap_doubles_from_the_base_and_stops_at_max_delay() {
    let p = RetryPolicy::default();
    assert_eq!(p.backoff_cap(0), Duration::from_millis(250));
    assert_eq!(p.backoff_cap(1), Duration::from_millis(500));
    assert_eq!(p.backoff_cap(3), Duration::from_secs(2));
    assert_eq!(p.backoff_cap(6), Duration::from_secs(10));
    assert_eq!(p.backoff_cap(200), Duration::from_secs(10));
}

#[test]
fn full_jitter_stays_within_zero_and_the_cap() {
    let p = RetryPolicy::default();
    for retry in 0..8 {
        for _ in 0..50 {
            assert!(p.backoff(retry) <= p.backoff_cap(retry));
        }
    }
}

#[test]
fn retry_after_parses_seconds_and_http_dates() {
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    assert_eq!(parse_retry_after(" 7 ", now), Some(Duration::from_secs(7)));
    let later = httpdate::fmt_http_date(now + Duration::from_secs(30));
    assert_eq!(
        parse_retry_after(&later, now),
        Some(Duration::from_secs(30))
    );
    let earlier = httpdate::fmt_http_date(now - Duration::from_secs(30));
    assert_eq!(parse_retry_after(&earlier, now), Some(Duration::ZERO));
    assert_eq!(parse_retry_after("soon", now), None);
}

#[tokio::test]
async fn a_connection_error_names_the_host_and_its_setting_but_not_the_url() {
    let policy = RetryPolicy {
        max_attempts: 1,
        ..RetryPolicy::default()
    };
    let api = ApiClient::new("trello", policy, Vec::new()).expect("client");
    let err = api
        .send("members_me", |http| {
            http.get("http://127.0.0.1:9/1/members/me?key=k3y&token=t0ken")
        })
        .await
        .expect_err("nothing listens on port 9");
    let text = err.to_string();
    assert!(
        text.contains("connection error to 127.0.0.1:9 (trello.api_base): "),
        "{text}"
    );
    assert!(
        !text.contains("t0ken") && !text.contains("/members"),
        "{text}"
    );
}

#[test]
fn errors_are_classified_for_retry_and_unknown_outcome() {
    let e = ClientError::Retryable {
        system: "trello",
        endpoint: "create_card",
        attempts: 5,
        last: "timeout".into(),
        outcome_unknown: true,
    };
    assert!(e.is_retryable() && e.is_timeout_or_connection());
    let e = ClientError::Auth {
        system: "trello",
        endpoint: "me",
        status: 401,
    };
    assert!(!e.is_retryable() && !e.is_timeout_or_connection());
    assert_eq!(e.to_string(), "trello me: authentication failed (HTTP 401)");
}

/// A loopback server answering each call with the next of `answers` (status and headers; the
/// last one repeats), recording when each call arrived.
async fn scripted(
    answers: Vec<(u16, Vec<(&'static str, &'static str)>)>,
) -> (crate::sandbox::common::Served, Arc<Mutex<Vec<Instant>>>) {
    use axum::http::StatusCode as Code;
    use axum::response::IntoResponse;
    let arrivals: Arc<Mutex<Vec<Instant>>> = Arc::default();
    let log = arrivals.clone();
    let answer = move || {
        let mut log = log.lock().expect("log");
        log.push(Instant::now());
        let (status, headers) = answers[(log.len() - 1).min(answers.len() - 1)].clone();
        let mut resp = (Code::from_u16(status).expect("status"), "{}").into_response();
        for (name, value) in headers {
            resp.headers_mut()
                .insert(name, value.parse().expect("header"));
        }
        std::future::ready(resp)
    };
    let router = axum::Router::new().route("/call", axum::routing::get(answer));
    let served = crate::sandbox::common::serve(router).await.expect("serve");
    (served, arrivals)
}

fn quick_policy() -> RetryPolicy {
    RetryPolicy {
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(20),
        ..RetryPolicy::default()
    }
}

#[tokio::test]
async fn a_429_is_retried_no_sooner_than_its_retry_after() {
    let (served, arrivals) = scripted(vec![(429, vec![("retry-after", "1")]), (200, vec![])]).await;
    let api = ApiClient::new("trello", quick_policy(), Vec::new()).expect("client");
    let url = format!("{}/call", served.base_url());
    api.send("call", |http| http.get(&url))
        .await
        .expect("200 after the 429");
    let arrivals = arrivals.lock().expect("log").clone();
    assert_eq!(arrivals.len(), 2);
    // Without Retry-After the backoff here is at most 10 ms.
    let gap = arrivals[1] - arrivals[0];
    assert!(gap >= Duration::from_secs(1), "retried after {gap:?}");
}

#[tokio::test]
async fn a_low_remaining_quota_header_pauses_only_its_own_limiter() {
    let token = "x-rate-limit-api-token-remaining";
    let key = "x-rate-limit-api-key-remaining";
    let (served, _) = scripted(vec![(200, vec![(token, "0"), (key, "250")])]).await;
    let limiters = vec![
        RateLimiter::new(100, Duration::from_secs(10)).with_remaining_header(token),
        RateLimiter::new(300, Duration::from_secs(10)).with_remaining_header(key),
    ];
    let api = ApiClient::new("trello", quick_policy(), limiters).expect("client");
    let url = format!("{}/call", served.base_url());
    api.send("call", |http| http.get(&url)).await.expect("200");
    let stats = api.limiter_stats();
    assert!(stats[0].paused, "no token quota left: {:?}", stats[0]);
    assert!(!stats[1].paused, "250 of 300 left: {:?}", stats[1]);
    assert_eq!((stats[0].granted, stats[1].granted), (1, 1));
    assert_eq!(
        (stats[0].in_window, stats[1].in_window),
        (1, 1),
        "in use now"
    );
}
