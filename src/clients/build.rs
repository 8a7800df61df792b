//! Builds the Trello and Sheets clients from `Settings` with the default retry policy
//! and the configured rate-limit budgets; shared by every command that talks to the APIs.

use secrecy::ExposeSecret;

use super::http::{ClientError, RetryPolicy};
use super::sheets::SheetsClient;
use super::sheets::auth::ServiceAccountKey;
use super::trello::{TrelloClient, TrelloLimits};
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

/// A Sheets client acting as the service account in `google.credentials_file` (relative to the
/// working directory) against `google.sheets_api_base`.
pub fn sheets_client(settings: &Settings) -> Result<SheetsClient, ClientError> {
    let g = &settings.google;
    // A configuration whose pairs all keep their leads elsewhere needs no service account.
    let sheets_pairs =
        (settings.pairs.iter()).any(|p| p.tracker == crate::model::TrackerKind::Sheets);
    if !settings.pairs.is_empty() && !sheets_pairs {
        return SheetsClient::unconfigured(&g.sheets_api_base);
    }
    let path = &g.credentials_file;
    let text = std::fs::read_to_string(path).map_err(|e| {
        ClientError::Config(format!(
            "google.credentials_file {}: cannot read: {e}",
            path.display()
        ))
    })?;
    // The key's own errors say "service account key: …"; the key name tells a user what to fix.
    let invalid = |e: ClientError| {
        ClientError::Config(format!(
            "google.credentials_file {}: not a usable service-account key: {e}",
            path.display()
        ))
    };
    let key = ServiceAccountKey::from_json(&text).map_err(invalid)?;
    SheetsClient::new(
        &g.sheets_api_base,
        key,
        RetryPolicy::default(),
        SheetsClient::user_limiter(g.requests_per_minute),
    )
    .map_err(|e| match e {
        ClientError::Config(msg) if msg.starts_with("service account key") => {
            invalid(ClientError::Config(msg))
        }
        other => other,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{self, Sources};
    use crate::sandbox::google::SERVICE_ACCOUNT_EMAIL;
    use std::collections::HashMap;
    use std::time::Duration;

    fn settings(env: &[(&str, &str)]) -> Settings {
        let env: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        config::load(&Sources {
            file: None,
            dotenv: HashMap::new(),
            env,
        })
        .expect("valid settings")
    }

    fn key_json(private_key: &str) -> String {
        serde_json::json!({
            "type": "service_account",
            "client_email": SERVICE_ACCOUNT_EMAIL,
            "private_key": private_key,
            "token_uri": "http://127.0.0.1:9/token",
        })
        .to_string()
    }

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

    #[test]
    fn a_missing_key_file_names_google_credentials_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("absent.json");
        let s = settings(&[(
            "LEADSYNC__GOOGLE__CREDENTIALS_FILE",
            path.to_str().expect("utf-8 path"),
        )]);
        let err = sheets_client(&s).err().expect("refused").to_string();
        assert!(err.starts_with("google.credentials_file "), "{err}");
        assert!(err.contains("cannot read"), "{err}");
    }

    #[test]
    fn an_invalid_key_file_names_google_credentials_file_without_key_material() {
        let dir = tempfile::tempdir().expect("tempdir");
        let secret_looking =
            "-----BEGIN PRIVATE KEY-----\nNOTAKEYsecretmaterial\n-----END PRIVATE KEY-----\n";
        for (name, text) in [
            ("garbage.json", "not json at all".to_owned()),
            ("partial.json", r#"{"client_email": "a@b"}"#.to_owned()),
            ("badpem.json", key_json(secret_looking)),
        ] {
            let path = dir.path().join(name);
            std::fs::write(&path, text).expect("write");
            let s = settings(&[(
                "LEADSYNC__GOOGLE__CREDENTIALS_FILE",
                path.to_str().expect("utf-8 path"),
            )]);
            let err = sheets_client(&s).err().expect("refused").to_string();
            assert!(err.starts_with("google.credentials_file "), "{name}: {err}");
            assert!(err.contains("not a usable service-account key"), "{err}");
            assert!(!err.contains("secretmaterial"), "{err}");
        }
    }

    #[test]
    fn a_valid_key_file_gives_a_client_of_that_account() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sa.json");
        let pem = crate::sandbox::google::SERVICE_ACCOUNT_PRIVATE_KEY;
        std::fs::write(&path, key_json(pem)).expect("write");
        let s = settings(&[(
            "LEADSYNC__GOOGLE__CREDENTIALS_FILE",
            path.to_str().expect("utf-8 path"),
        )]);
        let client = sheets_client(&s).expect("built");
        assert_eq!(client.service_account(), SERVICE_ACCOUNT_EMAIL);
    }

    #[test]
    fn the_sheets_client_is_paced_by_the_configured_budget() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sa.json");
        let pem = crate::sandbox::google::SERVICE_ACCOUNT_PRIVATE_KEY;
        std::fs::write(&path, key_json(pem)).expect("write");
        let s = settings(&[
            (
                "LEADSYNC__GOOGLE__CREDENTIALS_FILE",
                path.to_str().expect("utf-8 path"),
            ),
            ("LEADSYNC__GOOGLE__REQUESTS_PER_MINUTE", "300"),
        ]);
        let stats = sheets_client(&s).expect("built").limiter_stats();
        let window = Duration::from_secs(60).div_f64(0.95);
        let limits: Vec<(u32, Duration)> = stats.iter().map(|l| (l.max, l.per)).collect();
        assert_eq!(limits, vec![(300, window)]);
    }
}
