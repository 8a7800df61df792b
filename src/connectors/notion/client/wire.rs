//! Notion's JSON shapes, defined once: databases with their data sources, a data source's
//! property schema, pages, and each supported property type's value as a plain string (read)
//! and back as Notion's JSON (write). Rich text is plain text: formatting is dropped on read and
//! a long value is written as 2,000-character text objects, Notion's limit per object.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Value, json};

/// The longest `text.content` Notion accepts in one rich-text object.
pub const TEXT_CHUNK: usize = 2000;

/// The property types leadsync reads and writes; anything else is `Other(type)`, kept so a
/// check can name it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PropertyType {
    Title,
    RichText,
    Email,
    PhoneNumber,
    Status,
    Select,
    Url,
    Other(String),
}

impl PropertyType {
    pub fn parse(name: &str) -> Self {
        match name {
            "title" => Self::Title,
            "rich_text" => Self::RichText,
            "email" => Self::Email,
            "phone_number" => Self::PhoneNumber,
            "status" => Self::Status,
            "select" => Self::Select,
            "url" => Self::Url,
            other => Self::Other(other.to_owned()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::Title => "title",
            Self::RichText => "rich_text",
            Self::Email => "email",
            Self::PhoneNumber => "phone_number",
            Self::Status => "status",
            Self::Select => "select",
            Self::Url => "url",
            Self::Other(name) => name,
        }
    }
}

/// One property of a page as plain text ("" when empty).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PropertyValue {
    pub kind: PropertyType,
    pub text: String,
}

impl PropertyValue {
    pub fn new(kind: PropertyType, text: &str) -> Self {
        Self {
            kind,
            text: text.to_owned(),
        }
    }

    /// Reads `{"type": "...", "<type>": …}` as plain text.
    pub fn from_wire(v: &Value) -> Self {
        let kind = PropertyType::parse(v["type"].as_str().unwrap_or(""));
        let inner = &v[kind.as_str()];
        let text = match kind {
            PropertyType::Title | PropertyType::RichText => join_rich_text(inner),
            PropertyType::Email | PropertyType::PhoneNumber | PropertyType::Url => {
                inner.as_str().unwrap_or("").to_owned()
            }
            PropertyType::Status | PropertyType::Select => {
                inner["name"].as_str().unwrap_or("").to_owned()
            }
            PropertyType::Other(_) => String::new(),
        };
        Self { kind, text }
    }

    /// The value as Notion takes it in a page's `properties`; an empty text clears it.
    pub fn to_wire(&self) -> Result<Value, String> {
        let t = self.text.as_str();
        let empty = t.is_empty();
        Ok(match &self.kind {
            PropertyType::Title => json!({ "title": split_rich_text(t) }),
            PropertyType::RichText => json!({ "rich_text": split_rich_text(t) }),
            PropertyType::Email if empty => json!({ "email": null }),
            PropertyType::Email => json!({ "email": t }),
            PropertyType::PhoneNumber if empty => json!({ "phone_number": null }),
            PropertyType::PhoneNumber => json!({ "phone_number": t }),
            PropertyType::Url if empty => json!({ "url": null }),
            PropertyType::Url => json!({ "url": t }),
            PropertyType::Status if empty => json!({ "status": null }),
            PropertyType::Status => json!({ "status": { "name": t } }),
            PropertyType::Select if empty => json!({ "select": null }),
            PropertyType::Select => json!({ "select": { "name": t } }),
            PropertyType::Other(name) => {
                return Err(format!("property type {name} cannot be written"));
            }
        })
    }
}

/// The plain text of a rich-text array: every object's `plain_text` (or `text.content`) joined.
pub fn join_rich_text(items: &Value) -> String {
    let Some(items) = items.as_array() else {
        return String::new();
    };
    items
        .iter()
        .map(|i| {
            i["plain_text"]
                .as_str()
                .or_else(|| i["text"]["content"].as_str())
                .unwrap_or("")
        })
        .collect()
}

/// Plain text as text objects of at most [`TEXT_CHUNK`] characters each; "" is `[]`.
pub fn split_rich_text(text: &str) -> Value {
    let chars: Vec<char> = text.chars().collect();
    let items: Vec<Value> = chars
        .chunks(TEXT_CHUNK)
        .map(|c| {
            let content: String = c.iter().collect();
            json!({ "type": "text", "text": { "content": content } })
        })
        .collect();
    Value::Array(items)
}

/// Properties to write, by property name.
pub type Properties = BTreeMap<String, PropertyValue>;

/// `properties` as Notion's JSON object; names an unwritable property.
pub fn properties_to_wire(props: &Properties) -> Result<Value, String> {
    let mut out = serde_json::Map::new();
    for (name, value) in props {
        let wire = value.to_wire().map_err(|e| format!("{name}: {e}"))?;
        out.insert(name.clone(), wire);
    }
    Ok(Value::Object(out))
}

/// A page: its id, times (Notion rounds `last_edited_time` down to the minute), last editor,
/// whether it is in the trash, and its properties as plain text.
#[derive(Clone, Debug, Deserialize)]
pub struct Page {
    pub id: String,
    pub created_time: chrono::DateTime<chrono::Utc>,
    pub last_edited_time: chrono::DateTime<chrono::Utc>,
    pub last_edited_by: UserRef,
    #[serde(default)]
    pub in_trash: bool,
    #[serde(default)]
    pub parent: Value,
    #[serde(deserialize_with = "de_properties")]
    pub properties: Properties,
}

impl Page {
    /// The data source the page belongs to, when its parent is one.
    pub fn data_source_id(&self) -> Option<&str> {
        self.parent["data_source_id"].as_str()
    }

    /// A property's plain text, "" when absent.
    pub fn text(&self, name: &str) -> &str {
        self.properties.get(name).map_or("", |p| p.text.as_str())
    }

    /// The property a column header names (case and spaces around it aside).
    pub fn property_named(&self, header: &str) -> Option<&String> {
        let header = header.trim().to_lowercase();
        (self.properties.keys()).find(|n| n.trim().to_lowercase() == header)
    }
}

fn de_properties<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Properties, D::Error> {
    let raw = BTreeMap::<String, Value>::deserialize(d)?;
    Ok(raw
        .into_iter()
        .map(|(k, v)| (k, PropertyValue::from_wire(&v)))
        .collect())
}

/// A page id as a lead id: the contract's form, 32 lowercase hex digits without dashes (Notion
/// answers ids with dashes and accepts both).
pub fn compact_id(id: &str) -> String {
    id.chars()
        .filter(|c| *c != '-')
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// A user as pages name them: `{"object": "user", "id"}`, the id only (whether it is a bot or a
/// person is not said; leadsync compares it with its own bot's, `GET /v1/users/me`).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct UserRef {
    pub id: String,
}

/// One page of a query's results.
#[derive(Debug, Deserialize)]
pub struct QueryPage {
    pub results: Vec<Page>,
    pub next_cursor: Option<String>,
    #[serde(default)]
    pub has_more: bool,
}

/// A database: since API version 2025-09-03 it holds data sources, which hold the pages.
#[derive(Clone, Debug, Deserialize)]
pub struct Database {
    pub id: String,
    #[serde(default)]
    pub data_sources: Vec<DataSourceRef>,
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct DataSourceRef {
    pub id: String,
    #[serde(default)]
    pub name: String,
}

/// A data source's schema: its properties by name.
#[derive(Clone, Debug, Deserialize)]
pub struct DataSource {
    pub id: String,
    #[serde(deserialize_with = "de_schema")]
    pub properties: BTreeMap<String, PropertySchema>,
}

/// One property of a data source: id, type, and the option names of a select or status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PropertySchema {
    pub id: String,
    pub name: String,
    pub kind: PropertyType,
    pub options: Vec<String>,
}

fn de_schema<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<String, PropertySchema>, D::Error> {
    let raw = BTreeMap::<String, Value>::deserialize(d)?;
    Ok(raw
        .into_iter()
        .map(|(name, v)| {
            let kind = PropertyType::parse(v["type"].as_str().unwrap_or(""));
            let options = v[kind.as_str()]["options"]
                .as_array()
                .map(|o| {
                    o.iter()
                        .filter_map(|o| o["name"].as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            let schema = PropertySchema {
                id: v["id"].as_str().unwrap_or("").to_owned(),
                name: v["name"].as_str().unwrap_or(&name).to_owned(),
                kind,
                options,
            };
            (name, schema)
        })
        .collect())
}

/// A property to add to a data source (`--fix`): its type and, for a select or status, options.
#[derive(Clone, Debug)]
pub struct NewProperty {
    pub kind: PropertyType,
    pub options: Vec<String>,
}

impl NewProperty {
    /// `{"<type>": {…}}` as a data-source update takes it.
    pub fn to_wire(&self) -> Value {
        let config = match self.kind {
            PropertyType::Select | PropertyType::Status => {
                let options: Vec<Value> = self.options.iter().map(|o| json!({"name": o})).collect();
                json!({ "options": options })
            }
            _ => json!({}),
        };
        json!({ self.kind.as_str(): config })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_rich_text_is_split_in_2000_character_objects_and_joined_back() {
        let long: String = "é".repeat(4500);
        let wire = PropertyValue::new(PropertyType::RichText, &long)
            .to_wire()
            .unwrap();
        let items = wire["rich_text"].as_array().unwrap();
        let lens: Vec<usize> = items
            .iter()
            .map(|i| i["text"]["content"].as_str().unwrap().chars().count())
            .collect();
        assert_eq!(lens, [2000, 2000, 500]);
        let read = PropertyValue::from_wire(&json!({"type": "rich_text", "rich_text": items}));
        assert_eq!(read.text, long);
        assert_eq!(split_rich_text(""), json!([]));
    }

    #[test]
    fn a_page_id_is_compacted_to_32_hex_digits() {
        let id = "1A2B3C4D-5E6F-7081-92A3-B4C5D6E7F809";
        assert_eq!(compact_id(id), "1a2b3c4d5e6f708192a3b4c5d6e7f809");
        assert_eq!(compact_id(&compact_id(id)), compact_id(id));
    }

    #[test]
    fn every_type_round_trips_and_empty_values_clear() {
        let kinds = [
            (PropertyType::Title, "Ada"),
            (PropertyType::RichText, "notes"),
            (PropertyType::Email, "a@b.c"),
            (PropertyType::PhoneNumber, "+44 1"),
            (PropertyType::Status, "New"),
            (PropertyType::Select, "Won"),
            (PropertyType::Url, "https://trello.com/c/x"),
        ];
        for (kind, text) in kinds {
            for t in [text, ""] {
                let mut wire = PropertyValue::new(kind.clone(), t).to_wire().unwrap();
                wire["type"] = json!(kind.as_str());
                assert_eq!(
                    PropertyValue::from_wire(&wire),
                    PropertyValue::new(kind.clone(), t)
                );
            }
        }
        let other = PropertyValue::new(PropertyType::Other("formula".into()), "x");
        assert!(other.to_wire().unwrap_err().contains("formula"));
    }
}
