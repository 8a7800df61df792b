//! Reconcile from the console: a dry run rendered as a table of the planned changes, then a
//! confirm button that starts the real pass (after requeueing the pair's dead letters, as
//! `POST /admin/reconcile` does).

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};
use serde_json::Value;

use super::actions::PairQuery;
use super::{known_pair, percent, send_fragment};
use crate::http::AppState;
use crate::http::admin::ApiError;
use crate::reconcile_cmd::plan_lines;
use crate::store::outbox;
use crate::sync::handle::EngineHandle;

fn engine(state: &AppState) -> Result<&EngineHandle, ApiError> {
    state
        .engine
        .as_ref()
        .ok_or_else(|| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "engine not running"))
}

pub async fn preview(
    State(state): State<AppState>,
    Query(q): Query<PairQuery>,
) -> Result<Response, ApiError> {
    let pair = known_pair(&state, q.pair.as_deref())?;
    let outcome = engine(&state)?
        .dry_run(&pair)
        .await
        .ok_or_else(|| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "engine not running"))?
        .map_err(|e| ApiError::new(StatusCode::BAD_GATEWAY, format!("pair {pair}: {e}")))?;
    // The same lines `leadsync reconcile --dry-run` prints, one per planned change.
    let lines: Vec<Value> = plan_lines(&pair, &outcome.actions)
        .iter()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect();
    Ok(send_fragment(html! {
        h3 { "Reconcile " (pair) ": " (lines.len()) " change(s) planned (dry run: nothing was changed)" }
        @if !lines.is_empty() {
            div.table {
                table #plan {
                    thead { tr { th { "Action" } th { "Lead" } th { "Changes" } } }
                    tbody { @for line in &lines { (plan_row(line)) } }
                }
            }
        }
        div.row {
            button #confirm-reconcile type="button" data-target="#action-result"
                data-post=(format!("/admin/ui/reconcile?pair={}", percent(&pair))) {
                "Confirm: reconcile " (pair) " now"
            }
        }
    }))
}

fn plan_row(line: &Value) -> Markup {
    let text = |key: &str| {
        line.get(key)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    let decisions = line
        .get("decisions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    html! {
        tr {
            td { (text("action")) }
            td { (text("lead_id")) }
            td {
                @for d in &decisions {
                    div {
                        (d["field"].as_str().unwrap_or("")) ": " (d["decision"].as_str().unwrap_or(""))
                        @if let Some(source) = d["source"].as_str() { " (from " (source) ")" }
                    }
                }
                @if decisions.is_empty() {
                    @for (key, value) in line.as_object().into_iter().flatten() {
                        @if !["action", "lead_id", "pair"].contains(&key.as_str()) {
                            div { (key) ": " (value.as_str().map_or_else(|| value.to_string(), str::to_owned)) }
                        }
                    }
                }
            }
        }
    }
}

pub async fn confirm(
    State(state): State<AppState>,
    Query(q): Query<PairQuery>,
) -> Result<Response, ApiError> {
    let pair = known_pair(&state, q.pair.as_deref())?;
    let engine = engine(&state)?;
    let requeued = outbox::requeue_dead_letters(&state.db.pool, Some(&pair)).await?;
    if !engine.request_reconcile(Some(&pair)) {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "engine not running",
        ));
    }
    tracing::info!(pair, requeued, "reconciliation requested from the console");
    Ok(send_fragment(html! {
        p #reconcile-started {
            "Reconciliation of " (pair) " started (" (requeued) " dead letter(s) requeued). "
            "The overview shows its time when it is done."
        }
    }))
}
