//! Notion's error answers: `{"object": "error", "status", "code", "message"}` with the documented
//! codes, and the bodies of the errors the gate injects.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An error answered the way Notion does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    /// Notion's error code, e.g. `validation_error`.
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    /// 400: the request does not match what the endpoint takes.
    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "validation_error", message)
    }

    /// 404: what Notion answers for an object that does not exist or is not shared with the
    /// integration.
    pub fn not_found(id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "object_not_found",
            format!(
                "Could not find object with ID: {id}. Make sure the relevant pages and databases are shared with your integration."
            ),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"object": "error", "status": self.status.as_u16(),
            "code": self.code, "message": self.message});
        (self.status, Json(body)).into_response()
    }
}

/// The body of an error the gate injects, in Notion's shape.
pub fn gate_error(status: StatusCode) -> Response {
    let (code, message) = match status.as_u16() {
        429 => (
            "rate_limited",
            "You have been rate limited. Please try again in a few minutes.",
        ),
        502 => ("bad_gateway", "Bad gateway."),
        503 => (
            "service_unavailable",
            "Notion is unavailable, please try again later.",
        ),
        _ => ("internal_server_error", "Unexpected error occurred."),
    };
    ApiError::new(status, code, message).into_response()
}
