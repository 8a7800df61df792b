//! The actions fragment and its simple actions: registering and checking every pair's webhooks
//! (`webhooks.rs`); per pair, a reconcile preview (see `reconcile.rs`), requeueing its dead
//! letters, and its Apps Script with a copy button.

use axum::extract::{Query, State};
use axum::response::Response;
use maud::html;
use serde::Deserialize;

use super::{known_pair, percent, send_fragment};
use crate::http::AppState;
use crate::http::admin::ApiError;
use crate::model::TrackerKind;
use crate::store::{outbox, status::pair_statuses};

#[derive(Deserialize)]
pub struct PairQuery {
    pub pair: Option<String>,
}

pub async fn fragment(State(state): State<AppState>) -> Result<Response, ApiError> {
    let statuses = pair_statuses(&state.db.pool).await?;
    Ok(send_fragment(html! {
        div.row {
            button #register-webhooks type="button" data-target="#action-result"
                data-post="/admin/ui/webhooks/register" { "Register webhooks" }
            button.secondary #check-webhooks type="button" data-target="#action-result"
                data-get="/admin/ui/webhooks" { "Check webhooks" }
            span.hint { "every pair's Trello board and Airtable table, as POST /admin/webhooks" }
        }
        div.cards {
            @for pair in &state.settings.pairs {
                @let dead = statuses.iter().find(|s| s.name == pair.name).map_or(0, |s| s.dead_letters);
                article.card data-pair=(pair.name) {
                    h2 { (pair.name) }
                    div.row {
                        button type="button" data-target="#action-result"
                            data-post=(format!("/admin/ui/reconcile/preview?pair={}", percent(&pair.name))) {
                            "Reconcile: preview"
                        }
                        @if dead > 0 {
                            button type="button" data-target="#action-result"
                                data-post=(format!("/admin/ui/dead-letters/requeue?pair={}", percent(&pair.name))) {
                                "Requeue " (dead) " dead letter(s)"
                            }
                        }
                        @if pair.tracker == TrackerKind::Sheets {
                            button.secondary type="button" data-target="#action-result"
                                data-get=(format!("/admin/ui/apps-script?pair={}", percent(&pair.name))) {
                                "Apps Script"
                            }
                        }
                    }
                }
            }
        }
    }))
}

/// Dead letters of one pair due again now, with fresh attempts.
pub async fn requeue(
    State(state): State<AppState>,
    Query(q): Query<PairQuery>,
) -> Result<Response, ApiError> {
    let pair = known_pair(&state, q.pair.as_deref())?;
    let requeued = outbox::requeue_dead_letters(&state.db.pool, Some(&pair)).await?;
    tracing::info!(pair, requeued, "dead letters requeued from the console");
    Ok(send_fragment(html! {
        p #requeued { (requeued) " dead letter(s) of pair " (pair) " requeued." }
    }))
}

/// The pair's Apps Script, to paste into the sheet's script editor.
pub async fn apps_script(
    State(state): State<AppState>,
    Query(q): Query<PairQuery>,
) -> Result<Response, ApiError> {
    let pair = known_pair(&state, q.pair.as_deref())?;
    let text = crate::admin::apps_script_text(&state.settings, Some(&pair))?;
    Ok(send_fragment(html! {
        div.row {
            strong { "Apps Script for " (pair) }
            button type="button" data-copy="#apps-script" { "Copy" }
        }
        pre #apps-script { (text) }
    }))
}
