//! The emulated REST endpoints that change state: cards, lists, custom fields and webhooks.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::items;
use super::model::{self, SandboxWebhook};
use super::ops::{self, ApiError, Params};
use super::request::{Ctx, Q, check_id};

/// Trello takes parameters from the query string and from a JSON body alike (body wins).
pub(super) fn params(Query(q): Q, body: &Bytes) -> Result<Params, ApiError> {
    let mut p: Params = q.into_iter().map(|(k, v)| (k, Value::String(v))).collect();
    if !body.iter().all(u8::is_ascii_whitespace) {
        let Ok(Value::Object(b)) = serde_json::from_slice::<Value>(body) else {
            return Err(ApiError::new(StatusCode::BAD_REQUEST, "invalid JSON"));
        };
        p.extend(b);
    }
    Ok(p)
}

type Answer = Result<Json<Value>, ApiError>;

pub async fn create_card(State(ctx): State<Ctx>, q: Q, body: Bytes) -> Answer {
    let p = params(q, &body)?;
    ctx.core
        .change(|m| ops::create_card(m, &ctx.api_member_id, &p))
        .map(Json)
}

pub async fn update_card(
    State(ctx): State<Ctx>,
    Path(id): Path<String>,
    q: Q,
    body: Bytes,
) -> Answer {
    check_id(&id)?;
    let p = params(q, &body)?;
    ctx.core
        .change(|m| ops::update_card(m, &ctx.api_member_id, &id, &p))
        .map(Json)
}

pub async fn delete_card(State(ctx): State<Ctx>, Path(id): Path<String>) -> Answer {
    check_id(&id)?;
    ctx.core
        .change(|m| ops::delete_card(m, &ctx.api_member_id, &id))
        .map(Json)
}

pub async fn set_item(
    State(ctx): State<Ctx>,
    Path((id, field)): Path<(String, String)>,
    q: Q,
    body: Bytes,
) -> Answer {
    check_id(&id)?;
    check_id(&field)?;
    let p = params(q, &body)?;
    ctx.core
        .change(|m| items::set_item(m, &ctx.api_member_id, &id, &field, &p))
        .map(Json)
}

pub async fn set_items(
    State(ctx): State<Ctx>,
    Path(id): Path<String>,
    q: Q,
    body: Bytes,
) -> Answer {
    check_id(&id)?;
    let p = params(q, &body)?;
    ctx.core
        .change(|m| items::set_items(m, &ctx.api_member_id, &id, &p))
        .map(Json)
}

pub async fn create_list(State(ctx): State<Ctx>, q: Q, body: Bytes) -> Answer {
    let p = params(q, &body)?;
    ctx.core
        .change(|m| ops::create_list(m, &ctx.api_member_id, &p))
        .map(Json)
}

pub async fn create_field(State(ctx): State<Ctx>, q: Q, body: Bytes) -> Answer {
    let p = params(q, &body)?;
    ctx.core
        .change(|m| ops::create_field(m, &ctx.api_member_id, &p))
        .map(Json)
}

const DUPLICATE: &str = "A webhook with that callback, model, and token already exists";

/// Like Trello: validates, refuses duplicates per token, and only registers a callback that
/// answers 200 to a HEAD request. Unlike Trello, only loopback callbacks are accepted, so the
/// emulator can never be made to contact another machine.
pub async fn create_webhook(State(ctx): State<Ctx>, q: Q, body: Bytes) -> Answer {
    let p = params(q, &body)?;
    let text = |k: &str| p.get(k).and_then(Value::as_str).map(str::to_owned);
    let callback = text("callbackURL").ok_or_else(|| ApiError::invalid("callbackURL"))?;
    let id_model = text("idModel").ok_or_else(|| ApiError::invalid("idModel"))?;
    let description = text("description").unwrap_or_default();
    let url = reqwest::Url::parse(&callback).map_err(|_| ApiError::invalid("callbackURL"))?;
    let loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    if !matches!(url.scheme(), "http" | "https") || !loopback {
        return Err(ApiError::invalid("callbackURL"));
    }
    let exists = |ctx: &Ctx| -> Result<(), ApiError> {
        let m = ctx.core.lock();
        let known = m.board(&id_model).is_some()
            || m.card(&id_model).is_some()
            || m.list(&id_model).is_some();
        if !known {
            return Err(ApiError::invalid("idModel"));
        }
        let dup = m
            .webhooks
            .iter()
            .any(|w| w.token == ctx.token && w.callback_url == callback && w.id_model == id_model);
        if dup {
            Err(ApiError::new(StatusCode::BAD_REQUEST, DUPLICATE))
        } else {
            Ok(())
        }
    };
    exists(&ctx)?;
    let status = match ctx.http.head(url).send().await {
        Ok(r) => r.status().as_u16().to_string(),
        Err(_) => "no answer".to_owned(),
    };
    if status != "200" {
        let message = format!("URL ({callback}) did not return 200 status code, got {status}");
        return Err(ApiError::new(StatusCode::BAD_REQUEST, message));
    }
    exists(&ctx)?;
    let mut m = ctx.core.lock();
    let hook = SandboxWebhook {
        id: m.new_id(),
        description,
        id_model,
        callback_url: callback,
        active: true,
        token: ctx.token.clone(),
    };
    m.webhooks.push(hook.clone());
    Ok(Json(model::webhook_json(&hook)))
}

pub async fn get_webhook(State(ctx): State<Ctx>, Path(id): Path<String>) -> Answer {
    check_id(&id)?;
    let m = ctx.core.lock();
    let hook = m
        .webhooks
        .iter()
        .find(|w| w.id == id && w.token == ctx.token);
    Ok(Json(model::webhook_json(
        hook.ok_or_else(ApiError::not_found)?,
    )))
}

pub async fn delete_webhook(State(ctx): State<Ctx>, Path(id): Path<String>) -> Answer {
    check_id(&id)?;
    let mut m = ctx.core.lock();
    let before = m.webhooks.len();
    m.webhooks.retain(|w| !(w.id == id && w.token == ctx.token));
    if m.webhooks.len() == before {
        return Err(ApiError::not_found());
    }
    Ok(Json(json!({"_value": null})))
}

pub async fn token_webhooks(State(ctx): State<Ctx>, Path(token): Path<String>) -> Answer {
    if token != ctx.token {
        return Err(ApiError::new(StatusCode::UNAUTHORIZED, "invalid token"));
    }
    let m = ctx.core.lock();
    let hooks = m
        .webhooks
        .iter()
        .filter(|w| w.token == ctx.token)
        .map(model::webhook_json);
    Ok(Json(Value::Array(hooks.collect())))
}
