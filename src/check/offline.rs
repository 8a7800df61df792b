//! The checks that need no network: secrets that webhook verification depends on, and values
//! still holding an example's placeholder. Shared by `check` (as findings) and `serve` (which
//! refuses to start without the secrets).

use secrecy::{ExposeSecret, SecretString};

use super::NO_PAIR;
use crate::config::{Settings, is_placeholder};
use crate::connectors::check::{Finding, Outcome};
use crate::model::TrackerKind;

/// One setting that makes the deployment unusable: its key and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub key: String,
    pub why: String,
}

/// Where the Trello secret is found, said wherever it is missing.
const TRELLO_SECRET_HELP: &str = "set it to the Trello app secret shown beside the API key on \
     https://trello.com/power-ups/admin (your Power-Up, \"API key\" page)";
/// How to make an Apps Script secret.
const APPS_SCRIPT_SECRET_HELP: &str = "set it to \"whsec_\" + base64 of 32 random bytes, \
     for example: echo \"whsec_$(openssl rand -base64 32)\"";

/// The secrets without which deliveries cannot be verified: each would be refused with 401.
/// Trello's is needed as soon as one pair or mirror exists (each has a board); the Apps
/// Script's only with a Sheets pair (Airtable notifications are verified with each webhook's own
/// MAC secret).
pub fn missing_secrets(s: &Settings) -> Vec<Problem> {
    // A mirror's boards deliver Trello webhooks too, so a mirrors-only daemon needs the secret.
    if s.pairs.is_empty() && s.mirrors.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    if is_blank(&s.trello.api_secret) {
        out.push(Problem {
            key: "trello.api_secret".into(),
            why: format!(
                "is empty, so Trello webhook deliveries could not be verified (each would be \
                 refused with 401): {TRELLO_SECRET_HELP}"
            ),
        });
    }
    let sheets = s.pairs.iter().any(|p| p.tracker == TrackerKind::Sheets);
    if sheets && is_blank(&s.apps_script.secret) {
        out.push(Problem {
            key: "apps_script.secret".into(),
            why: format!(
                "is empty, so the Apps Script's sheet events could not be verified (each would \
                 be refused with 401): {APPS_SCRIPT_SECRET_HELP}"
            ),
        });
    }
    out
}

fn is_blank(secret: &SecretString) -> bool {
    secret.expose_secret().trim().is_empty()
}

/// Hosts Trello's servers and Google's Apps Script cannot reach, or documentation examples.
fn unreachable_host(public_url: &str) -> Option<&'static str> {
    let rest = public_url.split("://").nth(1).unwrap_or_default();
    let authority = rest.split('/').next().unwrap_or_default();
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.split(':').next().unwrap_or_default(),
    }
    .to_lowercase();
    let local = host == "localhost"
        || host.ends_with(".localhost")
        || host.starts_with("127.")
        || host == "0.0.0.0"
        || host == "::1";
    let example = ["example.com", "example.net", "example.org"]
        .iter()
        .any(|d| host == *d || host.ends_with(&format!(".{d}")))
        || host.ends_with(".example");
    if local {
        Some("is on this machine only")
    } else if example {
        Some("is the example value")
    } else {
        None
    }
}

/// Why `server.public_url` cannot work for webhooks, if it cannot; `apps-script` warns with it too.
pub fn public_url_problem(s: &Settings) -> Option<Problem> {
    let url = &s.server.public_url;
    let why = if is_placeholder(url) {
        "is the example's placeholder"
    } else {
        unreachable_host(url)?
    };
    Some(Problem {
        key: "server.public_url".into(),
        why: format!(
            "{url} {why}: Trello and the Apps Script cannot reach it (the Apps Script embeds \
             it); set it to the public https URL of this server"
        ),
    })
}

/// Every placeholder left in the settings, as (pair name or [`NO_PAIR`], problem). Secret
/// values are never quoted, only their keys.
pub fn placeholders(s: &Settings) -> Vec<(String, Problem)> {
    let mut out: Vec<(String, Problem)> = public_url_problem(s)
        .into_iter()
        .map(|p| (NO_PAIR.to_owned(), p))
        .collect();
    let secrets = [
        ("server.admin_token", &s.server.admin_token),
        ("trello.api_key", &s.trello.api_key),
        ("trello.api_token", &s.trello.api_token),
        ("trello.api_secret", &s.trello.api_secret),
        ("apps_script.secret", &s.apps_script.secret),
    ];
    for (key, value) in secrets {
        if is_placeholder(value.expose_secret()) {
            let why = "is still the example's placeholder: set the real value".to_owned();
            let key = key.to_owned();
            out.push((NO_PAIR.to_owned(), Problem { key, why }));
        }
    }
    for (i, pair) in s.pairs.iter().enumerate() {
        // An Airtable pair's base_id cannot hold one (validation wants letters and digits).
        let table = pair.table.as_deref().unwrap_or_default();
        for (key, value) in [
            ("spreadsheet_id", pair.spreadsheet_id.as_str()),
            ("sheet", &pair.sheet),
            ("table", table),
            ("board_id", &pair.board_id),
        ] {
            if is_placeholder(value) {
                let why = format!("\"{value}\" is the example's placeholder: set the real one");
                let key = format!("pairs[{i}].{key}");
                out.push((pair.name.clone(), Problem { key, why }));
            }
        }
    }
    out
}

/// The findings of this module, each an error naming its key.
pub fn findings(s: &Settings) -> Vec<Finding> {
    let secrets = missing_secrets(s)
        .into_iter()
        .map(|p| (NO_PAIR.to_owned(), p));
    placeholders(s)
        .into_iter()
        .chain(secrets)
        .map(|(pair, p)| Finding::new(&pair, Outcome::Error, format!("{}: {}", p.key, p.why)))
        .collect()
}

/// What `check` says when no pair is configured: how to add one, and where.
pub const NO_PAIRS_HELP: &str = "no [[pairs]] configured: add one to the config file given by \
--config FILE or LEADSYNC_CONFIG=FILE (in the environment or .env), for example:
    [[pairs]]
    name = \"default\"
    spreadsheet_id = \"<the id in the sheet's URL>\"
    sheet = \"Leads\"
    board_id = \"<the board's id>\"
    [pairs.status_lists]
    New = \"New\"
    Lost = \"Lost\"
  (config/example.toml is a complete example)";

#[cfg(test)]
#[path = "offline_tests.rs"]
mod tests;
