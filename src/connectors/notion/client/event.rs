//! What Notion POSTs to a subscription URL, parsed strictly: the unsigned verification request
//! `{"verification_token"}` or an event `{"id", "timestamp", "type", "entity": {"id", "type"},
//! "authors": [...], "data": {...}}` that names a page only. Pure; the signature is checked first
//! (`verify.rs`) on the raw bytes, this reads them afterwards.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

/// One POST from Notion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// Sent once when the subscription is created; carries the token later events are signed with.
    Verification {
        token: String,
    },
    Event(Event),
}

/// An event: the daemon reads the page itself before merging.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Event {
    /// Unique per event: the inbox's dedupe key.
    pub id: String,
    pub timestamp: DateTime<Utc>,
    /// `page.created`, `page.properties_updated`, `page.deleted`, `page.undeleted`, …
    #[serde(rename = "type")]
    pub kind: String,
    pub entity: Entity,
    #[serde(default)]
    pub authors: Vec<Author>,
    /// The parent data source, when Notion names it (`data.parent.id`).
    #[serde(skip)]
    pub parent_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Entity {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
}

/// Who made the change: `person`, `bot` or `agent`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Author {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
}

impl Event {
    /// The page the event is about, when it is about a page.
    pub fn page_id(&self) -> Option<&str> {
        (self.entity.kind == "page").then_some(self.entity.id.as_str())
    }
}

/// The body as a verification request or an event; an error names what is wrong.
pub fn parse_delivery(raw: &[u8]) -> Result<Delivery, String> {
    let v: Value = serde_json::from_slice(raw)
        .map_err(|e| format!("not JSON (line {} column {})", e.line(), e.column()))?;
    let obj = v.as_object().ok_or("not a JSON object")?;
    if let Some(token) = obj.get("verification_token") {
        let token = token
            .as_str()
            .filter(|t| !t.is_empty())
            .ok_or("verification_token is not a non-empty string")?;
        return Ok(Delivery::Verification {
            token: token.to_owned(),
        });
    }
    let mut event: Event = serde_path_to_error::deserialize(&v)
        .map_err(|e| format!("event: {} at {}", e.inner(), e.path()))?;
    event.parent_id = v["data"]["parent"]["id"].as_str().map(str::to_owned);
    Ok(Delivery::Event(event))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_verification_request_carries_its_token() {
        let body = br#"{"verification_token": "secret_abc"}"#;
        let token = "secret_abc".to_owned();
        assert_eq!(parse_delivery(body), Ok(Delivery::Verification { token }));
        let empty = br#"{"verification_token": ""}"#;
        assert!(
            parse_delivery(empty)
                .unwrap_err()
                .contains("verification_token")
        );
    }

    #[test]
    fn an_event_names_its_page_authors_and_parent() {
        let body = json!({"id": "ev1", "timestamp": "2026-01-05T10:05:31.123Z",
            "type": "page.properties_updated", "entity": {"id": "p1", "type": "page"},
            "authors": [{"id": "u1", "type": "person"}],
            "data": {"parent": {"id": "ds1", "type": "data_source"}, "updated_properties": ["a"]}});
        let Ok(Delivery::Event(e)) = parse_delivery(body.to_string().as_bytes()) else {
            panic!("not an event");
        };
        assert_eq!(
            (e.id.as_str(), e.kind.as_str()),
            ("ev1", "page.properties_updated")
        );
        assert_eq!(e.page_id(), Some("p1"));
        assert_eq!(e.authors[0].kind, "person");
        assert_eq!(e.parent_id.as_deref(), Some("ds1"));
    }

    #[test]
    fn a_malformed_body_is_named() {
        assert!(parse_delivery(b"nope").unwrap_err().starts_with("not JSON"));
        assert_eq!(parse_delivery(b"[1]").unwrap_err(), "not a JSON object");
        let no_entity =
            json!({"id": "e", "timestamp": "2026-01-05T10:05:31Z", "type": "page.created"});
        let err = parse_delivery(no_entity.to_string().as_bytes()).unwrap_err();
        assert!(err.contains("entity"), "{err}");
    }
}
