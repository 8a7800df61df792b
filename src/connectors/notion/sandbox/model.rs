//! The emulator's state: databases (one data source each), data sources with their property
//! schema, pages with plain-text property values, and how Notion renders each of them (times
//! rounded down to the minute, rich text as 2,000-character text objects).

use std::collections::BTreeMap;

use chrono::{DateTime, DurationRound, SecondsFormat, TimeDelta, Utc};
use serde_json::{Value, json};

use super::error::ApiError;

/// Who made a change: `last_edited_by` on the page and `authors` on its event.
#[derive(Clone, Debug)]
pub struct Author {
    pub id: String,
    /// `bot` or `person`.
    pub kind: &'static str,
}

impl Author {
    pub fn user(&self) -> Value {
        json!({"object": "user", "id": self.id})
    }
}

/// The property types the emulator knows.
pub const PROPERTY_TYPES: [&str; 7] = [
    "title",
    "rich_text",
    "email",
    "phone_number",
    "status",
    "select",
    "url",
];
/// The longest `text.content` Notion accepts in one rich-text object.
pub const TEXT_LIMIT: usize = 2000;

pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Notion's timestamps: rounded down to the minute, RFC 3339 with milliseconds.
pub fn minute(t: DateTime<Utc>) -> DateTime<Utc> {
    t.duration_trunc(TimeDelta::minutes(1)).unwrap_or(t)
}

pub fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[derive(Clone, Debug)]
pub struct PropDef {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub options: Vec<String>,
}

impl PropDef {
    fn render(&self) -> Value {
        let config = match self.kind.as_str() {
            "select" | "status" => {
                let options: Vec<Value> = self
                    .options
                    .iter()
                    .map(|o| json!({"id": option_id(o), "name": o, "color": "default"}))
                    .collect();
                json!({ "options": options })
            }
            _ => json!({}),
        };
        json!({"id": self.id, "name": self.name, "type": self.kind, self.kind.as_str(): config})
    }
}

/// Option ids are stable per name, as Notion's are per option.
fn option_id(name: &str) -> String {
    let h = name
        .bytes()
        .fold(5381u32, |h, b| h.wrapping_mul(33) ^ u32::from(b));
    format!("{h:08x}")
}

#[derive(Clone, Debug)]
pub struct DataSourceState {
    pub id: String,
    pub database_id: String,
    pub name: String,
    pub properties: Vec<PropDef>,
}

impl DataSourceState {
    pub fn prop(&self, name_or_id: &str) -> Option<&PropDef> {
        self.properties
            .iter()
            .find(|p| p.name == name_or_id || p.id == name_or_id)
    }

    pub fn render(&self) -> Value {
        let props: serde_json::Map<String, Value> = self
            .properties
            .iter()
            .map(|p| (p.name.clone(), p.render()))
            .collect();
        json!({"object": "data_source", "id": self.id, "title": rich_text(&self.name),
            "parent": {"type": "database_id", "database_id": self.database_id},
            "properties": props})
    }
}

#[derive(Clone, Debug)]
pub struct PageState {
    pub id: String,
    pub data_source_id: String,
    pub created_time: DateTime<Utc>,
    pub created_by: Value,
    pub last_edited_time: DateTime<Utc>,
    pub last_edited_by: Value,
    pub in_trash: bool,
    /// Plain text by property name; absent means empty.
    pub values: BTreeMap<String, String>,
}

impl PageState {
    pub fn render(&self, ds: &DataSourceState) -> Value {
        let props: serde_json::Map<String, Value> = ds
            .properties
            .iter()
            .map(|p| {
                let text = self.values.get(&p.name).map_or("", String::as_str);
                let mut v = value_json(&p.kind, text);
                v["id"] = json!(p.id);
                v["type"] = json!(p.kind);
                (p.name.clone(), v)
            })
            .collect();
        json!({"object": "page", "id": self.id,
            "created_time": stamp(minute(self.created_time)), "created_by": self.created_by,
            "last_edited_time": stamp(minute(self.last_edited_time)),
            "last_edited_by": self.last_edited_by,
            "in_trash": self.in_trash, "archived": self.in_trash,
            "parent": {"type": "data_source_id", "data_source_id": self.data_source_id,
                "database_id": ds.database_id},
            "url": format!("https://www.notion.so/{}", self.id.replace('-', "")),
            "properties": props})
    }
}

/// `[{"type": "text", …}]` for plain text, split at [`TEXT_LIMIT`] characters.
pub fn rich_text(text: &str) -> Value {
    let chars: Vec<char> = text.chars().collect();
    let items: Vec<Value> = chars
        .chunks(TEXT_LIMIT)
        .map(|c| {
            let s: String = c.iter().collect();
            json!({"type": "text", "text": {"content": s, "link": null}, "annotations": {
                "bold": false, "italic": false, "strikethrough": false, "underline": false,
                "code": false, "color": "default"}, "plain_text": s, "href": null})
        })
        .collect();
    Value::Array(items)
}

/// A value as Notion renders it (`{"<type>": …}`); also the body the `user_*` methods write.
pub fn value_json(kind: &str, text: &str) -> Value {
    let empty = text.is_empty();
    match kind {
        "title" | "rich_text" => json!({ kind: rich_text(text) }),
        "select" | "status" if empty => json!({ kind: null }),
        "select" | "status" => {
            json!({ kind: {"id": option_id(text), "name": text, "color": "default"} })
        }
        _ if empty => json!({ kind: null }),
        _ => json!({ kind: text }),
    }
}

/// One property value of a write, checked against its definition, as plain text. A select
/// gains an unknown option (as Notion's API does); a status does not.
pub fn parse_value(def: &mut PropDef, v: &Value) -> Result<String, ApiError> {
    let name = def.name.clone();
    let bad = |what: &str| ApiError::validation(format!("body.properties.{name}.{what}"));
    let inner = v.get(def.kind.as_str()).ok_or_else(|| {
        bad(&format!(
            "{} should be defined, instead was `undefined`.",
            def.kind
        ))
    })?;
    match def.kind.as_str() {
        "title" | "rich_text" => {
            let items = inner.as_array().ok_or_else(|| bad("should be an array"))?;
            let mut text = String::new();
            for item in items {
                let content = item["text"]["content"]
                    .as_str()
                    .ok_or_else(|| bad("text.content should be a string"))?;
                if content.chars().count() > TEXT_LIMIT {
                    return Err(bad("text.content.length should be ≤ `2000`."));
                }
                text.push_str(content);
            }
            Ok(text)
        }
        "select" | "status" if inner.is_null() => Ok(String::new()),
        "select" | "status" => {
            let option = inner["name"]
                .as_str()
                .ok_or_else(|| bad("name should be a string"))?;
            if !def.options.iter().any(|o| o == option) {
                if def.kind == "status" {
                    return Err(bad(&format!("status: option \"{option}\" does not exist")));
                }
                def.options.push(option.to_owned());
            }
            Ok(option.to_owned())
        }
        _ if inner.is_null() => Ok(String::new()),
        _ => inner
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| bad("should be a string or `null`")),
    }
}

/// Everything the emulator holds.
#[derive(Default)]
pub struct Store {
    /// Database id → its one data source's id.
    pub databases: BTreeMap<String, String>,
    pub data_sources: BTreeMap<String, DataSourceState>,
    pub pages: BTreeMap<String, PageState>,
    /// Pages in creation order (the query's order without sorts).
    pub order: Vec<String>,
    /// Open query cursors, oldest first: each with the result ids still to answer.
    pub cursors: std::collections::VecDeque<(String, Vec<String>)>,
}

impl Store {
    pub fn render_database(&self, id: &str) -> Option<Value> {
        let ds = self.data_sources.get(self.databases.get(id)?)?;
        Some(
            json!({"object": "database", "id": id, "title": rich_text(&ds.name),
            "data_sources": [{"id": ds.id, "name": ds.name}]}),
        )
    }

    pub fn render_page(&self, id: &str) -> Option<Value> {
        let page = self.pages.get(id)?;
        Some(page.render(self.data_sources.get(&page.data_source_id)?))
    }
}
