//! Backoff, Retry-After, error classes and connection-error wording of the outbound client.

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
