//! The HTTP surface: router, shared state and the layers every request passes through.

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
}

/// The full router with its layers, ready to serve.
pub fn router(state: AppState) -> Router {
    let limit = state.settings.server.max_body_bytes;
    Router::new()
        .merge(health::router())
        .merge(webhooks::router())
        .layer(axum::middleware::from_fn(metrics::track_requests))
        // Both limits: the tower layer answers 413 from Content-Length before a body is read,
        // axum's applies to bodies that are streamed without one.
        .layer(DefaultBodyLimit::max(limit))
        .layer(RequestBodyLimitLayer::new(limit))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}
