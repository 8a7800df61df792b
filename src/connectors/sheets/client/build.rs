//! Builds the Sheets client from `Settings`: the service account of `google.credentials_file`,
//! the default retry policy and the configured budget; shared by every command that talks to
//! Google Sheets.

use super::SheetsClient;
use super::auth::ServiceAccountKey;
use crate::clients::http::{ClientError, RetryPolicy};
use crate::config::Settings;

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
    use std::time::Duration;

    use super::*;
    use crate::config::from_env_only as settings;
    use crate::connectors::sheets::sandbox::SERVICE_ACCOUNT_EMAIL;

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
        let pem = crate::connectors::sheets::sandbox::SERVICE_ACCOUNT_PRIVATE_KEY;
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
        let pem = crate::connectors::sheets::sandbox::SERVICE_ACCOUNT_PRIVATE_KEY;
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
