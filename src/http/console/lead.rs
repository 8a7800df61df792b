//! The lead page: its link (row or record, and card, with links to them), each field's agreed
//! value and hash, its unsent commands, its history, and "resync this lead".

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;

use super::{known_pair, percent, send_fragment};
use crate::config::PairSettings;
use crate::http::AppState;
use crate::http::admin::ApiError;
use crate::model::TrackerKind;
use crate::store::activity::rfc3339;
use crate::store::activity_page::{ActivityFilter, page};
use crate::store::lead_view::{requeue_lead, unsent_commands};
use crate::store::{lead_state, links};

const HISTORY: i64 = 50;

#[derive(Deserialize)]
pub struct LeadQuery {
    pair: Option<String>,
    lead: Option<String>,
}

fn lead_of(q: &LeadQuery) -> Result<String, ApiError> {
    q.lead
        .clone()
        .filter(|l| !l.is_empty())
        .ok_or_else(|| ApiError::new(StatusCode::BAD_REQUEST, "lead: name the lead (?lead=ID)"))
}

/// Where the lead's row or record lives, as a link to open it in its tracker.
fn tracker_link(p: &PairSettings, row: Option<i64>) -> Markup {
    let (url, label) = match p.tracker {
        TrackerKind::Sheets => (
            format!(
                "https://docs.google.com/spreadsheets/d/{}/edit",
                p.spreadsheet_id
            ),
            format!(
                "{} row {}",
                p.sheet,
                row.map_or("?".into(), |r| r.to_string())
            ),
        ),
        TrackerKind::Airtable => {
            let (base, table) = (
                p.base_id.as_deref().unwrap_or(""),
                p.table.as_deref().unwrap_or(""),
            );
            (
                format!("https://airtable.com/{base}"),
                format!("Airtable table {table}"),
            )
        }
        TrackerKind::Notion => {
            let database = (p.database_id.as_deref()).or(p.data_source_id.as_deref());
            let id: String = database
                .unwrap_or("")
                .chars()
                .filter(|c| *c != '-')
                .collect();
            (
                format!("https://www.notion.so/{id}"),
                format!("Notion database {id}"),
            )
        }
    };
    html! { a href=(url) target="_blank" rel="noopener noreferrer" { (label) } }
}

pub async fn fragment(
    State(state): State<AppState>,
    Query(q): Query<LeadQuery>,
) -> Result<Response, ApiError> {
    let pair = known_pair(&state, q.pair.as_deref())?;
    let lead = lead_of(&q)?;
    let pool = &state.db.pool;
    let link = links::get_by_lead(pool, &pair, &lead).await?;
    let fields = lead_state::load_lead(pool, &pair, &lead).await?;
    let commands = unsent_commands(pool, &pair, &lead).await?;
    let filter = ActivityFilter {
        pair: Some(pair.clone()),
        lead_id: Some(lead.clone()),
        ..ActivityFilter::default()
    };
    let (history, _) = page(pool, &filter, None, HISTORY).await?;
    let settings = state.settings.pair(&pair);
    Ok(send_fragment(html! {
        h2 #lead-id { "Lead " (lead) " · " (pair) }
        @match &link {
            None => p.bad { "No link: this lead is not (or no longer) known to leadsync." },
            Some(l) => dl {
                dt { "Tracker" } dd { @if let Some(p) = settings { (tracker_link(p, l.row_hint)) } }
                dt { "Card" } dd {
                    @match &l.card_short_url {
                        Some(url) => a href=(url) target="_blank" rel="noopener noreferrer" { (url) },
                        None => "none yet",
                    }
                    @if l.card_closed { " (archived)" }
                }
            },
        }
        h3 { "Fields" }
        div.table { table #lead-fields {
            thead { tr { th { "Field" } th { "Agreed value" } th { "Hash" } th { "Agreed at" } th { "Written by" } } }
            tbody { @for f in &fields { tr {
                td { (f.field) } td { (f.agreed_value) } td { code { (f.agreed_hash.get(..12).unwrap_or(&f.agreed_hash)) } }
                td { (rfc3339(f.agreed_at)) } td { (f.last_writer.as_deref().unwrap_or("both")) }
            } } }
        } }
        h3 { "Unsent commands" }
        @if commands.is_empty() { p.muted { "None: everything for this lead was sent." } }
        @else { div.table { table #lead-commands {
            thead { tr { th { "#" } th { "To" } th { "Kind" } th { "Status" } th { "Attempts" } th { "Last error" } } }
            tbody { @for c in &commands { tr {
                td { (c.id) } td { (c.target) } td { (c.kind) }
                td class=(if c.status == "dead" { "bad" } else { "" }) { (c.status) }
                td { (c.attempts) } td { (c.last_error.as_deref().unwrap_or("")) }
            } } }
        } } }
        div.row {
            button #resync-lead type="button" data-target="#lead-result"
                data-post=(format!("/admin/ui/lead/resync?pair={}&lead={}", percent(&pair), percent(&lead))) {
                "Resync this lead"
            }
            span.hint { "requeues its dead letters and reconciles its pair" }
        }
        div #lead-result {}
        h3 { "History" }
        div.table { table {
            tbody { @for e in &history { tr {
                td { (e.at) } td { (e.field.as_deref().unwrap_or("")) } td { (e.decision) }
            } } }
        } }
    }))
}

/// Its dead letters requeued and a reconciliation of its pair asked for, which reads the lead
/// on both sides again and plans whatever it finds different.
pub async fn resync(
    State(state): State<AppState>,
    Query(q): Query<LeadQuery>,
) -> Result<Response, ApiError> {
    let pair = known_pair(&state, q.pair.as_deref())?;
    let lead = lead_of(&q)?;
    let requeued = requeue_lead(&state.db.pool, &pair, &lead).await?;
    let started = state
        .engine
        .as_ref()
        .is_some_and(|engine| engine.request_reconcile(Some(&pair)));
    tracing::info!(pair, lead_id = %lead, requeued, started, "lead resync requested from the console");
    Ok(send_fragment(html! {
        p #resynced {
            (requeued) " dead letter(s) of " (lead) " requeued; "
            @if started { "reconciliation of " (pair) " started." }
            @else { span.bad { "the engine is not running, so no reconciliation was started." } }
        }
    }))
}
