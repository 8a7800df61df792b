//! The admin handlers: thin wrappers over `crate::admin` and the store, answering JSON (the
//! Apps Script as plain text).

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::ApiError;
use crate::admin::{self, AdminError, WebhookView};
use crate::connectors::airtable::client::AirtableClient;
use crate::connectors::trello::client::TrelloClient;
use crate::connectors::trello::client::build::trello_client;
use crate::http::AppState;
use crate::store::{self, activity, outbox, status};

const ACTIVITY_DEFAULT_LIMIT: i64 = 50;
const ACTIVITY_MAX_LIMIT: i64 = 1000;

/// The daemon's own Trello client, so these calls spend the token's one budget with the
/// engine's and the mirrors'; one of its own only when no engine runs (nothing else calls then).
fn trello(state: &AppState) -> Result<TrelloClient, ApiError> {
    match &state.trello {
        Some(client) => Ok(client.clone()),
        None => trello_client(&state.settings).map_err(|e| AdminError::from(e).into()),
    }
}

/// Registered callback URLs changed: the verifier must accept exactly the stored ones.
async fn refresh_callbacks(state: &AppState) -> Result<(), ApiError> {
    state.ingress.refresh_callback_urls(&state.db).await?;
    Ok(())
}

fn airtable(state: &AppState) -> Result<Option<AirtableClient>, ApiError> {
    Ok(admin::airtable_client_if_needed(&state.settings)?)
}

/// Registers every pair's webhooks (`POST /admin/webhooks` and the console's button alike).
pub async fn register_all(state: &AppState) -> Result<Vec<WebhookView>, ApiError> {
    let (client, airtable) = (trello(state)?, airtable(state)?);
    let result =
        admin::register_webhooks(&state.settings, &state.db, &client, airtable.as_ref()).await;
    // Refresh even after a partial failure: the webhooks stored before it are live in Trello.
    refresh_callbacks(state).await?;
    Ok(result?)
}

/// The webhooks as the systems report them now (`GET /admin/webhooks` and the console).
pub async fn list_all(state: &AppState) -> Result<Vec<WebhookView>, ApiError> {
    let (client, airtable) = (trello(state)?, airtable(state)?);
    Ok(admin::list_webhooks(&state.settings, &state.db, &client, airtable.as_ref()).await?)
}

pub async fn register_webhooks(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!({ "webhooks": register_all(&state).await? })))
}

pub async fn list_webhooks(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!({ "webhooks": list_all(&state).await? })))
}

pub async fn delete_webhook(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let result =
        admin::delete_webhook(&state.settings, &state.db, state.trello.as_ref(), &id).await;
    refresh_callbacks(&state).await?;
    result?;
    Ok(Json(json!({ "deleted": id })))
}

pub async fn reconcile(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let engine_down = || ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "engine not running");
    let engine = state.engine.as_ref().ok_or_else(engine_down)?;
    // Dead letters get another chance with the full pass, as an operator asking for one expects.
    let requeued = outbox::requeue_dead_letters(&state.db.pool, None).await?;
    if !engine.request_reconcile(None) {
        return Err(engine_down());
    }
    tracing::info!(
        requeued,
        "reconciliation requested through /admin/reconcile"
    );
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "started": true, "requeued_dead_letters": requeued })),
    ))
}

#[derive(Serialize)]
struct StoredWebhookView {
    id: String,
    system: &'static str,
    pair: Option<String>,
    board_id: String,
    callback_url: String,
    created_at: String,
}

/// An Airtable webhook as `/admin/status` shows it: when it expires and its last problem.
#[derive(Serialize)]
struct TrackerWebhookView {
    id: String,
    system: String,
    pair: String,
    base_id: String,
    expires_at: Option<String>,
    last_error: Option<String>,
}

pub async fn status(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let pairs = status::pair_statuses(&state.db.pool).await?;
    let mirrors = store::mirror_links::mirror_statuses(&state.db.pool).await?;
    let inbox_depth = store::inbox::depth(&state.db.pool).await?;
    let mut webhooks: Vec<Value> = Vec::new();
    for w in store::webhooks::list(&state.db.pool).await? {
        webhooks.push(json!(StoredWebhookView {
            id: w.id,
            system: "trello",
            pair: w.pair,
            board_id: w.board_id,
            callback_url: w.callback_url,
            created_at: activity::rfc3339(w.created_at),
        }));
    }
    for w in store::tracker_webhooks::list(&state.db.pool).await? {
        webhooks.push(json!(TrackerWebhookView {
            id: w.id,
            system: w.connector,
            pair: w.pair,
            base_id: w.base_id,
            expires_at: w.expires_at.map(activity::rfc3339),
            last_error: w.last_error,
        }));
    }
    let engine_running = state.engine.as_ref().is_some_and(|e| e.is_running());
    // On PostgreSQL one replica leads the engine (CONTRACT §9); the others wait for it.
    let leader = state.engine.as_ref().map(|e| e.is_leader());
    Ok(Json(json!({
        "leader": leader,
        "pairs": pairs,
        "mirrors": mirrors,
        "inbox_depth": inbox_depth,
        "engine_running": engine_running,
        "webhooks": webhooks,
    })))
}

#[derive(Deserialize)]
pub struct AppsScriptQuery {
    pair: Option<String>,
}

pub async fn apps_script(
    State(state): State<AppState>,
    Query(query): Query<AppsScriptQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let pair = query.pair.as_deref().filter(|p| !p.is_empty());
    let text = admin::apps_script_text(&state.settings, pair)?;
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text))
}

/// `{"token", "source"}`: the Notion subscription's verification token (404 before one arrived).
pub async fn notion_token(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let token = admin::notion_token(&state.settings, &state.db).await?;
    Ok(Json(json!(token)))
}

/// Raw strings so a bad `limit` gets our JSON 400 rather than the extractor's plain text.
#[derive(Deserialize)]
pub struct ActivityQuery {
    lead: Option<String>,
    limit: Option<String>,
}

pub async fn activity(
    State(state): State<AppState>,
    Query(query): Query<ActivityQuery>,
) -> Result<Json<Value>, ApiError> {
    let limit = parse_limit(query.limit.as_deref())?;
    let lead = query.lead.as_deref().filter(|l| !l.is_empty());
    let entries = activity::recent(&state.db.pool, lead, limit).await?;
    Ok(Json(json!({ "entries": entries })))
}

/// Default 50; above the maximum is capped at 1000; zero, negative or non-numeric is a 400.
fn parse_limit(raw: Option<&str>) -> Result<i64, ApiError> {
    let Some(raw) = raw else {
        return Ok(ACTIVITY_DEFAULT_LIMIT);
    };
    match raw.trim().parse::<u64>() {
        Ok(0) | Err(_) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("limit must be a whole number from 1 to {ACTIVITY_MAX_LIMIT}"),
        )),
        Ok(n) => Ok(i64::try_from(n).map_or(ACTIVITY_MAX_LIMIT, |n| n.min(ACTIVITY_MAX_LIMIT))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_activity_limit_defaults_caps_and_refuses_nonsense() {
        assert_eq!(parse_limit(None).unwrap(), 50);
        assert_eq!(parse_limit(Some("7")).unwrap(), 7);
        assert_eq!(parse_limit(Some("5000")).unwrap(), 1000);
        assert_eq!(parse_limit(Some("99999999999999999999")).ok(), None);
        for bad in ["0", "-1", "ten", ""] {
            let err = parse_limit(Some(bad)).unwrap_err();
            assert_eq!(err.status, StatusCode::BAD_REQUEST, "{bad}");
        }
    }
}
