//! The HTTP surface: router, shared state and the layers every request passes through.

pub mod admin;
mod console;
mod health;
pub mod metrics;
pub mod serve;
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
    /// Group commit of verified webhook events (one transaction per batch of waiting ones).
    pub inbox: crate::store::inbox_writer::InboxWriter,
    pub metrics: metrics_exporter_prometheus::PrometheusHandle,
    pub started: Instant,
    /// Webhook verifiers and the event → pair routing table.
    pub ingress: Arc<webhooks::Ingress>,
    /// The sync engine, when pairs are configured and resolved.
    pub engine: Option<crate::sync::handle::EngineHandle>,
    /// The daemon's one Trello client (`None` with the engine off): the `/admin` webhook calls
    /// go through it, so they spend the token's one budget, which the console shows.
    pub trello: Option<crate::connectors::trello::client::TrelloClient>,
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
    if let Some(console) = console::router(&state) {
        routes = routes.merge(console);
    }
    routes
        .fallback(not_found)
        .layer(axum::middleware::from_fn(metrics::track_requests))
        // Both limits: the tower layer answers 413 from Content-Length before a body is read,
        // axum's applies to bodies that are streamed without one.
        .layer(DefaultBodyLimit::max(limit))
        .layer(RequestBodyLimitLayer::new(limit))
        .layer(axum::middleware::map_response(json_errors))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Unknown paths answer JSON like every other error (`{"error": …}`).
async fn not_found() -> admin::ApiError {
    admin::ApiError::new(axum::http::StatusCode::NOT_FOUND, "not found")
}

/// Layers and extractors answer some errors in plain text or with no body (the body-limit
/// layer's 413, a rejected body's 400 or 408); every answer of ours is JSON. A short plain-text
/// message is kept as the error; otherwise the status's reason stands in.
async fn json_errors(response: axum::response::Response) -> axum::response::Response {
    use axum::http::header::CONTENT_TYPE;
    use axum::response::IntoResponse;
    let status = response.status();
    let content_type = response.headers().get(CONTENT_TYPE).cloned();
    let is_json = content_type
        .as_ref()
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (parts, body) = response.into_parts();
    let is_text = content_type.is_some_and(|v| v.as_bytes().starts_with(b"text/plain"));
    let text = if is_text {
        axum::body::to_bytes(body, MAX_PLAIN_ERROR)
            .await
            .ok()
            .and_then(|b| String::from_utf8(b.to_vec()).ok())
    } else {
        None
    };
    let message = match (status, text) {
        (axum::http::StatusCode::PAYLOAD_TOO_LARGE, _) => "request body too large".to_owned(),
        (_, Some(text)) if !text.trim().is_empty() => text.trim().to_owned(),
        _ => status.canonical_reason().unwrap_or("error").to_lowercase(),
    };
    let mut json = admin::ApiError::new(status, message).into_response();
    // Headers that still apply (Allow, Retry-After, Connection) are kept.
    for (name, value) in &parts.headers {
        if name != CONTENT_TYPE && name != axum::http::header::CONTENT_LENGTH {
            json.headers_mut().append(name.clone(), value.clone());
        }
    }
    json
}

/// Longest plain-text error body kept as the JSON error's message.
const MAX_PLAIN_ERROR: usize = 4096;

#[cfg(test)]
mod tests {
    use axum::http::{StatusCode, header};
    use axum::response::IntoResponse;

    async fn error_of(response: axum::response::Response) -> (StatusCode, serde_json::Value) {
        let answer = super::json_errors(response).await;
        let status = answer.status();
        let is_json = answer
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.as_bytes());
        assert_eq!(is_json, Some(&b"application/json"[..]));
        let body = axum::body::to_bytes(answer.into_body(), 4096)
            .await
            .unwrap();
        (status, serde_json::from_slice(&body).unwrap())
    }

    #[tokio::test]
    async fn plain_text_errors_keep_their_message_and_empty_ones_get_the_reason() {
        let text = (StatusCode::BAD_REQUEST, "Failed to parse the request body").into_response();
        let (status, body) = error_of(text).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"], "Failed to parse the request body");

        let (status, body) = error_of(StatusCode::METHOD_NOT_ALLOWED.into_response()).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(body["error"], "method not allowed");
    }

    #[tokio::test]
    async fn successes_pass_unchanged() {
        let ok = (StatusCode::OK, "text").into_response();
        let answer = super::json_errors(ok).await;
        assert_eq!(
            answer.headers()[header::CONTENT_TYPE],
            "text/plain; charset=utf-8"
        );
    }
}
