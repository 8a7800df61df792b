//! Webhook events as leadsync consumes them. One parse function per source, called by the
//! webhook door before an event is stored and by the inbox worker on the stored bytes: what the
//! door accepted, the worker parses, because it is the same function over the same bytes.
//! `signature` proves where an event came from (`Unverified` → `Verified<RawEvent>`); it sits
//! here, below both the HTTP door that verifies and the store that keeps only verified events.

mod record_change;
mod sheet_event;
pub mod signature;
pub mod trello_event;

use crate::model::board::BoardEvent;

pub use record_change::{RecordChangeEvent, RecordChangeKind};
pub use sheet_event::{SheetEvent, SheetEventKind, SheetEventRow};

/// Which outside system sent an event; stored with it in the inbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    Trello,
    Sheets,
    /// A record change read from Airtable's webhook payloads.
    Airtable,
    /// A page's change read by Notion's change feed (after an event, or by polling).
    Notion,
}

impl Source {
    /// The stable text stored in the database and used as a metrics label.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Trello => "trello",
            Source::Sheets => "sheets",
            Source::Airtable => "airtable",
            Source::Notion => "notion",
        }
    }

    /// The source named by [`Source::as_str`].
    pub fn from_stored(text: &str) -> Option<Self> {
        match text {
            "trello" => Some(Source::Trello),
            "sheets" => Some(Source::Sheets),
            "airtable" => Some(Source::Airtable),
            "notion" => Some(Source::Notion),
            _ => None,
        }
    }
}

// The door's paths live here, not in `http`, because the operator commands (`admin`) print
// them too and must not import the HTTP layer.
/// Path Trello delivers to, below `server.public_url`.
pub const TRELLO_PATH: &str = "/webhooks/trello";
/// Path the Apps Script delivers to, below `server.public_url`.
pub const SHEETS_PATH: &str = "/webhooks/sheets";
/// Path Airtable pings when a base webhook has new payloads, below `server.public_url`.
pub const AIRTABLE_PATH: &str = "/webhooks/airtable";
/// Path of the Notion subscription (the user sets it in the integration's settings).
pub const NOTION_PATH: &str = "/webhooks/notion";

/// A parsed webhook event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InboundEvent {
    /// Boxed: a Trello action is several times the size of the Apps Script envelope.
    Trello(Box<BoardEvent>),
    Sheets(SheetEvent),
    /// A tracker record's change read from its change feed (Airtable's payloads); the inbox's
    /// `source` names the tracker, the event is the same for every record-keyed tracker.
    Record(RecordChangeEvent),
}

/// Why a body is not an event of its source; the text names the field at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadEvent(String);

/// Longest error text kept: serde quotes offending values, and a body may be a megabyte.
const MAX_DETAIL: usize = 240;

impl BadEvent {
    fn new(mut text: String) -> Self {
        if text.len() > MAX_DETAIL {
            let mut end = MAX_DETAIL;
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            text.truncate(end);
            text.push('…');
        }
        Self(text)
    }
}

impl InboundEvent {
    /// Parses a body of `source`.
    pub fn parse(source: Source, body: &[u8]) -> Result<Self, BadEvent> {
        match source {
            Source::Trello => Self::parse_trello(body).map(|e| Self::Trello(Box::new(e))),
            Source::Sheets => Self::parse_sheet(body).map(Self::Sheets),
            Source::Airtable | Source::Notion => {
                utf8(body)?;
                RecordChangeEvent::parse(body)
                    .map(Self::Record)
                    .map_err(|e| BadEvent::new(format!("not a record change: {e}")))
            }
        }
    }

    /// Parses an inbox row (its `source` column and body).
    pub fn parse_stored(source: &str, body: &[u8]) -> Result<Self, BadEvent> {
        let source = Source::from_stored(source)
            .ok_or_else(|| BadEvent::new(format!("unknown inbox source {source}")))?;
        Self::parse(source, body)
    }

    /// A Trello delivery's action.
    pub fn parse_trello(body: &[u8]) -> Result<BoardEvent, BadEvent> {
        utf8(body)?;
        trello_event::parse(body).map_err(|e| BadEvent::new(e.to_string()))
    }

    /// An Apps Script event.
    pub fn parse_sheet(body: &[u8]) -> Result<SheetEvent, BadEvent> {
        utf8(body)?;
        SheetEvent::parse(body).map_err(|e| BadEvent::new(format!("not an Apps Script event: {e}")))
    }
}

/// JSON travels as UTF-8 (RFC 8259 §8.1): a body that is not is refused whole, even where its
/// bad bytes sit in a field leadsync would not read.
fn utf8(body: &[u8]) -> Result<(), BadEvent> {
    std::str::from_utf8(body).map(drop).map_err(|e| {
        BadEvent::new(format!(
            "body is not UTF-8 (invalid byte at offset {})",
            e.valid_up_to()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACTION: &str = r#"{"action":{"id":"a1","idMemberCreator":"m1","type":"updateCard","date":"2026-11-21T10:15:02.123Z","data":{"card":{"id":"c1","name":"NAME"}}},"model":{"id":"b1"}}"#;

    #[test]
    fn each_source_parses_into_its_own_event() {
        let trello = InboundEvent::parse_stored("trello", ACTION.as_bytes()).unwrap();
        assert!(
            matches!(&trello, InboundEvent::Trello(e) if matches!(**e, BoardEvent::UpdateCard { .. }))
        );
        let sheet = br#"{"spreadsheet_id":"s","sheet":"Leads","kind":"change","edited_at":"2026-11-21T10:15:02Z"}"#;
        let sheets = InboundEvent::parse_stored("sheets", sheet).unwrap();
        assert!(matches!(sheets, InboundEvent::Sheets(_)));
        assert_eq!(
            Source::from_stored(Source::Sheets.as_str()),
            Some(Source::Sheets)
        );
        let unknown = InboundEvent::parse_stored("fax", sheet).unwrap_err();
        assert_eq!(unknown.to_string(), "unknown inbox source fax");
    }

    #[test]
    fn invalid_utf8_is_refused_even_in_a_field_nobody_reads() {
        let mut body = ACTION
            .replace(
                r#""model":{"id":"b1"}"#,
                r#""model":{"id":"b1","desc":"XX"}"#,
            )
            .into_bytes();
        let at = body.windows(2).position(|w| w == b"XX").unwrap();
        body[at] = 0xff;
        let error = InboundEvent::parse(Source::Trello, &body).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!("body is not UTF-8 (invalid byte at offset {at})")
        );
    }

    #[test]
    fn a_lone_surrogate_in_a_field_the_worker_reads_is_refused_by_path() {
        let body = ACTION.replace("NAME", r"\udc00 x");
        let error = InboundEvent::parse(Source::Trello, body.as_bytes()).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("not a Trello action: action.data.card.name: "),
            "{error}"
        );
    }

    #[test]
    fn a_long_error_is_cut_to_a_readable_length() {
        let long = "é".repeat(1000);
        // serde quotes a value of the wrong type in its message.
        let body = ACTION.replace(r#""NAME""#, &format!(r#""x","closed":"{long}""#));
        let error = InboundEvent::parse(Source::Trello, body.as_bytes()).unwrap_err();
        let text = error.to_string();
        assert!(text.len() <= MAX_DETAIL + '…'.len_utf8(), "{}", text.len());
        assert!(text.ends_with('…'));
    }
}
