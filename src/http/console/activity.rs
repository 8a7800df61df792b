//! The activity fragment: the log newest first, filtered by pair, lead, field and decision,
//! paged by cursor; a conflict shows each side's value and change time and the winner, and
//! offers to apply the losing value (`conflict.rs`).

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::Value;

use super::conflict::{is_cut, losing_value};
use super::{percent, send_fragment};
use crate::http::AppState;
use crate::http::admin::ApiError;
use crate::store::activity_page::{ActivityFilter, Cursor, PageEntry, page};

const PAGE_SIZE: i64 = 50;

#[derive(Deserialize)]
pub struct ActivityQuery {
    pair: Option<String>,
    lead: Option<String>,
    field: Option<String>,
    decision: Option<String>,
    /// The cursor of the page's last entry, from the previous page's "older" button.
    before: Option<String>,
}

pub async fn fragment(
    State(state): State<AppState>,
    Query(q): Query<ActivityQuery>,
) -> Result<Response, ApiError> {
    let before = match q.before.as_deref().filter(|b| !b.is_empty()) {
        None => None,
        Some(text) => Some(Cursor::decode(text).ok_or_else(|| {
            ApiError::new(StatusCode::BAD_REQUEST, "before: not a cursor of this log")
        })?),
    };
    let filter = ActivityFilter {
        pair: q.pair,
        lead_id: q.lead,
        field: q.field,
        decision: q.decision,
    };
    let (entries, next) = page(&state.db.pool, &filter, before, PAGE_SIZE).await?;
    Ok(send_fragment(html! {
        @if entries.is_empty() { p { "No activity matches." } }
        @else {
            div.table {
                table #activity-table {
                    thead { tr { th { "When" } th { "Pair" } th { "Lead" } th { "Field" } th { "Decision" } th { "Detail" } } }
                    tbody { @for e in &entries { (row(e)) } }
                }
            }
        }
        div.row {
            @if before.is_some() {
                button.secondary type="button" data-page="first" data-target="#activity"
                    data-get=(page_url(&filter, None)) { "Newest" }
            }
            @if let Some(next) = next {
                button.secondary type="button" data-page="older" data-target="#activity"
                    data-get=(page_url(&filter, Some(next))) { "Older" }
            }
        }
    }))
}

fn page_url(f: &ActivityFilter, before: Option<Cursor>) -> String {
    let mut url = String::from("/admin/ui/activity?");
    let parts = [
        ("pair", f.pair.as_deref()),
        ("lead", f.lead_id.as_deref()),
        ("field", f.field.as_deref()),
        ("decision", f.decision.as_deref()),
    ];
    for (key, value) in parts {
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            url.push_str(&format!("{key}={}&", percent(v)));
        }
    }
    if let Some(c) = before {
        url.push_str(&format!("before={}", c.encode()));
    }
    url
}

fn row(e: &PageEntry) -> Markup {
    html! {
        tr data-decision=(e.decision) {
            td { (e.at) }
            td { (e.pair) }
            td {
                @if let Some(lead) = &e.lead_id {
                    button.link type="button" data-show="lead" data-target="#lead"
                        data-get=(format!("/admin/ui/lead?pair={}&lead={}", percent(&e.pair), percent(lead))) {
                        (lead)
                    }
                }
            }
            td { (e.field.as_deref().unwrap_or("")) }
            td { (e.decision) }
            td {
                @if e.decision == "conflict" { (conflict(e.id, &e.detail)) }
                @else if let Some(v) = e.detail.get("value").and_then(Value::as_str) {
                    "value: " (v)
                    @if let Some(by) = e.detail.get("by").and_then(Value::as_str) { " · by " (by) }
                }
                @else if let Some(err) = e.detail.get("error").and_then(Value::as_str) { span.bad { (err) } }
            }
        }
    }
}

/// Both sides of a conflict: `<side>_value` and `<side>_changed_at` for each side, named as
/// the pair names them (sheet, airtable, trello), the winner in bold; and the button that
/// applies the losing value (entry `id`) when the entry kept it whole.
fn conflict(id: i64, detail: &Value) -> Markup {
    let winner = detail.get("winner").and_then(Value::as_str).unwrap_or("");
    let sides: Vec<&str> = detail
        .as_object()
        .map(|o| {
            o.keys()
                .filter_map(|k| k.strip_suffix("_changed_at"))
                .collect()
        })
        .unwrap_or_default();
    let text = |key: String| {
        detail
            .get(&key)
            .and_then(Value::as_str)
            .unwrap_or("—")
            .to_owned()
    };
    html! {
        ul.conflict {
            @for side in &sides {
                li class=(if *side == winner { "winner" } else { "loser" }) {
                    (side) ": " (text(format!("{side}_value")))
                    " (changed " (text(format!("{side}_changed_at"))) ")"
                    @if *side == winner { " — winner" }
                }
            }
        }
        @if let Some((_, value)) = losing_value(detail).filter(|(_, v)| !is_cut(v)) {
            button.apply-losing type="button" data-target="#activity-result"
                data-post=(format!("/admin/ui/conflict/apply?id={id}"))
                title=(format!("Write \u{201c}{value}\u{201d} to both systems, as your edit")) {
                "Apply the losing value"
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_conflict_shows_both_values_times_and_the_winner() {
        let detail = json!({
            "winner": "trello", "policy": "last_writer_wins",
            "sheet_value": "Ada <L>", "trello_value": "Ada K",
            "sheet_changed_at": "2025-11-21T10:15:02.123Z", "trello_changed_at": "2025-11-21T10:16:00.000Z",
            "sheet_value_hash": "h1", "trello_value_hash": "h2"
        });
        let html = conflict(7, &detail).into_string();
        assert!(
            html.contains("sheet: Ada &lt;L&gt; (changed 2025-11-21T10:15:02.123Z)"),
            "{html}"
        );
        assert!(
            html.contains(
                r#"<li class="winner">trello: Ada K (changed 2025-11-21T10:16:00.000Z) — winner"#
            ),
            "{html}"
        );
        assert!(
            html.contains(r#"data-post="/admin/ui/conflict/apply?id=7""#),
            "{html}"
        );
    }

    #[test]
    fn page_links_keep_the_filters_escaped_and_the_cursor() {
        let filter = ActivityFilter {
            pair: Some("a b&c".into()),
            decision: Some("conflict".into()),
            ..ActivityFilter::default()
        };
        let url = page_url(&filter, Some(Cursor { at: 5, id: 9 }));
        assert_eq!(
            url,
            "/admin/ui/activity?pair=a%20b%26c&decision=conflict&before=5.9"
        );
    }
}
