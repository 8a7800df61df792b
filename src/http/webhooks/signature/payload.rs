//! The minimum each source's body must contain to be routed and deduplicated: Trello's
//! action id and board, the Apps Script's signed JSON envelope. Fuller parsing is the engine's.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{RouteKey, VerifyError};

/// Longest id accepted as a dedupe key; real ones are 24 (Trello) or ~40 (Apps Script) chars.
const MAX_KEY_LEN: usize = 128;

#[derive(Deserialize)]
struct TrelloEnvelope {
    action: TrelloAction,
    model: Option<IdOnly>,
}

#[derive(Deserialize)]
struct TrelloAction {
    id: String,
    #[serde(default)]
    data: Option<TrelloActionData>,
}

#[derive(Deserialize)]
struct TrelloActionData {
    board: Option<IdOnly>,
}

#[derive(Deserialize)]
struct IdOnly {
    id: String,
}

/// Returns the action id (the dedupe key) and the board the webhook watches.
pub(super) fn trello_key_and_route(body: &[u8]) -> Result<(String, RouteKey), VerifyError> {
    let envelope: TrelloEnvelope = serde_json::from_slice(body).map_err(bad)?;
    let action_id = checked_key(envelope.action.id, "action.id")?;
    // The webhook's model is the board we registered it for; older payloads only carry it in
    // the action data.
    let board_id = envelope
        .model
        .map(|m| m.id)
        .or_else(|| envelope.action.data.and_then(|d| d.board).map(|b| b.id))
        .filter(|id| !id.is_empty())
        .ok_or_else(|| VerifyError::BadPayload("no board id".into()))?;
    Ok((action_id, RouteKey::Board { board_id }))
}

/// What the Apps Script sends (`apps-script/Code.gs`, `envelope_`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SheetsPayload {
    pub spreadsheet_id: String,
    pub sheet: String,
    pub kind: SheetsKind,
    pub edited_at: chrono::DateTime<chrono::Utc>,
    #[serde(default)]
    pub rows: Vec<SheetsRow>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SheetsKind {
    /// Cells of the listed rows changed.
    Edit,
    /// The sheet's structure changed (rows inserted or removed); carries no rows.
    Change,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SheetsRow {
    /// 1-based sheet row; row 1 is the header.
    pub row: u32,
    pub values: BTreeMap<String, String>,
}

impl SheetsPayload {
    pub fn parse(body: &[u8]) -> Result<Self, VerifyError> {
        let payload: SheetsPayload = serde_json::from_slice(body).map_err(bad)?;
        if payload.spreadsheet_id.is_empty() || payload.sheet.is_empty() {
            return Err(VerifyError::BadPayload(
                "spreadsheet_id and sheet must not be empty".into(),
            ));
        }
        if payload.rows.iter().any(|r| r.row < 2) {
            return Err(VerifyError::BadPayload("rows start at 2".into()));
        }
        Ok(payload)
    }

    pub fn route(&self) -> RouteKey {
        RouteKey::Sheet {
            spreadsheet_id: self.spreadsheet_id.clone(),
            sheet: self.sheet.clone(),
        }
    }
}

pub(super) fn checked_key(key: String, what: &str) -> Result<String, VerifyError> {
    if key.is_empty() || key.len() > MAX_KEY_LEN || key.chars().any(char::is_control) {
        return Err(VerifyError::BadPayload(format!("unusable {what}")));
    }
    Ok(key)
}

fn bad(error: serde_json::Error) -> VerifyError {
    VerifyError::BadPayload(error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trello_action_yields_its_id_and_the_model_board() {
        let body = br#"{"action":{"id":"a1","type":"updateCard","data":{"board":{"id":"b0"}}},"model":{"id":"b1"}}"#;
        let (key, route) = trello_key_and_route(body).unwrap();
        assert_eq!(key, "a1");
        assert_eq!(
            route,
            RouteKey::Board {
                board_id: "b1".into()
            }
        );
    }

    #[test]
    fn a_trello_action_without_model_falls_back_to_the_action_board() {
        let body = br#"{"action":{"id":"a1","data":{"board":{"id":"b0"}}}}"#;
        let (_, route) = trello_key_and_route(body).unwrap();
        assert_eq!(
            route,
            RouteKey::Board {
                board_id: "b0".into()
            }
        );
    }

    #[test]
    fn bodies_that_are_not_trello_actions_are_payload_errors() {
        for body in [
            &b"not json"[..],
            br#"{"hello":"world"}"#,
            br#"{"action":{"id":""},"model":{"id":"b"}}"#,
            br#"{"action":{"id":"a"}}"#,
        ] {
            let error = trello_key_and_route(body).unwrap_err();
            assert!(error.is_payload_error(), "{error:?}");
        }
    }

    #[test]
    fn the_contract_example_of_an_apps_script_edit_parses() {
        let body = r#"{"spreadsheet_id":"1AbC","sheet":"Leads","kind":"edit",
            "edited_at":"2026-11-21T10:15:02.123Z",
            "rows":[{"row":5,"values":{"Lead ID":"","Name":"Ada Lovelace","Status":"Contacted"}}]}"#;
        let payload = SheetsPayload::parse(body.as_bytes()).unwrap();
        assert_eq!(payload.kind, SheetsKind::Edit);
        assert_eq!(payload.rows[0].values["Name"], "Ada Lovelace");
        assert_eq!(
            payload.route(),
            RouteKey::Sheet {
                spreadsheet_id: "1AbC".into(),
                sheet: "Leads".into()
            }
        );
    }

    #[test]
    fn a_change_event_needs_no_rows() {
        let body = br#"{"spreadsheet_id":"s","sheet":"Leads","kind":"change","edited_at":"2026-11-21T10:15:02Z"}"#;
        assert_eq!(SheetsPayload::parse(body).unwrap().kind, SheetsKind::Change);
    }

    #[test]
    fn malformed_apps_script_bodies_are_payload_errors() {
        for body in [
            r#"{"spreadsheet_id":"s","sheet":"Leads","kind":"poke","edited_at":"2026-11-21T10:15:02Z"}"#,
            r#"{"spreadsheet_id":"","sheet":"Leads","kind":"edit","edited_at":"2026-11-21T10:15:02Z"}"#,
            r#"{"spreadsheet_id":"s","sheet":"Leads","kind":"edit","edited_at":"yesterday"}"#,
            r#"{"spreadsheet_id":"s","sheet":"Leads","kind":"edit","edited_at":"2026-11-21T10:15:02Z","rows":[{"row":1,"values":{}}]}"#,
        ] {
            assert!(
                SheetsPayload::parse(body.as_bytes())
                    .unwrap_err()
                    .is_payload_error()
            );
        }
    }
}
