//! What the door reads of a verified body: it parses it as the worker will
//! ([`InboundEvent::parse`]) and takes the dedupe key and the route from that event.

use super::{RouteKey, VerifyError};
use crate::inbound::{BadEvent, InboundEvent};

/// Longest id accepted as a dedupe key; real ones are 24 (Trello) or ~40 (Apps Script) chars.
const MAX_KEY_LEN: usize = 128;

/// A Trello body's event, action id (the dedupe key) and the board the webhook watches.
pub(super) fn trello_event(body: &[u8]) -> Result<(InboundEvent, String, RouteKey), VerifyError> {
    let action = InboundEvent::parse_trello(body).map_err(bad)?;
    let meta = action.meta();
    let action_id = checked_key(meta.action_id.clone(), "action.id")?;
    // The webhook's model is the board we registered it for; older payloads only carry it in
    // the action data.
    let board_id = meta
        .model_id
        .clone()
        .or_else(|| meta.board_id.clone())
        .filter(|id| !id.is_empty())
        .ok_or_else(|| {
            VerifyError::BadPayload("no board id (model.id or action.data.board.id)".into())
        })?;
    Ok((
        InboundEvent::Trello(Box::new(action)),
        action_id,
        RouteKey::Board { board_id },
    ))
}

/// An Apps Script body's event and the sheet it is about.
pub(super) fn sheet_event(body: &[u8]) -> Result<(InboundEvent, RouteKey), VerifyError> {
    let sheet = InboundEvent::parse_sheet(body).map_err(bad)?;
    let route = RouteKey::Sheet {
        spreadsheet_id: sheet.spreadsheet_id.clone(),
        sheet: sheet.sheet.clone(),
    };
    Ok((InboundEvent::Sheets(sheet), route))
}

fn bad(error: BadEvent) -> VerifyError {
    VerifyError::BadPayload(error.to_string())
}

pub(super) fn checked_key(key: String, what: &str) -> Result<String, VerifyError> {
    if key.is_empty() || key.len() > MAX_KEY_LEN || key.chars().any(char::is_control) {
        return Err(VerifyError::BadPayload(format!(
            "{what} must be 1 to {MAX_KEY_LEN} characters without control characters"
        )));
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACTION: &str = r#"{"action":{"id":"a1","idMemberCreator":"m","type":"updateBoard","date":"2026-11-21T10:15:02.123Z","data":{"board":{"id":"b0"}}},"model":{"id":"b1"}}"#;

    #[test]
    fn a_trello_action_yields_its_id_and_the_model_board() {
        let (_, key, route) = trello_event(ACTION.as_bytes()).unwrap();
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
        let body = ACTION.replace(r#","model":{"id":"b1"}"#, "");
        let (_, _, route) = trello_event(body.as_bytes()).unwrap();
        assert_eq!(
            route,
            RouteKey::Board {
                board_id: "b0".into()
            }
        );
    }

    #[test]
    fn bodies_that_are_not_trello_actions_are_payload_errors_naming_the_fault() {
        let no_board = ACTION
            .replace(r#","model":{"id":"b1"}"#, "")
            .replace(r#"{"board":{"id":"b0"}}"#, "{}");
        let cases = [
            ("not json".to_owned(), "expected ident"),
            (r#"{"hello":"world"}"#.to_owned(), "missing field `action`"),
            (
                ACTION.replace(r#""id":"a1""#, r#""id":"""#),
                "action.id must be",
            ),
            (
                ACTION.replace(r#","date":"2026-11-21T10:15:02.123Z""#, ""),
                "action: missing field `date`",
            ),
            (
                ACTION.replace("updateBoard", "updateCard"),
                "updateCard without data.card",
            ),
            (no_board, "no board id"),
        ];
        for (body, wanted) in cases {
            let error = trello_event(body.as_bytes()).unwrap_err();
            assert!(error.is_payload_error(), "{error:?}");
            assert!(error.to_string().contains(wanted), "{body}: {error}");
        }
    }

    #[test]
    fn an_apps_script_body_yields_its_sheet() {
        let body = br#"{"spreadsheet_id":"1AbC","sheet":"Leads","kind":"change","edited_at":"2026-11-21T10:15:02Z"}"#;
        let (_, route) = sheet_event(body).unwrap();
        assert_eq!(
            route,
            RouteKey::Sheet {
                spreadsheet_id: "1AbC".into(),
                sheet: "Leads".into()
            }
        );
        let error = sheet_event(b"{}").unwrap_err();
        assert!(error.to_string().contains("missing field"), "{error}");
    }
}
