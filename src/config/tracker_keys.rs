//! Validation of what depends on a pair's lead tracker: the keys of its kind (and none of another
//! kind's), the token an Airtable or Notion pair needs, and conflict policies that name the
//! tracker side (`prefer_sheet` is for Sheets pairs only; `prefer_tracker` fits every kind).

use secrecy::ExposeSecret;

use super::ConfigError;
use super::settings::{ConflictPolicySetting, PairSettings, Settings};
use crate::model::TrackerKind;

fn invalid(key: impl Into<String>, problem: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.into(),
        problem: problem.into(),
    }
}

/// The readable form of serde's error for an unknown `tracker` value, given the key it names
/// (`pairs[0].tracker`) and the `config` crate's problem text. `None` for any other problem.
pub fn describe_unknown_tracker(key: &str, problem: &str) -> Option<String> {
    if !(key == "tracker" || key.ends_with(".tracker")) {
        return None;
    }
    let value = problem
        .strip_prefix("enum TrackerKind does not have variant constructor ")?
        .trim();
    Some(format!(
        "\"{value}\" is not a tracker: use \"sheets\" (the default), \"airtable\" or \"notion\""
    ))
}

/// Every tracker key a pair may carry, with the kind it belongs to.
const TRACKER_KEYS: [(&str, TrackerKind); 6] = [
    ("spreadsheet_id", TrackerKind::Sheets),
    ("sheet", TrackerKind::Sheets),
    ("base_id", TrackerKind::Airtable),
    ("table", TrackerKind::Airtable),
    ("database_id", TrackerKind::Notion),
    ("data_source_id", TrackerKind::Notion),
];

/// A pair's tracker key by name; `None` when unset.
fn key_value<'a>(pair: &'a PairSettings, key: &str) -> Option<&'a str> {
    let value = match key {
        "spreadsheet_id" => Some(pair.spreadsheet_id.as_str()),
        "sheet" => Some(pair.sheet.as_str()),
        "base_id" => pair.base_id.as_deref(),
        "table" => pair.table.as_deref(),
        "database_id" => pair.database_id.as_deref(),
        _ => pair.data_source_id.as_deref(),
    };
    value.filter(|v| !v.trim().is_empty())
}

/// The keys of pair `i` that belong to its tracker kind, and the absence of the others'.
pub fn check_pair_keys(i: usize, pair: &PairSettings) -> Result<(), ConfigError> {
    let at = |key: &str| format!("pairs[{i}].{key}");
    let tracker = pair.tracker;
    for (key, owner) in TRACKER_KEYS {
        if owner != tracker && key_value(pair, key).is_some() {
            return Err(invalid(at(key), foreign_key_problem(key, tracker)));
        }
    }
    match tracker {
        TrackerKind::Notion => check_notion_keys(pair).map_err(|(key, p)| invalid(at(key), p))?,
        _ => {
            let own = TRACKER_KEYS.iter().filter(|(_, owner)| *owner == tracker);
            for (key, _) in own {
                if key_value(pair, key).is_none() {
                    return Err(invalid(at(key), missing_key_problem(key)));
                }
            }
        }
    }
    if tracker == TrackerKind::Airtable {
        check_base_id(pair.base_id.as_deref().unwrap_or_default())
            .map_err(|problem| invalid(at("base_id"), problem))?;
    }
    if tracker != TrackerKind::Sheets
        && pair.conflict_policy == Some(ConflictPolicySetting::PreferSheet)
    {
        return Err(invalid(
            at("conflict_policy"),
            format!(
                "prefer_sheet is for Google Sheets pairs and this pair's tracker is \
                 \"{tracker}\": use prefer_tracker"
            ),
        ));
    }
    Ok(())
}

/// A Notion pair names its database or its data source, exactly one, as a Notion id (32 hex
/// digits, dashes allowed). Answers the key at fault and the problem.
fn check_notion_keys(pair: &PairSettings) -> Result<(), (&'static str, String)> {
    let database = key_value(pair, "database_id");
    let source = key_value(pair, "data_source_id");
    let (key, id) = match (database, source) {
        (Some(_), Some(_)) => {
            return Err((
                "data_source_id",
                "a Notion pair names its database_id or its data_source_id, not both: keep \
                 data_source_id only for a database with several data sources"
                    .to_owned(),
            ));
        }
        (None, None) => {
            return Err((
                "database_id",
                "must be set for a Notion pair (or data_source_id): the database's id, the 32 \
                 hex digits in its URL"
                    .to_owned(),
            ));
        }
        (Some(id), None) => ("database_id", id),
        (None, Some(id)) => ("data_source_id", id),
    };
    let id = id.trim();
    let hex = id.chars().filter(char::is_ascii_hexdigit).count();
    if hex != 32 || !id.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
        return Err((
            key,
            format!("\"{id}\" is not a Notion id: Notion ids are 32 hex digits (dashes allowed)"),
        ));
    }
    Ok(())
}

/// What a key of another tracker kind on this pair is: a mistake worth naming, since silently
/// ignoring it would leave a user wondering why the sheet (or base) is never written.
fn foreign_key_problem(key: &str, tracker: TrackerKind) -> String {
    let owner = match key {
        "spreadsheet_id" | "sheet" => "Google Sheets",
        "base_id" | "table" => "Airtable",
        _ => "Notion",
    };
    let instead = match (tracker, key) {
        (TrackerKind::Notion, _) => "database_id or data_source_id",
        (TrackerKind::Sheets, "table" | "data_source_id") => "sheet",
        (TrackerKind::Sheets, _) => "spreadsheet_id",
        (TrackerKind::Airtable, "sheet" | "data_source_id") => "table",
        (TrackerKind::Airtable, _) => "base_id",
    };
    format!(
        "belongs to {owner} pairs, and this pair's tracker is \"{tracker}\": remove it \
         (a \"{tracker}\" pair uses {instead}), or set tracker to the kind it belongs to"
    )
}

fn missing_key_problem(key: &str) -> String {
    match key {
        "base_id" => "must be set for an Airtable pair: the base's id (\"app…\", the part of the \
                      base's URL after airtable.com/)"
            .to_owned(),
        "table" => "must be set for an Airtable pair: the table's name or id (\"tbl…\")".to_owned(),
        // A Sheets pair's keys were always required: the message stays what it was.
        _ => "must not be empty".to_owned(),
    }
}

/// Airtable base ids are `app` and 14 letters or digits; only the prefix and the alphabet are
/// required here, so an id of another length still reaches Airtable's own answer in `check`.
fn check_base_id(base_id: &str) -> Result<(), String> {
    let id = base_id.trim();
    if !id.starts_with("app") {
        return Err(format!(
            "\"{id}\" is not an Airtable base id: base ids start with \"app\" (the part of the \
             base's URL after airtable.com/)"
        ));
    }
    if !id.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(format!(
            "\"{id}\" is not an Airtable base id: base ids are letters and digits only"
        ));
    }
    Ok(())
}

/// `sync.conflict_policy = "prefer_sheet"` is refused while a pair of another tracker inherits
/// it, and each tracker's token is required (and must not be a placeholder) once one of its
/// pairs exists.
pub fn check_tracker_settings(s: &Settings) -> Result<(), ConfigError> {
    let others = || (s.pairs.iter().enumerate()).filter(|(_, p)| p.tracker != TrackerKind::Sheets);
    if s.sync.conflict_policy == ConflictPolicySetting::PreferSheet
        && let Some((i, pair)) = others().find(|(_, p)| p.conflict_policy.is_none())
    {
        let kind = match pair.tracker {
            TrackerKind::Notion => "a Notion",
            _ => "an Airtable",
        };
        return Err(invalid(
            "sync.conflict_policy",
            format!(
                "prefer_sheet is for Google Sheets pairs, and pairs[{i}] (\"{}\") is {kind} \
                 pair that inherits it: use prefer_tracker, or set pairs[{i}].conflict_policy",
                pair.name
            ),
        ));
    }
    let first = |kind: TrackerKind| (s.pairs.iter().enumerate()).find(|(_, p)| p.tracker == kind);
    if let Some((i, pair)) = first(TrackerKind::Airtable) {
        let why = format!(
            "must be set: pairs[{i}] (\"{}\") is an Airtable pair; use a personal access token \
             with the scopes data.records:read/write, schema.bases:read/write and \
             webhook:manage, granted that pair's base",
            pair.name
        );
        let placeholder = "is still the example's placeholder: set the real personal access token";
        check_token(
            "airtable.token",
            s.airtable.token.expose_secret(),
            why,
            placeholder,
        )?;
    }
    if let Some((i, pair)) = first(TrackerKind::Notion) {
        let why = format!(
            "must be set: pairs[{i}] (\"{}\") is a Notion pair; use the internal integration \
             secret of an integration the pair's database is shared with",
            pair.name
        );
        let placeholder = "is still the example's placeholder: set the integration secret";
        check_token(
            "notion.token",
            s.notion.token.expose_secret(),
            why,
            placeholder,
        )?;
    }
    Ok(())
}

fn check_token(
    key: &str,
    token: &str,
    missing: String,
    placeholder: &str,
) -> Result<(), ConfigError> {
    if token.trim().is_empty() {
        return Err(invalid(key, missing));
    }
    if super::is_placeholder(token) {
        return Err(invalid(key, placeholder));
    }
    Ok(())
}
