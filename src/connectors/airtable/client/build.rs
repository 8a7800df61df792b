//! Builds the Airtable client from `Settings` with the default retry policy and the configured
//! per-base budget; shared by every command that talks to Airtable.

use secrecy::ExposeSecret;

use super::{AirtableClient, AirtableLimits};
use crate::clients::http::{ClientError, RetryPolicy};
use crate::config::Settings;

/// An Airtable client acting with `airtable.token` against `airtable.api_base`, paced under
/// Airtable's per-base and per-token limits. An empty token is refused here: Airtable would only
/// answer a less helpful 401.
pub fn airtable_client(settings: &Settings) -> Result<AirtableClient, ClientError> {
    let a = &settings.airtable;
    if a.token.expose_secret().trim().is_empty() {
        return Err(ClientError::Config("airtable.token is empty".into()));
    }
    AirtableClient::new(
        &a.api_base,
        &a.token,
        RetryPolicy::default(),
        AirtableLimits::from_base_budget(a.base_requests_per_second),
    )
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::config::from_env_only as settings;

    #[test]
    fn the_airtable_client_is_paced_by_the_configured_base_budget() {
        let s = settings(&[
            ("LEADSYNC__AIRTABLE__TOKEN", "pat"),
            ("LEADSYNC__AIRTABLE__BASE_REQUESTS_PER_SECOND", "3"),
        ]);
        let stats = airtable_client(&s)
            .expect("built")
            .limiter_stats("appA")
            .expect("a base");
        let window = Duration::from_secs(1).div_f64(0.9);
        let limits: Vec<(u32, Duration)> = stats.iter().map(|l| (l.max, l.per)).collect();
        assert_eq!(limits, vec![(50, window), (3, window)], "token, then base");
    }

    #[test]
    fn an_empty_airtable_token_is_refused_by_key_name() {
        for token in ["", "  "] {
            let s = settings(&[("LEADSYNC__AIRTABLE__TOKEN", token)]);
            let err = airtable_client(&s).expect_err("refused").to_string();
            assert_eq!(err, "airtable.token is empty");
        }
    }

    #[tokio::test]
    async fn an_airtable_client_is_built_on_the_settings_base_and_token() {
        let sandbox = crate::connectors::airtable::sandbox::AirtableSandbox::start()
            .await
            .expect("airtable sandbox");
        let base = sandbox.create_base("Sales");
        let s = settings(&[
            ("LEADSYNC__AIRTABLE__API_BASE", &sandbox.api_base()),
            ("LEADSYNC__AIRTABLE__TOKEN", sandbox.token()),
        ]);
        let client = airtable_client(&s).expect("built");
        // The token reached the emulator: an unauthenticated call would be a 401.
        assert_eq!(client.tables(&base).await.expect("tables"), vec![]);
        assert!(!format!("{client:?}").contains(sandbox.token()));
    }
}
