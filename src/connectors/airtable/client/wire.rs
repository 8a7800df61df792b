//! Airtable's JSON shapes, defined once: records, schema, webhooks and their payloads. Only the
//! fields leadsync reads are declared; unknown ones are ignored, so additions by Airtable are
//! harmless.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use secrecy::SecretString;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Value, json};

/// One cell. The records API reads every leadsync field type as a string (a single select as its
/// choice's name); webhook payloads write a select as `{"id", "name", "color"}` and a cleared cell
/// as `null`. An absent cell is empty.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Cell {
    #[default]
    Empty,
    Text(String),
    /// A single-select choice as payloads carry it.
    Select {
        id: String,
        name: String,
    },
    /// Any other value (numbers, lists, collaborators): leadsync maps none of them.
    Other(Value),
}

/// What an absent cell reads as.
pub static EMPTY: Cell = Cell::Empty;

impl Cell {
    /// The cell as text: `""` when empty, a select's choice name, `None` for other values.
    pub fn text(&self) -> Option<&str> {
        match self {
            Self::Empty => Some(""),
            Self::Text(s) => Some(s),
            Self::Select { name, .. } => Some(name),
            Self::Other(_) => None,
        }
    }

    pub fn is_empty(&self) -> bool {
        matches!(self, Self::Empty)
    }

    fn from_json(v: Value) -> Self {
        match v {
            Value::Null => Self::Empty,
            Value::String(s) if s.is_empty() => Self::Empty,
            Value::String(s) => Self::Text(s),
            Value::Object(ref m) => {
                // Choice ids start with `sel`; a collaborator also has a name but is no choice.
                let id = m.get("id").and_then(Value::as_str);
                let name = m.get("name").and_then(Value::as_str);
                match (id, name) {
                    (Some(id), Some(name)) if id.starts_with("sel") => Self::Select {
                        id: id.to_owned(),
                        name: name.to_owned(),
                    },
                    _ => Self::Other(v),
                }
            }
            other => Self::Other(other),
        }
    }
}

impl From<&str> for Cell {
    fn from(s: &str) -> Self {
        Self::from_json(Value::String(s.to_owned()))
    }
}

impl<'de> Deserialize<'de> for Cell {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Value::deserialize(d).map(Self::from_json)
    }
}

/// Written as Airtable takes it: empty is `null` (which clears the cell), a select its name.
impl Serialize for Cell {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Empty => s.serialize_none(),
            Self::Text(t) => s.serialize_str(t),
            Self::Select { name, .. } => s.serialize_str(name),
            Self::Other(v) => v.serialize(s),
        }
    }
}

/// Cells by field name (records API) or by field id (payloads).
pub type Fields = BTreeMap<String, Cell>;

/// A record as the records API answers it; empty cells are absent from `fields`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    pub id: String,
    pub created_time: DateTime<Utc>,
    #[serde(default)]
    pub fields: Fields,
}

impl Record {
    /// The named cell; an absent one is empty.
    pub fn cell(&self, field: &str) -> &Cell {
        self.fields.get(field).unwrap_or(&EMPTY)
    }
}

/// One record of an update: the cells to set (PATCH: the others stay as they are).
#[derive(Debug, Clone, PartialEq)]
pub struct RecordUpdate {
    pub id: String,
    pub fields: Fields,
}

#[derive(Debug, Deserialize)]
pub(super) struct ListWire {
    pub records: Vec<Record>,
    #[serde(default)]
    pub offset: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct RecordsWire {
    pub records: Vec<Record>,
}

#[derive(Debug, Deserialize)]
pub(super) struct DeletedWire {
    pub records: Vec<DeletedRecordWire>,
}

#[derive(Debug, Deserialize)]
pub(super) struct DeletedRecordWire {
    pub id: String,
    #[serde(default)]
    pub deleted: bool,
}

/// `GET /v0/meta/bases/{base}/tables`
#[derive(Debug, Deserialize)]
pub(super) struct TablesWire {
    pub tables: Vec<Table>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Table {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub primary_field_id: String,
    #[serde(default)]
    pub fields: Vec<Field>,
}

impl Table {
    /// The field with this id, or else with this name (ignoring case and surrounding spaces).
    pub fn field(&self, id_or_name: &str) -> Option<&Field> {
        let wanted = id_or_name.trim().to_lowercase();
        (self.fields.iter().find(|f| f.id == id_or_name))
            .or_else(|| (self.fields.iter()).find(|f| f.name.trim().to_lowercase() == wanted))
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Field {
    pub id: String,
    pub name: String,
    /// Airtable's type name: `singleLineText`, `email`, `singleSelect`, …
    #[serde(rename = "type")]
    pub field_type: String,
    #[serde(default)]
    pub options: Option<FieldOptions>,
}

impl Field {
    /// A select's choices (none for other types).
    pub fn choices(&self) -> &[Choice] {
        self.options.as_ref().map_or(&[], |o| &o.choices)
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct FieldOptions {
    #[serde(default)]
    pub choices: Vec<Choice>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Choice {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub color: Option<String>,
}

/// The field types `leadsync check --fix` creates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NewFieldType {
    SingleLineText,
    Email,
    PhoneNumber,
    MultilineText,
    Url,
    /// With these choices, in order.
    SingleSelect(Vec<String>),
}

impl NewFieldType {
    /// The body of `POST …/tables/{table}/fields`.
    pub(super) fn body(&self, name: &str) -> Value {
        let kind = match self {
            Self::SingleLineText => "singleLineText",
            Self::Email => "email",
            Self::PhoneNumber => "phoneNumber",
            Self::MultilineText => "multilineText",
            Self::Url => "url",
            Self::SingleSelect(choices) => {
                let choices: Vec<Value> = choices.iter().map(|c| json!({"name": c})).collect();
                return json!({"name": name, "type": "singleSelect",
                    "options": {"choices": choices}});
            }
        };
        json!({"name": name, "type": kind})
    }
}

/// The answer to creating a webhook: the MAC secret is shown this once.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatedWebhook {
    pub id: String,
    pub mac_secret_base64: SecretString,
    pub expiration_time: DateTime<Utc>,
}

#[derive(Debug, Deserialize)]
pub(super) struct WebhooksWire {
    pub webhooks: Vec<Webhook>,
}

/// A webhook as the list answers it (without its secret).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Webhook {
    pub id: String,
    #[serde(default)]
    pub notification_url: Option<String>,
    /// Absent for webhooks without a notification URL in Airtable's answers.
    #[serde(default)]
    pub expiration_time: Option<DateTime<Utc>>,
    #[serde(default)]
    pub is_hook_enabled: bool,
    #[serde(default)]
    pub are_notifications_enabled: bool,
    #[serde(default)]
    pub cursor_for_next_payload: u64,
    #[serde(default)]
    pub specification: Value,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct RefreshWire {
    pub expiration_time: DateTime<Utc>,
}

/// One page of `GET …/webhooks/{id}/payloads`: `cursor` is where the next read starts.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PayloadPage {
    pub payloads: Vec<Payload>,
    pub cursor: u64,
    pub might_have_more: bool,
}

/// One transaction's changes to the base.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Payload {
    pub timestamp: DateTime<Utc>,
    pub base_transaction_number: u64,
    pub action_metadata: ActionMetadata,
    #[serde(default)]
    pub changed_tables_by_id: BTreeMap<String, TableChanges>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionMetadata {
    /// `client` (the browser), `publicApi` (a token, leadsync included), `automation`, …
    pub source: String,
    #[serde(default)]
    pub source_metadata: Value,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TableChanges {
    #[serde(default)]
    pub created_records_by_id: BTreeMap<String, CreatedRecord>,
    #[serde(default)]
    pub changed_records_by_id: BTreeMap<String, ChangedRecord>,
    #[serde(default)]
    pub destroyed_record_ids: Vec<String>,
}

/// Cells by field id.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CellValues {
    #[serde(default)]
    pub cell_values_by_field_id: Fields,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatedRecord {
    pub created_time: DateTime<Utc>,
    #[serde(default)]
    pub cell_values_by_field_id: Fields,
}

/// `current` holds the changed cells (`null` when cleared); `previous` their values before, when
/// the webhook asked for them; `unchanged` the other cells it asked for.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ChangedRecord {
    pub current: CellValues,
    #[serde(default)]
    pub previous: Option<CellValues>,
    #[serde(default)]
    pub unchanged: Option<CellValues>,
}
