//! A record change fetched from a tracker's change feed (Airtable's webhook payloads), as it is
//! stored in the inbox and read by the worker. Unlike Trello and Apps Script events it is not a
//! delivery: a notification only says "fetch", and the changes are read with the token, so its
//! authenticity is the API call's, not a signature's.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What happened to the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RecordChangeKind {
    Created,
    Changed,
    Destroyed,
}

/// One record's change in one transaction of the tracker, cells as text by field name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordChangeEvent {
    /// The tracker's record id: the lead id (CONTRACT §7).
    pub record_id: String,
    pub kind: RecordChangeKind,
    /// Who made the change (Airtable `actionMetadata.source`: `client`, `publicApi`, …):
    /// leadsync writes through the public API, so only those can be its own writes coming back.
    pub source: String,
    /// The transaction's time, by the tracker's clock.
    pub timestamp: DateTime<Utc>,
    /// The cells this change set (every cell of a created record); `""` for a cleared one.
    #[serde(default)]
    pub changed: BTreeMap<String, String>,
    /// The record's other cells as they stood, when the feed carries them: what a lead first
    /// seen in this change needs, not a change of its own.
    #[serde(default)]
    pub unchanged: BTreeMap<String, String>,
}

impl RecordChangeEvent {
    /// True when the change may be leadsync's own write (made through the public API).
    pub fn by_api(&self) -> bool {
        self.source == "publicApi"
    }

    /// Parses and checks a stored body; the error names the field at fault.
    pub(super) fn parse(body: &[u8]) -> Result<Self, String> {
        let event: Self = serde_json::from_slice(body).map_err(|e| e.to_string())?;
        if event.record_id.trim().is_empty() {
            return Err("record_id must not be empty".into());
        }
        Ok(event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_round_trips_and_an_empty_record_id_is_refused() {
        let event = RecordChangeEvent {
            record_id: "rec1".into(),
            kind: RecordChangeKind::Changed,
            source: "client".into(),
            timestamp: "2026-11-21T10:15:02Z".parse().unwrap(),
            changed: [("Status".to_owned(), "Contacted".to_owned())].into(),
            unchanged: [("Name".to_owned(), "Ada".to_owned())].into(),
        };
        let body = serde_json::to_vec(&event).unwrap();
        assert_eq!(RecordChangeEvent::parse(&body).unwrap(), event);
        assert!(!event.by_api());
        let bad = br#"{"record_id":" ","kind":"changed","source":"client","timestamp":"2026-11-21T10:15:02Z"}"#;
        assert_eq!(
            RecordChangeEvent::parse(bad).unwrap_err(),
            "record_id must not be empty"
        );
    }
}
