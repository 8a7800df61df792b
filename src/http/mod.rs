//! The HTTP surface: router, shared state and the layers every request passes through.

pub mod admin;
mod health;
pub mod metrics;
pub mod webhooks;

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::TraceLayer;

use crate::config::Settings;
use crate::store::Db;

/// What every handler can reach. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub settings: Arc<Settings>,
    pub db: Db,
    pub metrics: metrics_exporter_prometheus::PrometheusHandle,
    pub started: Instant,
    /// Webhook verifiers and the event → pair routing table.
    pub ingress: Arc<webhooks::Ingress>,
    /// The sync engine, when pairs are configured and resolved.
    pub engine: Option<crate::sync::handle::EngineHandle>,
}

/// The full router with its layers, ready to serve.
pub fn router(state: AppState) -> Router {
    let limit = state.settings.server.max_body_bytes;
    let mut routes = Router::new()
        .merge(health::router())
        .merge(webhooks::router());
    if let Some(admin) = admin::router(&state) {
        routes = routes.merge(admin);
    }
    routes
        .fallback(not_found)
        .layer(axum::middleware::from_fn(metrics::track_requests))
        // Both limits: the tower layer answers 413 from Content-Length before a body is read,
        // axum's applies to bodies that are streamed without one.
        .layer(DefaultBodyLimit::max(limit))
        .layer(RequestBodyLimitLayer::new(limit))
        .layer(axum::middleware::map_response(json_payload_too_large))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Unknown paths answer JSON like every other error (`{"error": …}`).
async fn not_found() -> admin::ApiError {
    admin::ApiError::new(axum::http::StatusCode::NOT_FOUND, "not found")
}

/// The body-limit layer answers 413 in plain text; every answer of ours is JSON.
async fn json_payload_too_large(response: axum::response::Response) -> axum::response::Response {
    use axum::response::IntoResponse;
    let is_json = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if response.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE && !is_json {
        return (
            axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            axum::Json(serde_json::json!({"error": "request body too large"})),
        )
            .into_response();
    }
    response
}
