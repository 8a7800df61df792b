//! The outbound rate-limit budgets: published limits by default, and clear errors for bad ones.

use std::collections::HashMap;

use super::*;

fn load_env(env: &[(&str, &str)]) -> Result<Settings, ConfigError> {
    load(&Sources {
        file: None,
        dotenv: HashMap::new(),
        env: env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    })
}

#[test]
fn the_budgets_default_to_the_published_limits() {
    let s = load_env(&[]).expect("defaults load");
    assert_eq!(s.trello.token_requests_per_10s, 100);
    assert_eq!(s.trello.key_requests_per_10s, 300);
    assert_eq!(s.google.requests_per_minute, 60);
    assert_eq!(s.airtable.base_requests_per_second, 5);
}

#[test]
fn a_configured_budget_replaces_the_default() {
    let s = load_env(&[
        ("LEADSYNC__TRELLO__TOKEN_REQUESTS_PER_10S", "40"),
        ("LEADSYNC__TRELLO__KEY_REQUESTS_PER_10S", "40"),
        ("LEADSYNC__GOOGLE__REQUESTS_PER_MINUTE", "300"),
        ("LEADSYNC__AIRTABLE__BASE_REQUESTS_PER_SECOND", "2"),
    ])
    .expect("loads");
    assert_eq!(s.trello.token_requests_per_10s, 40);
    assert_eq!(s.trello.key_requests_per_10s, 40);
    assert_eq!(s.google.requests_per_minute, 300);
    assert_eq!(s.airtable.base_requests_per_second, 2);
}

#[test]
fn zero_or_absurd_budgets_are_refused_naming_the_key() {
    let cases = [
        (
            "TRELLO__TOKEN_REQUESTS_PER_10S",
            "0",
            "trello.token_requests_per_10s: must be between 1 and 10000, got 0",
        ),
        (
            "TRELLO__TOKEN_REQUESTS_PER_10S",
            "10001",
            "trello.token_requests_per_10s: must be between 1 and 10000, got 10001",
        ),
        (
            "TRELLO__KEY_REQUESTS_PER_10S",
            "0",
            "trello.key_requests_per_10s: must be between 1 and 10000, got 0",
        ),
        (
            "GOOGLE__REQUESTS_PER_MINUTE",
            "0",
            "google.requests_per_minute: must be between 1 and 100000, got 0",
        ),
        (
            "GOOGLE__REQUESTS_PER_MINUTE",
            "1000000",
            "google.requests_per_minute: must be between 1 and 100000, got 1000000",
        ),
        (
            "AIRTABLE__BASE_REQUESTS_PER_SECOND",
            "0",
            "airtable.base_requests_per_second: must be between 1 and 1000, got 0",
        ),
        (
            "AIRTABLE__BASE_REQUESTS_PER_SECOND",
            "5000",
            "airtable.base_requests_per_second: must be between 1 and 1000, got 5000",
        ),
    ];
    for (var, value, expected) in cases {
        let var = format!("LEADSYNC__{var}");
        let err = load_env(&[(&var, value)]).expect_err(expected);
        assert_eq!(err.to_string(), expected);
    }
}

#[test]
fn a_key_budget_below_the_token_budget_is_refused() {
    let err = load_env(&[("LEADSYNC__TRELLO__KEY_REQUESTS_PER_10S", "50")])
        .expect_err("the key covers the token")
        .to_string();
    assert!(
        err.starts_with(
            "trello.key_requests_per_10s: must be at least trello.token_requests_per_10s (100)"
        ),
        "{err}"
    );
}

#[test]
fn a_budget_that_is_not_a_number_names_the_key() {
    let err = load_env(&[("LEADSYNC__GOOGLE__REQUESTS_PER_MINUTE", "-5")])
        .expect_err("negative")
        .to_string();
    assert!(err.contains("google.requests_per_minute"), "{err}");
}
