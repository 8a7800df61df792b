//! `/admin`: webhook registration, reconcile, status, activity and the Apps Script, behind
//! `Authorization: Bearer <server.admin_token>`. With an empty token the routes are not mounted
//! at all, so every admin path answers exactly like a path that does not exist.
//!
//! The Trello client is built per request from the settings instead of living in `AppState`:
//! admin calls are rare, and this way the daemon starts (and every other route works) without
//! Trello credentials, and a missing credential is reported by key name on the call that needs it.

mod handlers;

pub use handlers::{list_all as list_webhooks, register_all as register_webhooks};

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::AppState;
use crate::admin::AdminError;

/// The admin routes, or `None` when `server.admin_token` is empty.
pub fn router(state: &AppState) -> Option<Router<AppState>> {
    let routes = Router::new()
        .route(
            "/admin/webhooks",
            post(handlers::register_webhooks).get(handlers::list_webhooks),
        )
        .route("/admin/webhooks/{id}", delete(handlers::delete_webhook))
        .route("/admin/reconcile", post(handlers::reconcile))
        .route("/admin/status", get(handlers::status))
        .route("/admin/apps-script", get(handlers::apps_script))
        .route("/admin/notion-token", get(handlers::notion_token))
        .route("/admin/activity", get(handlers::activity));
    guarded(state, routes)
}

/// `routes` behind the admin token (the console's data routes use it too), or `None` when
/// `server.admin_token` is empty.
pub fn guarded(state: &AppState, routes: Router<AppState>) -> Option<Router<AppState>> {
    let token = state.settings.server.admin_token.expose_secret();
    if token.is_empty() {
        return None;
    }
    let auth = Arc::new(TokenDigest(Sha256::digest(token.as_bytes()).into()));
    // route_layer: only matched routes ask for the token; unknown paths stay 404.
    Some(routes.route_layer(middleware::from_fn_with_state(auth, require_token)))
}

/// SHA-256 of the admin token. Comparing digests keeps the comparison constant-time in the
/// token's length too, which a byte-wise `ct_eq` of unequal lengths would reveal.
struct TokenDigest([u8; 32]);

async fn require_token(
    State(expected): State<Arc<TokenDigest>>,
    request: Request,
    next: Next,
) -> Response {
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|token| Sha256::digest(token.trim().as_bytes()));
    let valid = presented.is_some_and(|digest| bool::from(digest.as_slice().ct_eq(&expected.0)));
    if !valid {
        return ApiError::new(StatusCode::UNAUTHORIZED, "missing or invalid admin token")
            .into_response();
    }
    next.run(request).await
}

/// A JSON error answer `{"error": "…"}`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": self.message });
        (self.status, axum::Json(body)).into_response()
    }
}

impl From<AdminError> for ApiError {
    fn from(err: AdminError) -> Self {
        let status = match &err {
            AdminError::Api(_) => StatusCode::BAD_GATEWAY,
            AdminError::Config(_) => StatusCode::INTERNAL_SERVER_ERROR,
            AdminError::WebhookNotFound(_)
            | AdminError::UnknownPair(..)
            | AdminError::NoPairs
            | AdminError::NoNotionToken => StatusCode::NOT_FOUND,
            AdminError::PairRequired(_) => StatusCode::BAD_REQUEST,
            AdminError::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
        };
        if status.is_server_error() {
            tracing::warn!(error = %err, "admin request failed");
        }
        Self::new(status, err.to_string())
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(err: crate::store::StoreError) -> Self {
        AdminError::Store(err).into()
    }
}
