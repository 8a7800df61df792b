//! Domain types shared by every layer: identities, fields, sides, policies and value hashes.
//! Depends on nothing else in the crate. `board` is a board (card) as the engine knows it.

pub mod board;

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A lead's identity: the sheet's id column and the card's marker line. Restricted so it
/// survives URLs, A1 cells and a Trello description unchanged.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct LeadId(String);

/// Why a string is not a [`LeadId`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidLeadId {
    #[error("lead id is empty")]
    Empty,
    #[error("lead id is longer than {max} characters", max = LeadId::MAX_LEN)]
    TooLong,
    #[error("lead id may only contain A-Z, a-z, 0-9, '_' and '-'")]
    BadCharacter,
}

impl LeadId {
    pub const MAX_LEN: usize = 32;

    /// Validates an id as given in the sheet (surrounding whitespace is not part of it).
    pub fn parse(raw: &str) -> Result<Self, InvalidLeadId> {
        let id = raw.trim();
        if id.is_empty() {
            return Err(InvalidLeadId::Empty);
        }
        if id.len() > Self::MAX_LEN {
            return Err(InvalidLeadId::TooLong);
        }
        if !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(InvalidLeadId::BadCharacter);
        }
        Ok(Self(id.to_owned()))
    }

    /// A fresh id: `L` and 12 hex digits (48 random bits of a v4 uuid). Short enough to read
    /// in a sheet; collisions within one sheet are negligible at the sizes a sheet holds.
    pub fn generate() -> Self {
        let hex = uuid::Uuid::new_v4().simple().to_string();
        // The first 12 hex digits of a v4 uuid are all random (the version nibble comes later).
        Self(format!("L{}", &hex[..12]))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for LeadId {
    type Error = InvalidLeadId;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<LeadId> for String {
    fn from(id: LeadId) -> Self {
        id.0
    }
}

impl fmt::Display for LeadId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Declares a string newtype whose content is opaque to us (given by Trello or the config).
macro_rules! opaque_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

opaque_id!(
    /// A Trello card id, as Trello gives it.
    CardId
);
opaque_id!(
    /// The name of a configured sheet/board pair; tags every row, event and log line.
    PairName
);

/// A lead field that is synced both ways.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    Name,
    Status,
    Notes,
    Email,
    Phone,
    Company,
}

impl Field {
    pub const ALL: [Field; 6] = [
        Field::Name,
        Field::Status,
        Field::Notes,
        Field::Email,
        Field::Phone,
        Field::Company,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Field::Name => "name",
            Field::Status => "status",
            Field::Notes => "notes",
            Field::Email => "email",
            Field::Phone => "phone",
            Field::Company => "company",
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One of the two systems kept in sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Sheet,
    Trello,
}

impl Side {
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Sheet => "sheet",
            Side::Trello => "trello",
        }
    }

    pub fn other(self) -> Side {
        match self {
            Side::Sheet => Side::Trello,
            Side::Trello => Side::Sheet,
        }
    }
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The system a pair keeps its leads in (`[[pairs]] tracker`); Trello is the other side. The
/// merge names that side `Side::Sheet` whatever its kind; logs and settings name it by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrackerKind {
    #[default]
    Sheets,
    Airtable,
    Notion,
}

impl TrackerKind {
    /// The config and storage name (`tracker = "airtable"`, `outbox.target`).
    pub fn as_str(self) -> &'static str {
        match self {
            TrackerKind::Sheets => "sheets",
            TrackerKind::Airtable => "airtable",
            TrackerKind::Notion => "notion",
        }
    }

    /// True when the tracker gives a new record its id (the lead id) itself: a record leadsync
    /// creates has no lead id until the tracker answers.
    pub fn assigns_ids(self) -> bool {
        matches!(self, TrackerKind::Airtable | TrackerKind::Notion)
    }

    /// The tracker side's name in decisions and logs: `copy_to_airtable`, `winner: airtable`.
    pub fn side_name(self) -> &'static str {
        match self {
            TrackerKind::Sheets => "sheet",
            TrackerKind::Airtable => "airtable",
            TrackerKind::Notion => "notion",
        }
    }
}

impl fmt::Display for TrackerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `sync.conflict_policy`: who wins when both sides changed a field to different values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConflictPolicy {
    #[default]
    LastWriterWins,
    PreferSheet,
    PreferTrello,
}

impl ConflictPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            ConflictPolicy::LastWriterWins => "last_writer_wins",
            ConflictPolicy::PreferSheet => "prefer_sheet",
            ConflictPolicy::PreferTrello => "prefer_trello",
        }
    }
}

impl fmt::Display for ConflictPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Hex SHA-256 of a field value after [`normalise`]: what "changed" is measured against.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ValueHash(String);

impl ValueHash {
    pub fn of(value: &str) -> Self {
        let digest = Sha256::digest(normalise(value).as_bytes());
        Self(digest.iter().map(|b| format!("{b:02x}")).collect())
    }

    /// Rebuilds a hash read back from storage.
    pub fn from_hex(hex: impl Into<String>) -> Self {
        Self(hex.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ValueHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The form in which two values are compared. Sheets and Trello both reformat whitespace on
/// their own (Trello trims descriptions, Sheets keeps or drops `\r`, editors add trailing
/// spaces); if such a difference counted as a change, each side's echo of our write would look
/// like a new edit and the value would ping-pong between the systems forever.
pub fn normalise(value: &str) -> String {
    let unified = value.replace("\r\n", "\n");
    let lines: Vec<&str> = unified.split('\n').map(str::trim_end).collect();
    lines.join("\n").trim().to_owned()
}

/// A value for each lead field that one side holds; a missing field was not read or does not
/// apply (e.g. a card in an unmapped list has no status).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeadFields(BTreeMap<Field, String>);

impl LeadFields {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn get(&self, field: Field) -> Option<&str> {
        self.0.get(&field).map(String::as_str)
    }

    pub fn set(&mut self, field: Field, value: impl Into<String>) {
        self.0.insert(field, value.into());
    }

    pub fn remove(&mut self, field: Field) -> Option<String> {
        self.0.remove(&field)
    }

    pub fn iter(&self) -> impl Iterator<Item = (Field, &str)> {
        self.0.iter().map(|(f, v)| (*f, v.as_str()))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl FromIterator<(Field, String)> for LeadFields {
    fn from_iter<I: IntoIterator<Item = (Field, String)>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

#[cfg(test)]
mod tests;
