//! The emulated REST surface under `/v0`: the router, the bearer-token and base-access check, the
//! per-base rate limit.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post};
use axum::{Router, middleware};

use super::error::{self, ApiError};
use super::request::Ctx;
use super::{meta, records, webhooks};
use crate::sandbox::common::{Gate, GateHooks, gate_middleware};

pub fn router(ctx: Ctx, gate: Gate) -> Router {
    let hooks = GateHooks {
        gate,
        // Airtable's second limit is per token (50 per second); the gate enforces it.
        quota_keys: Arc::new(|req: &Request| {
            bearer(req.headers()).map_or_else(Vec::new, |t| vec![format!("token:{t}")])
        }),
        error_response: Arc::new(error::gate_error),
    };
    let api = Router::new()
        .route("/meta/bases", get(meta::bases))
        .route("/meta/bases/{base}/tables", get(meta::tables))
        .route(
            "/meta/bases/{base}/tables/{table}/fields",
            post(meta::create_field),
        )
        .route(
            "/meta/bases/{base}/tables/{table}/fields/{field}",
            patch(meta::update_field),
        )
        .route(
            "/bases/{base}/webhooks",
            get(webhooks::list).post(webhooks::create),
        )
        .route("/bases/{base}/webhooks/{id}", delete(webhooks::delete))
        .route(
            "/bases/{base}/webhooks/{id}/refresh",
            post(webhooks::refresh),
        )
        .route(
            "/bases/{base}/webhooks/{id}/payloads",
            get(webhooks::payloads),
        )
        .route(
            "/{base}/{table}",
            get(records::list)
                .post(records::create)
                .patch(records::update)
                .put(records::replace)
                .delete(records::delete_many),
        )
        .route(
            "/{base}/{table}/{record}",
            get(records::get_one)
                .patch(records::update_one)
                .put(records::replace_one)
                .delete(records::delete_one),
        )
        .fallback(|| async { error::route_not_found() })
        .layer(middleware::from_fn_with_state(ctx.clone(), admit))
        .with_state(ctx);
    Router::new()
        .nest("/v0", api)
        .layer(middleware::from_fn_with_state(hooks, gate_middleware))
}

pub fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let token = value.strip_prefix("Bearer ")?.trim();
    (!token.is_empty()).then(|| token.to_owned())
}

/// The base a path is about, wherever the API family puts it.
pub fn base_of(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("/v0").unwrap_or(path);
    let segments: Vec<&str> = rest.trim_start_matches('/').split('/').collect();
    match segments.as_slice() {
        ["meta", "bases", base, ..] | ["bases", base, ..] => Some(base),
        ["meta" | "bases", ..] => None,
        [base, _table, ..] if !base.is_empty() => Some(base),
        _ => None,
    }
}

/// Token first (401), then the base (403 when unknown or not granted to the token), then the
/// base's rate limit (429), so calls that are refused anyway cannot lock a base out.
async fn admit(State(ctx): State<Ctx>, req: Request, next: Next) -> Response {
    match bearer(req.headers()) {
        None => {
            let e = ApiError::new(
                StatusCode::UNAUTHORIZED,
                "AUTHENTICATION_REQUIRED",
                "Authentication required",
            );
            return e.into_response();
        }
        Some(t) if t != ctx.token => {
            let e = ApiError::new(
                StatusCode::UNAUTHORIZED,
                "AUTHENTICATION_REQUIRED",
                "Invalid authentication token",
            );
            return e.into_response();
        }
        Some(_) => {}
    }
    if let Some(base) = base_of(req.uri().path()) {
        let granted = ctx.core.lock().base(base).is_some_and(|b| b.token_access);
        if !granted {
            return ApiError::no_access().into_response();
        }
        if !ctx.limiter.admit(base, Instant::now()) {
            return error::rate_limited();
        }
    }
    next.run(req).await
}
