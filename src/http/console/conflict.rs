//! "Apply the losing value" of a conflict: the value the activity entry kept of the losing side
//! goes through the merge as the operator's new edit (`sync::operator`), which writes it to
//! both systems through the outbox and logs it. Nothing here writes to a tracker or a board.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::html;
use serde::Deserialize;
use serde_json::Value;

use super::{known_pair, send_fragment};
use crate::http::AppState;
use crate::http::admin::ApiError;
use crate::model::{Field, Side};
use crate::store::activity_page::{PageEntry, entry};
use crate::sync::context::PairContext;
use crate::sync::operator::{EditOutcome, OperatorEdit, apply_operator_edit};

/// Who the activity log says made the edit.
const BY: &str = "operator (console)";

#[derive(Deserialize)]
pub struct ConflictQuery {
    /// The conflict's activity entry, as a number (kept a string for a clear 400).
    id: Option<String>,
}

/// The losing side's name (`sheet`, `airtable`, `trello`) and the value the entry kept of it;
/// `None` when the entry is no conflict or kept no losing value.
pub fn losing_value(detail: &Value) -> Option<(&str, &str)> {
    let winner = detail.get("winner")?.as_str()?;
    let sides = detail.as_object()?.keys();
    let loser = sides
        .filter_map(|k| k.strip_suffix("_changed_at"))
        .find(|side| *side != winner)?;
    let value = detail.get(format!("{loser}_value"))?.as_str()?;
    Some((loser, value))
}

/// A value the log cut to its length limit (`plan::apply::kept_value`): not the value itself.
pub fn is_cut(value: &str) -> bool {
    value.contains("…[truncated: ") && value.ends_with(" characters in all]")
}

fn bad(message: String) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, message)
}

/// The entry numbered by the query, if it is a conflict.
async fn conflict_entry(state: &AppState, q: &ConflictQuery) -> Result<PageEntry, ApiError> {
    let id =
        q.id.as_deref()
            .and_then(|id| id.trim().parse::<i64>().ok())
            .ok_or_else(|| bad("id: name the conflict's activity entry (?id=NUMBER)".into()))?;
    let found = entry(&state.db.pool, id).await?.ok_or_else(|| {
        ApiError::new(StatusCode::NOT_FOUND, format!("id: no activity entry {id}"))
    })?;
    if found.decision != "conflict" {
        return Err(bad(format!(
            "id: entry {id} is not a conflict (its decision: {})",
            found.decision
        )));
    }
    Ok(found)
}

/// The merge's side for a side name an entry uses.
fn side_named(ctx: &PairContext, name: &str) -> Option<Side> {
    if name == Side::Trello.as_str() {
        Some(Side::Trello)
    } else {
        (name == ctx.tracker.side_name()).then_some(Side::Sheet)
    }
}

pub async fn apply_losing(
    State(state): State<AppState>,
    Query(q): Query<ConflictQuery>,
) -> Result<Response, ApiError> {
    let conflict = conflict_entry(&state, &q).await?;
    let id = conflict.id;
    let pair = known_pair(&state, Some(&conflict.pair))?;
    let unavailable = || ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "engine not running");
    let ctx = state
        .engine
        .as_ref()
        .and_then(|e| e.pair_context(&pair))
        .ok_or_else(unavailable)?;
    let lead = conflict.lead_id.as_deref().unwrap_or_default();
    let field = Field::ALL
        .into_iter()
        .find(|f| conflict.field.as_deref() == Some(f.as_str()))
        .ok_or_else(|| bad(format!("id: entry {id} names no field")))?;
    let (loser, value) = losing_value(&conflict.detail)
        .ok_or_else(|| bad(format!("id: entry {id} kept no losing value")))?;
    if is_cut(value) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!(
                "id: entry {id} kept only the start of the losing value (it was too long); set it in either system instead"
            ),
        ));
    }
    let side = side_named(&ctx, loser).ok_or_else(|| {
        bad(format!(
            "id: entry {id}'s losing side \"{loser}\" is not of pair {pair}"
        ))
    })?;
    let edit = OperatorEdit {
        lead_id: lead,
        field,
        side,
        value,
        by: BY,
        from_activity: Some(id),
    };
    let outcome = apply_operator_edit(&state.db, &ctx, &edit, chrono::Utc::now()).await?;
    let targets = match outcome {
        EditOutcome::UnknownLead => {
            let gone = format!("lead {lead} of pair {pair} is not (or no longer) linked");
            return Err(ApiError::new(StatusCode::NOT_FOUND, gone));
        }
        EditOutcome::AlreadyAgreed => None,
        EditOutcome::Applied { mut targets } => {
            targets.dedup();
            Some(targets.join(" and "))
        }
    };
    Ok(send_fragment(html! {
        p #applied data-lead=(lead) {
            @match targets {
                Some(to) => {
                    (field) " of " (lead) " set to the losing value \u{201c}" (value) "\u{201d} (" (loser)
                    "'s); queued for " (to) ", logged as your edit."
                }
                None => { "Nothing to do: \u{201c}" (value) "\u{201d} is already the agreed " (field) " of " (lead) "." }
            }
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_losing_value_is_the_side_that_did_not_win() {
        let detail = json!({
            "winner": "trello", "sheet_value": "Ada L", "trello_value": "Ada K",
            "sheet_changed_at": "2025-11-21T10:15:02.123Z", "trello_changed_at": "2025-11-21T10:16:00.000Z",
        });
        assert_eq!(losing_value(&detail), Some(("sheet", "Ada L")));
        let airtable = json!({
            "winner": "airtable", "airtable_value": "x", "trello_value": "y",
            "airtable_changed_at": null, "trello_changed_at": null,
        });
        assert_eq!(losing_value(&airtable), Some(("trello", "y")));
        assert_eq!(losing_value(&json!({"value": "v"})), None, "not a conflict");
    }

    #[test]
    fn a_value_cut_by_the_log_is_recognised() {
        let long = "a".repeat(1500);
        let kept = crate::sync::plan::apply::kept_value(&long);
        assert!(is_cut(&kept));
        assert!(!is_cut("Ada L"));
    }
}
