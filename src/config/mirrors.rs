//! `[[mirrors]]`: two Trello boards kept in two-way sync card for card (CONTRACT §8), and the
//! rules serde cannot express, each reported as `mirrors[i].key: what is wrong`.

use std::collections::{BTreeMap, HashSet};

use serde::Deserialize;

use super::ConfigError;
use super::settings::Settings;

/// Who wins when both boards changed one field differently since they last agreed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MirrorPolicySetting {
    /// The later change by its own time; ties and unknown times go to side `a`.
    #[default]
    LastWriterWins,
    PreferA,
    PreferB,
}

/// One mirror: board A ↔ board B, with the lists whose cards are mirrored.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MirrorSettings {
    pub name: String,
    pub board_a: String,
    pub board_b: String,
    #[serde(default)]
    pub conflict_policy: MirrorPolicySetting,
    /// List name on board A → list name on board B.
    #[serde(default)]
    pub lists: BTreeMap<String, String>,
}

impl MirrorSettings {
    /// The B list mapped to an A list, by name (case-insensitive, as lists are found).
    pub fn b_list_for(&self, a_list: &str) -> Option<&str> {
        let wanted = fold(a_list);
        (self.lists.iter())
            .find(|(a, _)| fold(a) == wanted)
            .map(|(_, b)| b.as_str())
    }

    /// The A list mapped to a B list, by name.
    pub fn a_list_for(&self, b_list: &str) -> Option<&str> {
        let wanted = fold(b_list);
        (self.lists.iter())
            .find(|(_, b)| fold(b) == wanted)
            .map(|(a, _)| a.as_str())
    }
}

fn fold(name: &str) -> String {
    name.trim().to_lowercase()
}

fn invalid(key: String, problem: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key,
        problem: problem.into(),
    }
}

/// Every mirror's own rules, then its names and lists against the pairs'.
pub fn validate_mirrors(s: &Settings) -> Result<(), ConfigError> {
    let mut names: HashSet<&str> = s.pairs.iter().map(|p| p.name.as_str()).collect();
    for (i, mirror) in s.mirrors.iter().enumerate() {
        let at = |key: &str| format!("mirrors[{i}].{key}");
        for (key, value) in [
            ("name", &mirror.name),
            ("board_a", &mirror.board_a),
            ("board_b", &mirror.board_b),
        ] {
            if value.trim().is_empty() {
                return Err(invalid(at(key), "must not be empty"));
            }
        }
        for (key, value) in [("board_a", &mirror.board_a), ("board_b", &mirror.board_b)] {
            super::BoardRef::parse(value).map_err(|problem| invalid(at(key), problem))?;
        }
        if !names.insert(mirror.name.as_str()) {
            return Err(invalid(
                at("name"),
                format!(
                    "\"{}\" is already the name of a pair or another mirror (they share one namespace)",
                    mirror.name
                ),
            ));
        }
        if mirror.board_a.trim() == mirror.board_b.trim() {
            return Err(invalid(
                at("board_b"),
                "is the same board as board_a: a mirror joins two different boards",
            ));
        }
        check_lists(s, i, mirror)?;
    }
    Ok(())
}

fn check_lists(s: &Settings, i: usize, mirror: &MirrorSettings) -> Result<(), ConfigError> {
    let key = format!("mirrors[{i}].lists");
    if mirror.lists.is_empty() {
        return Err(invalid(
            key,
            "empty: map at least one list of board_a to a list of board_b (\"To Do\" = \"Backlog\")",
        ));
    }
    let (mut a_seen, mut b_seen) = (HashSet::new(), HashSet::new());
    for (a, b) in &mirror.lists {
        if a.trim().is_empty() || b.trim().is_empty() {
            return Err(invalid(key, "list names must not be empty"));
        }
        if !a_seen.insert(fold(a)) {
            return Err(invalid(
                key,
                format!("list \"{a}\" of board_a is mapped twice"),
            ));
        }
        if !b_seen.insert(fold(b)) {
            return Err(invalid(
                key,
                format!("list \"{b}\" of board_b is the target of two lists"),
            ));
        }
    }
    for pair in &s.pairs {
        for (board, side, lists) in [
            (&mirror.board_a, "board_a", &a_seen),
            (&mirror.board_b, "board_b", &b_seen),
        ] {
            if pair.board_id.trim() != board.trim() {
                continue;
            }
            if let Some(list) = (pair.status_lists.values()).find(|l| lists.contains(&fold(l))) {
                return Err(invalid(
                    key,
                    format!(
                        "list \"{list}\" of {side} is also mapped by pair \"{}\"'s status_lists: \
                         a list may be mapped by a mirror or by a pair, not both",
                        pair.name
                    ),
                ));
            }
        }
    }
    Ok(())
}
