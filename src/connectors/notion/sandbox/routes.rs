//! The emulated REST surface under `/v1`: the router, the bearer token and `Notion-Version`
//! checks, the integration's rate limit, and the handlers.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router, middleware};
use serde_json::{Map, Value};

use super::error::{self, ApiError};
use super::limit::Limiter;
use super::model::Author;
use super::ops::{Core, canonical};
use super::query;
use crate::sandbox::common::{Gate, GateHooks, gate_middleware};

/// What every handler needs: the state, the expected token and the integration's bot user.
#[derive(Clone)]
pub struct Ctx {
    pub core: Arc<Core>,
    pub token: String,
    pub limiter: Arc<Limiter>,
    pub bot: Author,
}

type Answer = Result<Json<Value>, ApiError>;

pub fn router(ctx: Ctx, gate: Gate) -> Router {
    let hooks = GateHooks {
        gate,
        quota_keys: Arc::new(|req: &Request| {
            bearer(req.headers()).map_or_else(Vec::new, |t| vec![format!("token:{t}")])
        }),
        error_response: Arc::new(error::gate_error),
    };
    let api = Router::new()
        .route("/databases/{id}", get(database))
        .route(
            "/data_sources/{id}",
            get(data_source).patch(update_data_source),
        )
        .route("/data_sources/{id}/query", post(query_data_source))
        .route("/pages", post(create_page))
        .route("/pages/{id}", get(page).patch(update_page))
        .route("/users/me", get(bot_user))
        .fallback(|| async {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_request_url",
                "Invalid request URL.",
            )
        })
        .layer(middleware::from_fn_with_state(ctx.clone(), admit))
        .with_state(ctx);
    Router::new()
        .nest("/v1", api)
        .layer(middleware::from_fn_with_state(hooks, gate_middleware))
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let token = value.strip_prefix("Bearer ")?.trim();
    (!token.is_empty()).then(|| token.to_owned())
}

/// Token first (401), then the version header (400), then the rate limit (429 with
/// `Retry-After`), so calls refused anyway do not spend the budget.
async fn admit(State(ctx): State<Ctx>, req: Request, next: Next) -> Response {
    if bearer(req.headers()).as_deref() != Some(ctx.token.as_str()) {
        let e = ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "API token is invalid.",
        );
        return e.into_response();
    }
    if req.headers().get("notion-version").is_none() {
        let e = ApiError::new(
            StatusCode::BAD_REQUEST,
            "missing_version",
            "Notion-Version header failed validation: Notion-Version header should be defined, instead was `undefined`.",
        );
        return e.into_response();
    }
    if let Err(secs) = ctx.limiter.admit(Instant::now()) {
        let mut resp = error::gate_error(StatusCode::TOO_MANY_REQUESTS);
        resp.headers_mut()
            .insert("retry-after", HeaderValue::from(secs));
        return resp;
    }
    next.run(req).await
}

fn object(body: &Bytes) -> Result<Map<String, Value>, ApiError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            "Error parsing JSON body.",
        )),
    }
}

async fn database(State(ctx): State<Ctx>, Path(id): Path<String>) -> Answer {
    let id = canonical(&id).ok_or_else(|| ApiError::not_found(&id))?;
    ctx.core
        .lock()
        .render_database(&id)
        .map(Json)
        .ok_or_else(|| ApiError::not_found(&id))
}

async fn data_source(State(ctx): State<Ctx>, Path(id): Path<String>) -> Answer {
    let id = canonical(&id).ok_or_else(|| ApiError::not_found(&id))?;
    let store = ctx.core.lock();
    let ds = store
        .data_sources
        .get(&id)
        .ok_or_else(|| ApiError::not_found(&id))?;
    Ok(Json(ds.render()))
}

async fn update_data_source(State(ctx): State<Ctx>, Path(id): Path<String>, body: Bytes) -> Answer {
    let body = object(&body)?;
    let props = match body.get("properties") {
        Some(Value::Object(p)) => p.clone(),
        None => Map::new(),
        Some(_) => return Err(ApiError::validation("body.properties should be an object")),
    };
    ctx.core.update_data_source(&id, &props).map(Json)
}

async fn query_data_source(State(ctx): State<Ctx>, Path(id): Path<String>, body: Bytes) -> Answer {
    let body = if body.is_empty() {
        Map::new()
    } else {
        object(&body)?
    };
    query::run(&mut ctx.core.lock(), &id, &body).map(Json)
}

async fn create_page(State(ctx): State<Ctx>, body: Bytes) -> Answer {
    let body = object(&body)?;
    let parent = &body.get("parent").cloned().unwrap_or_default();
    let ds = parent["data_source_id"].as_str().ok_or_else(|| {
        ApiError::validation("body.parent.data_source_id should be defined (pages of a data source are created with a data_source_id parent)")
    })?;
    let props = body
        .get("properties")
        .cloned()
        .unwrap_or_else(|| Value::Object(Map::new()));
    ctx.core.create_page(&ctx.bot, ds, &props).map(Json)
}

/// The token's bot user, as Notion answers `GET /v1/users/me`.
async fn bot_user(State(ctx): State<Ctx>) -> Json<Value> {
    Json(serde_json::json!({
        "object": "user", "id": ctx.bot.id, "name": "leadsync (sandbox)", "avatar_url": null,
        "type": "bot", "bot": {"owner": {"type": "workspace", "workspace": true}},
    }))
}

async fn page(State(ctx): State<Ctx>, Path(id): Path<String>) -> Answer {
    let id = canonical(&id).ok_or_else(|| ApiError::not_found(&id))?;
    ctx.core
        .lock()
        .render_page(&id)
        .map(Json)
        .ok_or_else(|| ApiError::not_found(&id))
}

async fn update_page(State(ctx): State<Ctx>, Path(id): Path<String>, body: Bytes) -> Answer {
    let body = object(&body)?;
    let trash = body.get("in_trash").or_else(|| body.get("archived"));
    let in_trash = match trash {
        None => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(_) => return Err(ApiError::validation("body.in_trash should be a boolean")),
    };
    ctx.core
        .update_page(&ctx.bot, &id, body.get("properties"), in_trash)
        .map(Json)
}
