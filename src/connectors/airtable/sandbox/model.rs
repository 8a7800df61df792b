//! The emulated Airtable data: bases, tables, fields, records and webhooks, their ids, and the
//! JSON the REST and meta APIs render them as.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, SecondsFormat, Utc};
use rand::Rng;
use serde_json::{Value, json};

/// The field types the emulator knows (the ones a lead tracker uses).
pub const FIELD_TYPES: [&str; 6] = [
    "singleLineText",
    "multilineText",
    "email",
    "phoneNumber",
    "singleSelect",
    "url",
];

/// Colours Airtable gives new select choices, in order.
const CHOICE_COLORS: [&str; 8] = [
    "blueLight2",
    "cyanLight2",
    "tealLight2",
    "greenLight2",
    "yellowLight2",
    "orangeLight2",
    "redLight2",
    "purpleLight2",
];

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SandboxChoice {
    pub id: String,
    pub name: String,
    pub color: String,
}

#[derive(Clone, Debug)]
pub struct SandboxField {
    pub id: String,
    pub name: String,
    pub field_type: String,
    pub description: Option<String>,
    /// Only for `singleSelect`.
    pub choices: Vec<SandboxChoice>,
}

impl SandboxField {
    /// Adds a choice with the next colour; returns its id.
    pub fn add_choice(&mut self, name: &str) -> String {
        let id = new_id("sel");
        let color = CHOICE_COLORS[self.choices.len() % CHOICE_COLORS.len()].to_owned();
        self.choices.push(SandboxChoice {
            id: id.clone(),
            name: name.to_owned(),
            color,
        });
        id
    }
}

#[derive(Clone, Debug)]
pub struct SandboxRecord {
    pub id: String,
    pub created_time: DateTime<Utc>,
    /// Stored values by field id: the text itself, or a select's choice id. Empty cells are absent.
    pub cells: BTreeMap<String, String>,
}

#[derive(Clone, Debug)]
pub struct SandboxTable {
    pub id: String,
    pub name: String,
    /// The first field is the primary field.
    pub fields: Vec<SandboxField>,
    /// In creation order, which is the order of the default grid view.
    pub records: Vec<SandboxRecord>,
}

impl SandboxTable {
    pub fn field(&self, id: &str) -> Option<&SandboxField> {
        self.fields.iter().find(|f| f.id == id)
    }

    pub fn record(&self, id: &str) -> Option<&SandboxRecord> {
        self.records.iter().find(|r| r.id == id)
    }
}

#[derive(Clone, Debug)]
pub struct SandboxBase {
    pub id: String,
    pub name: String,
    pub tables: Vec<SandboxTable>,
    /// Whether the API token was granted this base (403 otherwise).
    pub token_access: bool,
    /// Increases with every change to the base's data.
    pub transaction: u64,
}

impl SandboxBase {
    /// A table by id or by (exact) name, as the records API accepts either.
    pub fn table(&self, id_or_name: &str) -> Option<&SandboxTable> {
        let by_id = self.tables.iter().find(|t| t.id == id_or_name);
        by_id.or_else(|| self.tables.iter().find(|t| t.name == id_or_name))
    }

    pub fn table_mut(&mut self, id_or_name: &str) -> Option<&mut SandboxTable> {
        let id = self.table(id_or_name)?.id.clone();
        self.tables.iter_mut().find(|t| t.id == id)
    }
}

#[derive(Clone, Debug)]
pub struct SandboxWebhook {
    pub id: String,
    pub base_id: String,
    pub notification_url: Option<String>,
    /// The raw MAC key; the API shows its base64 only in the creation answer.
    pub mac_secret: Vec<u8>,
    /// `specification` as given at creation.
    pub specification: Value,
    pub created_time: DateTime<Utc>,
    pub expiration_time: DateTime<Utc>,
    /// Payload `n` (cursor `n`) is at index `n - 1`.
    pub payloads: Vec<Value>,
}

impl SandboxWebhook {
    /// An expired webhook is disabled: it records no payload and sends no notification.
    pub fn is_enabled(&self, now: DateTime<Utc>) -> bool {
        now < self.expiration_time
    }

    pub fn cursor_for_next_payload(&self) -> u64 {
        self.payloads.len() as u64 + 1
    }
}

/// All emulated state; one lock around it keeps changes and their payloads in one order.
#[derive(Default)]
pub struct Model {
    pub bases: Vec<SandboxBase>,
    pub webhooks: Vec<SandboxWebhook>,
    /// List-records iterators: the record ids of the table when the first page was read.
    pub iterators: HashMap<String, Vec<String>>,
    /// How many of the next iterators expire as soon as their first page is served (a test's
    /// way to expire one between two pages without racing the client's pacing).
    pub expire_next_iterators: u32,
}

impl Model {
    pub fn base(&self, id: &str) -> Option<&SandboxBase> {
        self.bases.iter().find(|b| b.id == id)
    }

    pub fn base_mut(&mut self, id: &str) -> Option<&mut SandboxBase> {
        self.bases.iter_mut().find(|b| b.id == id)
    }

    pub fn webhook_mut(&mut self, base_id: &str, id: &str) -> Option<&mut SandboxWebhook> {
        self.webhooks
            .iter_mut()
            .find(|w| w.base_id == base_id && w.id == id)
    }
}

/// An Airtable-style id: a three-letter prefix (`app`, `tbl`, `fld`, `rec` …) and 14 characters.
pub fn new_id(prefix: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    let tail: String = (0..14)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect();
    format!("{prefix}{tail}")
}

pub fn airtable_time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub fn field_json(f: &SandboxField) -> Value {
    let mut v = json!({"id": f.id, "name": f.name, "type": f.field_type});
    if let Some(d) = &f.description {
        v["description"] = json!(d);
    }
    if f.field_type == "singleSelect" {
        let choices: Vec<Value> = f
            .choices
            .iter()
            .map(|c| json!({"id": c.id, "name": c.name, "color": c.color}))
            .collect();
        v["options"] = json!({ "choices": choices });
    }
    v
}

/// A table as the meta API's "get base schema" answers it, with its one grid view.
pub fn table_json(t: &SandboxTable) -> Value {
    let primary = t.fields.first().map(|f| f.id.clone());
    let fields: Vec<Value> = t.fields.iter().map(field_json).collect();
    let view = format!("viw{}", &t.id[3..]);
    json!({"id": t.id, "name": t.name, "primaryFieldId": primary, "fields": fields,
        "views": [{"id": view, "name": "Grid view", "type": "grid"}]})
}
