//! The webhooks from the console: "Register webhooks" runs what `POST /admin/webhooks` runs
//! (every pair's Trello board and Airtable table, idempotent) and "Check webhooks" lists them as
//! the systems report them now (`GET /admin/webhooks`), each rendered as one table: where each
//! webhook points, whether the system calls it (active) and when an Airtable one expires.

use axum::extract::State;
use axum::response::Response;
use maud::{Markup, html};

use super::send_fragment;
use crate::admin::WebhookView;
use crate::http::AppState;
use crate::http::admin::{ApiError, list_webhooks, register_webhooks};

pub async fn register(State(state): State<AppState>) -> Result<Response, ApiError> {
    let hooks = register_webhooks(&state).await?;
    tracing::info!(
        webhooks = hooks.len(),
        "webhooks registered from the console"
    );
    Ok(send_fragment(table("Registered", &hooks)))
}

pub async fn list(State(state): State<AppState>) -> Result<Response, ApiError> {
    let hooks = list_webhooks(&state).await?;
    Ok(send_fragment(table("Webhooks now", &hooks)))
}

fn table(title: &str, hooks: &[WebhookView]) -> Markup {
    html! {
        h3 #webhooks-title { (title) ": " (hooks.len()) " webhook(s)" }
        @if !hooks.is_empty() {
            div.table { table #webhooks {
                thead { tr { th { "System" } th { "Id" } th { "Of" } th { "Active" } th { "Expires" } th { "Callback" } } }
                tbody { @for hook in hooks { (row(hook)) } }
            } }
        }
    }
}

fn row(hook: &WebhookView) -> Markup {
    let (system, id, of, active, expires, callback) = match hook {
        WebhookView::Trello(w) => (
            "trello",
            &w.id,
            format!("board {}", w.board_id),
            w.active,
            None,
            &w.callback_url,
        ),
        WebhookView::Airtable(w) => (
            "airtable",
            &w.id,
            format!(
                "base {}{}",
                w.base_id,
                w.pair
                    .as_deref()
                    .map(|p| format!(" (pair {p})"))
                    .unwrap_or_default()
            ),
            w.active,
            w.expires_at.as_deref(),
            &w.callback_url,
        ),
    };
    html! {
        tr data-system=(system) {
            td { (system) } td { code { (id) } } td { (of) }
            td class=(if active { "ok" } else { "bad" }) { @if active { "active" } @else { "inactive" } }
            td { (expires.unwrap_or("")) } td { (callback) }
        }
    }
}
