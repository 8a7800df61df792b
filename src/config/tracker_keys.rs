//! Validation of what depends on a pair's lead tracker: the keys of its kind (and none of another
//! kind's), the `airtable.token` an Airtable pair needs, and conflict policies that name the
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
    // The contract lists Notion, so a user may well write it: say it is coming, not that it is wrong.
    if value.eq_ignore_ascii_case("notion") {
        return Some(format!(
            "\"{value}\" is not available in this build: Notion trackers come in a later \
             release; use \"sheets\" or \"airtable\""
        ));
    }
    Some(format!(
        "\"{value}\" is not a tracker: use \"sheets\" (the default) or \"airtable\""
    ))
}

/// A pair's tracker keys by name, each `None` when unset.
type Keys<'a> = [(&'static str, Option<&'a str>)];

/// The keys of pair `i` that belong to its tracker kind, and the absence of the others'.
pub fn check_pair_keys(i: usize, pair: &PairSettings) -> Result<(), ConfigError> {
    let at = |key: &str| format!("pairs[{i}].{key}");
    let tracker = pair.tracker;
    let set = |value: Option<&str>| value.is_some_and(|v| !v.trim().is_empty());
    let (own, foreign): (&Keys, &Keys) = match tracker {
        TrackerKind::Sheets => (
            &[
                ("spreadsheet_id", Some(&pair.spreadsheet_id)),
                ("sheet", Some(&pair.sheet)),
            ],
            &[
                ("base_id", pair.base_id.as_deref()),
                ("table", pair.table.as_deref()),
            ],
        ),
        TrackerKind::Airtable => (
            &[
                ("base_id", pair.base_id.as_deref()),
                ("table", pair.table.as_deref()),
            ],
            &[
                ("spreadsheet_id", Some(&pair.spreadsheet_id)),
                ("sheet", Some(&pair.sheet)),
            ],
        ),
    };
    for (key, value) in foreign {
        if set(*value) {
            return Err(invalid(at(key), foreign_key_problem(key, tracker)));
        }
    }
    for (key, value) in own {
        if !set(*value) {
            return Err(invalid(at(key), missing_key_problem(key)));
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

/// What a key of another tracker kind on this pair is: a mistake worth naming, since silently
/// ignoring it would leave a user wondering why the sheet (or base) is never written.
fn foreign_key_problem(key: &str, tracker: TrackerKind) -> String {
    let (owner, instead) = match key {
        "spreadsheet_id" => ("Google Sheets", "base_id"),
        "sheet" => ("Google Sheets", "table"),
        "base_id" => ("Airtable", "spreadsheet_id"),
        _ => ("Airtable", "sheet"),
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

/// `sync.conflict_policy = "prefer_sheet"` is refused while an Airtable pair inherits it, and
/// `airtable.token` is required (and must not be a placeholder) once an Airtable pair exists.
pub fn check_tracker_settings(s: &Settings) -> Result<(), ConfigError> {
    let airtable =
        || (s.pairs.iter().enumerate()).filter(|(_, p)| p.tracker == TrackerKind::Airtable);
    if s.sync.conflict_policy == ConflictPolicySetting::PreferSheet
        && let Some((i, pair)) = airtable().find(|(_, p)| p.conflict_policy.is_none())
    {
        return Err(invalid(
            "sync.conflict_policy",
            format!(
                "prefer_sheet is for Google Sheets pairs, and pairs[{i}] (\"{}\") is an Airtable \
                 pair that inherits it: use prefer_tracker, or set pairs[{i}].conflict_policy",
                pair.name
            ),
        ));
    }
    let Some((i, pair)) = airtable().next() else {
        return Ok(());
    };
    let token = s.airtable.token.expose_secret();
    if token.trim().is_empty() {
        return Err(invalid(
            "airtable.token",
            format!(
                "must be set: pairs[{i}] (\"{}\") is an Airtable pair; use a personal access \
                 token with the scopes data.records:read/write, schema.bases:read/write and \
                 webhook:manage, granted that pair's base",
                pair.name
            ),
        ));
    }
    if super::is_placeholder(token) {
        return Err(invalid(
            "airtable.token",
            "is still the example's placeholder: set the real personal access token",
        ));
    }
    Ok(())
}
