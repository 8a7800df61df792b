//! Builds the Trello client from `Settings` with the default retry policy and the configured
//! rate-limit budgets; shared by every command that talks to Trello.

use secrecy::ExposeSecret;

use super::{TrelloClient, TrelloLimits};
use crate::clients::http::{ClientError, RetryPolicy};
use crate::config::Settings;

/// A Trello client acting with `trello.api_key` and `trello.api_token` against `trello.api_base`.
/// Empty credentials are refused here: Trello would only answer a less helpful 401.
pub fn trello_client(settings: &Settings) -> Result<TrelloClient, ClientError> {
    let t = &settings.trello;
    for (key, value) in [
        ("trello.api_key", &t.api_key),
        ("trello.api_token", &t.api_token),
    ] {
        if value.expose_secret().trim().is_empty() {
            return Err(ClientError::Config(format!("{key} is empty")));
        }
    }
    TrelloClient::new(
        t.api_base.clone(),
        t.api_key.clone(),
        t.api_token.clone(),
        RetryPolicy::default(),
        TrelloLimits::from_budgets(t.token_requests_per_10s, t.key_requests_per_10s),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::from_env_only as settings;
    use std::time::Duration;

    #[test]
    fn empty_trello_credentials_are_refused_by_key_name() {
        let Err(err) = trello_client(&settings(&[])) else {
            panic!("empty credentials were accepted")
        };
        assert_eq!(err.to_string(), "trello.api_key is empty");
        let s = settings(&[("LEADSYNC__TRELLO__API_KEY", "k")]);
        let Err(err) = trello_client(&s) else {
            panic!("an empty token was accepted")
        };
        assert_eq!(err.to_string(), "trello.api_token is empty");
    }

    #[test]
    fn a_trello_client_is_built_from_the_settings() {
        let s = settings(&[
            ("LEADSYNC__TRELLO__API_KEY", "k"),
            ("LEADSYNC__TRELLO__API_TOKEN", "t"),
        ]);
        assert!(trello_client(&s).is_ok());
    }

    #[test]
    fn the_trello_client_is_paced_by_the_configured_budgets() {
        let s = settings(&[
            ("LEADSYNC__TRELLO__API_KEY", "k"),
            ("LEADSYNC__TRELLO__API_TOKEN", "t"),
            ("LEADSYNC__TRELLO__TOKEN_REQUESTS_PER_10S", "40"),
            ("LEADSYNC__TRELLO__KEY_REQUESTS_PER_10S", "120"),
        ]);
        let stats = trello_client(&s).expect("built").limiter_stats();
        // 40 (then 120) per 10 s at 95 %: the budget is spread over 10.53 s.
        let window = Duration::from_secs(10).div_f64(0.95);
        let limits: Vec<(u32, Duration)> = stats.iter().map(|l| (l.max, l.per)).collect();
        assert_eq!(limits, vec![(40, window), (120, window)]);
    }
}
