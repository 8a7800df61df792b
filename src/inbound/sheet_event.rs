//! The Apps Script event (CONTRACT §4), as the webhook door accepts it and the worker reads it.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Deserialize;

/// What `apps-script/Code.gs` sends (`envelope_`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SheetEvent {
    pub spreadsheet_id: String,
    pub sheet: String,
    pub kind: SheetEventKind,
    /// When the sheet was edited, by the script's clock: a claim, clamped by the worker.
    pub edited_at: DateTime<Utc>,
    #[serde(default)]
    pub rows: Vec<SheetEventRow>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SheetEventKind {
    /// Cells of the listed rows changed.
    Edit,
    /// The sheet's structure changed (rows inserted or removed): reconcile the pair.
    Change,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SheetEventRow {
    /// 1-based sheet row; row 1 is the header.
    pub row: u32,
    /// Every cell of the row by header text, as displayed.
    pub values: HashMap<String, String>,
    /// The headers of the cells the edit itself set (the edited range's columns); the other
    /// cells of `values` are only shown beside them. Absent from older scripts' events: then
    /// no cell is known to be set by the edit.
    #[serde(default)]
    pub edited: Vec<String>,
}

impl SheetEvent {
    /// Parses and checks a body; the error names the field at fault.
    pub(super) fn parse(body: &[u8]) -> Result<Self, String> {
        let mut json = serde_json::Deserializer::from_slice(body);
        let event: SheetEvent = serde_path_to_error::deserialize(&mut json).map_err(|e| {
            let path = e.path().to_string();
            if path == "." {
                e.inner().to_string()
            } else {
                format!("{path}: {}", e.inner())
            }
        })?;
        json.end().map_err(|e| e.to_string())?;
        if event.spreadsheet_id.is_empty() {
            return Err("spreadsheet_id must not be empty".into());
        }
        if event.sheet.is_empty() {
            return Err("sheet must not be empty".into());
        }
        if let Some(bad) = event.rows.iter().find(|r| r.row < 2) {
            return Err(format!(
                "rows: row {} is not a data row (row 1 is the header)",
                bad.row
            ));
        }
        Ok(event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_contract_example_of_an_apps_script_edit_parses() {
        let body = r#"{"spreadsheet_id":"1AbC","sheet":"Leads","kind":"edit",
            "edited_at":"2026-11-21T10:15:02.123Z",
            "rows":[{"row":5,"values":{"Lead ID":"","Name":"Ada Lovelace","Status":"Contacted"}}]}"#;
        let event = SheetEvent::parse(body.as_bytes()).unwrap();
        assert_eq!(event.kind, SheetEventKind::Edit);
        assert_eq!(event.rows[0].row, 5);
        assert_eq!(event.rows[0].values["Name"], "Ada Lovelace");
        assert_eq!(
            event.edited_at.to_rfc3339(),
            "2026-11-21T10:15:02.123+00:00"
        );
    }

    #[test]
    fn a_change_event_needs_no_rows() {
        let body = br#"{"spreadsheet_id":"s","sheet":"Leads","kind":"change","edited_at":"2026-11-21T10:15:02Z"}"#;
        assert_eq!(
            SheetEvent::parse(body).unwrap().kind,
            SheetEventKind::Change
        );
    }

    #[test]
    fn each_malformed_body_is_refused_naming_what_is_wrong() {
        let cases = [
            (
                r#"{"spreadsheet_id":"s","sheet":"Leads","kind":"poke","edited_at":"2026-11-21T10:15:02Z"}"#,
                "kind: unknown variant `poke`",
            ),
            (
                r#"{"spreadsheet_id":"","sheet":"Leads","kind":"edit","edited_at":"2026-11-21T10:15:02Z"}"#,
                "spreadsheet_id must not be empty",
            ),
            (
                r#"{"spreadsheet_id":"s","sheet":"Leads","kind":"edit","edited_at":"yesterday"}"#,
                "edited_at: ",
            ),
            (
                r#"{"spreadsheet_id":"s","sheet":"Leads","kind":"edit"}"#,
                "missing field `edited_at`",
            ),
            (
                r#"{"spreadsheet_id":"s","sheet":"Leads","kind":"edit","edited_at":"2026-11-21T10:15:02Z","rows":[{"row":1,"values":{}}]}"#,
                "row 1 is not a data row",
            ),
            (
                r#"{"spreadsheet_id":"s","sheet":"Leads","kind":"edit","edited_at":"2026-11-21T10:15:02Z","rows":[{"row":2,"values":{"Name":"\ud800"}}]}"#,
                "rows[0].values.Name: unexpected end of hex escape",
            ),
            (
                r#"{"spreadsheet_id":"s","sheet":"Leads","kind":"change","edited_at":"2026-11-21T10:15:02Z"} {}"#,
                "trailing characters",
            ),
        ];
        for (body, wanted) in cases {
            let error = SheetEvent::parse(body.as_bytes()).unwrap_err();
            assert!(error.contains(wanted), "{body}: {error}");
        }
    }
}
