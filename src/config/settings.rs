//! Typed settings: the shape of `config/default.toml`, with secrets held as `SecretString`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use secrecy::SecretString;
use serde::Deserialize;

/// Everything leadsync is configured with, after all layers are merged and validated.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub trello: TrelloSettings,
    pub google: GoogleSettings,
    pub airtable: AirtableSettings,
    pub notion: NotionSettings,
    pub apps_script: AppsScriptSettings,
    pub sync: SyncSettings,
    #[serde(default)]
    pub pairs: Vec<PairSettings>,
    /// Trello board ↔ board mirrors (`[[mirrors]]`).
    #[serde(default)]
    pub mirrors: Vec<super::MirrorSettings>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    pub bind: String,
    pub public_url: String,
    pub admin_token: SecretString,
    pub max_body_bytes: usize,
    /// A request's headers must be complete this long after its first byte (or after the
    /// connection opened, for its first request).
    pub header_read_timeout_secs: u64,
    /// A request's body must have arrived in full this long after its headers.
    pub body_read_timeout_secs: u64,
    /// A kept-alive connection with no request under way is closed after this long.
    pub idle_timeout_secs: u64,
    /// Open connections at most; an idle or slow one makes room for a new one.
    pub max_connections: usize,
    /// Requests being served at once at most; more get 503 with `Retry-After`.
    pub max_requests_in_flight: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    pub url: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrelloSettings {
    pub api_base: String,
    pub api_key: SecretString,
    pub api_token: SecretString,
    pub api_secret: SecretString,
    /// Trello's budget per token, in calls per 10 s (the client uses 95 % of it).
    pub token_requests_per_10s: u32,
    /// Trello's budget per API key (all its tokens together), in calls per 10 s.
    pub key_requests_per_10s: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GoogleSettings {
    pub sheets_api_base: String,
    pub credentials_file: PathBuf,
    /// Google's Sheets budget per user (the service account), in calls per minute.
    pub requests_per_minute: u32,
}

/// `[airtable]`: the API and the personal access token pairs with `tracker = "airtable"` use.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AirtableSettings {
    pub api_base: String,
    pub token: SecretString,
    /// Airtable's budget per base, in calls per second (the client uses 90 % of it).
    pub base_requests_per_second: u32,
}

/// `[notion]`: the API, the integration secret pairs with `tracker = "notion"` use, the
/// subscription's verification token when the user sets it, and how often pages are polled.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotionSettings {
    pub api_base: String,
    pub token: SecretString,
    /// Empty: the token of Notion's verification request, as stored, signs the events.
    pub webhook_verification_token: SecretString,
    /// Pages edited since the last poll are read this often; 0 turns polling off.
    pub poll_interval_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppsScriptSettings {
    pub secret: SecretString,
    pub tolerance_secs: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConflictPolicySetting {
    LastWriterWins,
    PreferSheet,
    PreferTrello,
    /// The pair's lead tracker, whatever its kind.
    PreferTracker,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnRowDeleted {
    ArchiveCard,
    Ignore,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncSettings {
    pub reconcile_interval_secs: u64,
    pub debounce_ms: u64,
    pub conflict_policy: ConflictPolicySetting,
    /// Raw text ("status:Lost" or "ignore"); read it through [`SyncSettings::card_archived_action`].
    pub on_card_archived: String,
    pub on_row_deleted: OnRowDeleted,
    pub create_rows_from_cards: bool,
    pub activity_retention_days: u32,
    /// Whose value stands when a lead is first linked and the two sides differ.
    pub initial_source: crate::model::Side,
}

/// What an archived card does to its row, parsed from `sync.on_card_archived`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OnCardArchived {
    SetStatus(String),
    Ignore,
}

impl SyncSettings {
    /// `None` when the text is neither `ignore` nor `status:<non-empty>`; validation rejects that at load.
    pub fn card_archived_action(&self) -> Option<OnCardArchived> {
        let raw = self.on_card_archived.trim();
        if raw.eq_ignore_ascii_case("ignore") {
            return Some(OnCardArchived::Ignore);
        }
        let status = raw.strip_prefix("status:")?.trim();
        (!status.is_empty()).then(|| OnCardArchived::SetStatus(status.to_string()))
    }
}

/// One lead tracker <-> board pair. The tracker's own keys are empty (`spreadsheet_id`, `sheet`)
/// or `None` (`base_id`, `table`) when they belong to another kind of tracker.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PairSettings {
    pub name: String,
    #[serde(default)]
    pub tracker: crate::model::TrackerKind,
    #[serde(default)]
    pub spreadsheet_id: String,
    #[serde(default)]
    pub sheet: String,
    /// Airtable: the base (`app…`).
    #[serde(default)]
    pub base_id: Option<String>,
    /// Airtable: the table's name or id.
    #[serde(default)]
    pub table: Option<String>,
    /// Notion: the database; its data source is found at start-up.
    #[serde(default)]
    pub database_id: Option<String>,
    /// Notion: the data source itself (for a database with several).
    #[serde(default)]
    pub data_source_id: Option<String>,
    pub board_id: String,
    /// Overrides `sync.conflict_policy` for this pair.
    #[serde(default)]
    pub conflict_policy: Option<ConflictPolicySetting>,
    #[serde(default)]
    pub columns: ColumnSettings,
    #[serde(default)]
    pub status_lists: BTreeMap<String, String>,
}

/// Sheet header text of each lead field. Defaults are the contract's example headers, so a
/// sheet laid out that way needs no `[pairs.columns]` table at all.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct ColumnSettings {
    pub id: String,
    pub name: String,
    pub email: String,
    pub phone: String,
    pub company: String,
    pub status: String,
    pub notes: String,
    pub card: Option<String>,
}

impl Default for ColumnSettings {
    fn default() -> Self {
        Self {
            id: "Lead ID".into(),
            name: "Name".into(),
            email: "Email".into(),
            phone: "Phone".into(),
            company: "Company".into(),
            status: "Status".into(),
            notes: "Notes".into(),
            card: Some("Trello Card".into()),
        }
    }
}

impl ColumnSettings {
    /// (key, header) for every configured column, in a stable order, for validation and lookup.
    pub fn entries(&self) -> Vec<(&'static str, &str)> {
        let mut out = vec![
            ("id", self.id.as_str()),
            ("name", self.name.as_str()),
            ("email", self.email.as_str()),
            ("phone", self.phone.as_str()),
            ("company", self.company.as_str()),
            ("status", self.status.as_str()),
            ("notes", self.notes.as_str()),
        ];
        if let Some(card) = &self.card {
            out.push(("card", card.as_str()));
        }
        out
    }
}

impl Settings {
    /// The database file path inside `database.url` (`sqlite://path` or `sqlite:path`).
    pub fn database_path(&self) -> Option<PathBuf> {
        let url = self.database.url.as_str();
        let rest = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))?;
        let path = rest.split('?').next().unwrap_or(rest);
        (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
    }

    /// Whether `database.url` names a PostgreSQL server (`postgres://…` or `postgresql://…`,
    /// with a host: CONTRACT §9).
    pub fn database_is_postgres(&self) -> bool {
        let url = self.database.url.as_str();
        let rest = (url.strip_prefix("postgres://")).or_else(|| url.strip_prefix("postgresql://"));
        rest.is_some_and(|rest| !rest.is_empty() && !rest.starts_with('/'))
    }

    /// The callback URL Trello delivers to, from `server.public_url`.
    pub fn trello_callback_url(&self) -> String {
        format!("{}/webhooks/trello", self.server.public_url)
    }

    pub fn mirror(&self, name: &str) -> Option<&super::MirrorSettings> {
        self.mirrors.iter().find(|m| m.name == name)
    }

    pub fn pair(&self, name: &str) -> Option<&PairSettings> {
        self.pairs.iter().find(|p| p.name == name)
    }
}
