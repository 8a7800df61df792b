//! Validation of merged settings: every problem is reported as `key: what is wrong`.

use std::collections::HashSet;
use std::net::SocketAddr;

use base64::Engine as _;
use secrecy::ExposeSecret;

use super::ConfigError;
use super::settings::{OnCardArchived, PairSettings, Settings};

fn invalid(key: impl Into<String>, problem: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.into(),
        problem: problem.into(),
    }
}

/// Checks every rule that serde cannot express. Returns the first problem found, in file order,
/// so the message a user sees points at the earliest key to fix.
pub fn validate(s: &Settings) -> Result<(), ConfigError> {
    s.server.bind.parse::<SocketAddr>().map_err(|_| {
        invalid(
            "server.bind",
            "must be an address:port such as 0.0.0.0:8080",
        )
    })?;
    check_base_url("server.public_url", &s.server.public_url)?;
    if s.server.max_body_bytes == 0 {
        return Err(invalid("server.max_body_bytes", "must be greater than 0"));
    }
    check_server_limits(s)?;
    if s.database_path().is_none() && !s.database_is_postgres() {
        return Err(invalid(
            "database.url",
            "must be a SQLite file URL such as sqlite://data/leadsync.db, or a PostgreSQL URL \
             such as postgres://user:password@host:5432/leadsync",
        ));
    }
    check_base_url("trello.api_base", &s.trello.api_base)?;
    check_base_url("google.sheets_api_base", &s.google.sheets_api_base)?;
    check_base_url("airtable.api_base", &s.airtable.api_base)?;
    check_base_url("notion.api_base", &s.notion.api_base)?;
    if s.notion.poll_interval_secs > 86_400 {
        return Err(invalid(
            "notion.poll_interval_secs",
            "must be at most 86400 (a day); 0 turns polling off",
        ));
    }
    check_budgets(s)?;
    if s.google.credentials_file.as_os_str().is_empty() {
        return Err(invalid("google.credentials_file", "must not be empty"));
    }
    check_apps_script_secret(s.apps_script.secret.expose_secret())?;
    if s.apps_script.tolerance_secs == 0 {
        return Err(invalid(
            "apps_script.tolerance_secs",
            "must be greater than 0",
        ));
    }
    if s.sync.card_archived_action().is_none() {
        return Err(invalid(
            "sync.on_card_archived",
            "must be \"ignore\" or \"status:<Status>\" (for example \"status:Lost\")",
        ));
    }
    if s.sync.activity_retention_days == 0 {
        return Err(invalid(
            "sync.activity_retention_days",
            "must be at least 1",
        ));
    }
    validate_pairs(s)?;
    super::mirrors::validate_mirrors(s)
}

/// The connection limits guard a public endpoint: 0 would refuse (or time out) everything, and
/// a huge value is no limit at all (a timeout of days, more connections than file descriptors).
fn check_server_limits(s: &Settings) -> Result<(), ConfigError> {
    let server = &s.server;
    let secs = [
        (
            "server.header_read_timeout_secs",
            server.header_read_timeout_secs,
            300,
        ),
        (
            "server.body_read_timeout_secs",
            server.body_read_timeout_secs,
            3600,
        ),
        ("server.idle_timeout_secs", server.idle_timeout_secs, 3600),
    ];
    for (key, value, max) in secs {
        if !(1..=max).contains(&value) {
            return Err(invalid(key, format!("must be between 1 and {max} seconds")));
        }
    }
    let counts = [
        ("server.max_connections", server.max_connections),
        (
            "server.max_requests_in_flight",
            server.max_requests_in_flight,
        ),
    ];
    for (key, value) in counts {
        if !(1..=MAX_CONNECTIONS).contains(&value) {
            return Err(invalid(
                key,
                format!("must be between 1 and {MAX_CONNECTIONS}"),
            ));
        }
    }
    Ok(())
}

/// The outbound rate limits: 0 would stop every call, and a budget far past any published or
/// purchasable quota is a typo that would turn pacing off and meet 429s instead.
fn check_budgets(s: &Settings) -> Result<(), ConfigError> {
    let budgets = [
        (
            "trello.token_requests_per_10s",
            s.trello.token_requests_per_10s,
            10_000,
        ),
        (
            "trello.key_requests_per_10s",
            s.trello.key_requests_per_10s,
            10_000,
        ),
        (
            "google.requests_per_minute",
            s.google.requests_per_minute,
            100_000,
        ),
        (
            "airtable.base_requests_per_second",
            s.airtable.base_requests_per_second,
            1_000,
        ),
    ];
    for (key, value, max) in budgets {
        if !(1..=max).contains(&value) {
            return Err(invalid(
                key,
                format!("must be between 1 and {max}, got {value}"),
            ));
        }
    }
    if s.trello.key_requests_per_10s < s.trello.token_requests_per_10s {
        return Err(invalid(
            "trello.key_requests_per_10s",
            format!(
                "must be at least trello.token_requests_per_10s ({}): the key's budget covers \
                 every token of the key",
                s.trello.token_requests_per_10s
            ),
        ));
    }
    Ok(())
}

/// Each connection holds a file descriptor; past this, the process limit is what caps them.
const MAX_CONNECTIONS: usize = 65_536;

fn check_base_url(key: &str, url: &str) -> Result<(), ConfigError> {
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(invalid(key, "must start with http:// or https://"));
    }
    if url.ends_with('/') {
        return Err(invalid(key, "must not end with a slash"));
    }
    let host = url.split("://").nth(1).unwrap_or_default();
    if host.is_empty() || host.starts_with('/') {
        return Err(invalid(key, "has no host"));
    }
    Ok(())
}

fn check_apps_script_secret(secret: &str) -> Result<(), ConfigError> {
    if secret.is_empty() {
        return Ok(());
    }
    let key = "apps_script.secret";
    let fix = |problem: &str| {
        invalid(
            key,
            format!("{problem}: {GENERATE_SECRET} (echo \"whsec_$(openssl rand -base64 32)\")"),
        )
    };
    if is_placeholder(secret) {
        return Err(fix("is still the example's placeholder"));
    }
    let encoded = secret
        .strip_prefix("whsec_")
        .ok_or_else(|| fix("must start with whsec_"))?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|_| fix("the part after whsec_ is not valid base64"))?;
    if bytes.len() < 16 {
        return Err(fix("is too short: use at least 16 random bytes"));
    }
    Ok(())
}

const GENERATE_SECRET: &str = "use \"whsec_\" + base64 of 32 random bytes";

/// Text copied from config/example.toml, .env.example or config/default.toml's comments.
pub fn is_placeholder(value: &str) -> bool {
    let v = value.trim().to_lowercase();
    ["replace-with-", "your-trello-", "change-me", "\u{2026}"]
        .iter()
        .any(|marker| v.contains(marker))
        || v.ends_with("...")
}

fn validate_pairs(s: &Settings) -> Result<(), ConfigError> {
    let mut names = HashSet::new();
    for (i, pair) in s.pairs.iter().enumerate() {
        let at = |key: &str| format!("pairs[{i}].{key}");
        for (key, value) in [("name", &pair.name), ("board_id", &pair.board_id)] {
            if value.trim().is_empty() {
                return Err(invalid(at(key), "must not be empty"));
            }
        }
        // The tracker's own keys (`spreadsheet_id`/`sheet` or `base_id`/`table`), in file order.
        super::tracker_keys::check_pair_keys(i, pair)?;
        // A URL that cannot be a board's is caught here; short links resolve at start-up.
        super::BoardRef::parse(&pair.board_id)
            .map_err(|problem| invalid(at("board_id"), problem))?;
        if !names.insert(pair.name.as_str()) {
            return Err(invalid(
                at("name"),
                format!("\"{}\" is used twice", pair.name),
            ));
        }
        let mut headers = HashSet::new();
        for (key, header) in pair.columns.entries() {
            if header.trim().is_empty() {
                return Err(invalid(at(&format!("columns.{key}")), "must not be empty"));
            }
            if !headers.insert(header.trim().to_lowercase()) {
                return Err(invalid(
                    at(&format!("columns.{key}")),
                    format!("header \"{header}\" is used by another column"),
                ));
            }
        }
        if pair.status_lists.is_empty() {
            return Err(invalid(at("status_lists"), "empty"));
        }
        let mut statuses = HashSet::new();
        for (status, list) in &pair.status_lists {
            if status.trim().is_empty() || list.trim().is_empty() {
                return Err(invalid(
                    at("status_lists"),
                    "status values and list names must not be empty",
                ));
            }
            if !statuses.insert(status.trim().to_lowercase()) {
                return Err(invalid(
                    at("status_lists"),
                    format!(
                        "status \"{status}\" is listed twice (statuses compare case-insensitively)"
                    ),
                ));
            }
        }
        check_archive_status(s, i, pair)?;
    }
    super::tracker_keys::check_tracker_settings(s)
}

/// `status:<Status>` must name a status the pair maps to a list: otherwise an archived card
/// writes a status into the row that no list stands for, and the row can never follow the card.
fn check_archive_status(s: &Settings, i: usize, pair: &PairSettings) -> Result<(), ConfigError> {
    let Some(OnCardArchived::SetStatus(status)) = s.sync.card_archived_action() else {
        return Ok(());
    };
    let wanted = status.to_lowercase();
    if pair
        .status_lists
        .keys()
        .any(|k| k.trim().to_lowercase() == wanted)
    {
        return Ok(());
    }
    let known: Vec<&str> = pair.status_lists.keys().map(String::as_str).collect();
    Err(invalid(
        "sync.on_card_archived",
        format!(
            "status \"{status}\" is not in pairs[{i}].status_lists of pair \"{}\" (it maps {}); \
             add it there or choose one of those",
            pair.name,
            known.join(", ")
        ),
    ))
}
