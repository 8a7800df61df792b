//! Airtable's error answers: `{"error": {"type", "message"}}` with the documented types, and the
//! bodies of the errors the gate injects or enforces.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// The body Airtable sends with a 429 (the one error whose shape is a list).
pub const RATE_LIMIT_MESSAGE: &str = "Rate limit exceeded. Please try again later";

/// An error answered the way Airtable does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    /// Airtable's error type, e.g. `INVALID_MULTIPLE_CHOICE_OPTIONS`.
    pub kind: String,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, kind: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            kind: kind.to_owned(),
            message: message.into(),
        }
    }

    /// 422: the request data is invalid.
    pub fn invalid(kind: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, kind, message)
    }

    /// 403: what Airtable answers for a base or table the token cannot see or that does not exist.
    pub fn no_access() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND",
            "Invalid permissions, or the requested model was not found. Check that both your user and your token have the required permissions, and that the model names and/or ids are correct.",
        )
    }

    pub fn record_not_found(id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "MODEL_ID_NOT_FOUND",
            format!("Could not find a record with ID \"{id}\"."),
        )
    }

    pub fn bad_json() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "INVALID_REQUEST_BODY",
            "Could not parse request body",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"error": {"type": self.kind, "message": self.message}});
        (self.status, Json(body)).into_response()
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let status = self.status.as_u16();
        write!(f, "HTTP {status} {}: {}", self.kind, self.message)
    }
}

impl std::error::Error for ApiError {}

pub fn rate_limited() -> Response {
    let body = json!({"errors": [{"error": "RATE_LIMIT_REACHED", "message": RATE_LIMIT_MESSAGE}]});
    (StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response()
}

/// Errors the shared gate injects (429 and 5xx) or enforces (the per-token quota).
pub fn gate_error(status: StatusCode) -> Response {
    match status.as_u16() {
        429 => rate_limited(),
        502 => (status, "Bad Gateway").into_response(),
        503 => ApiError::new(
            status,
            "SERVICE_UNAVAILABLE",
            "The server could not process your request in time",
        )
        .into_response(),
        _ => ApiError::new(status, "SERVER_ERROR", "Server error").into_response(),
    }
}

/// An undefined route: Airtable answers a bare `{"error": "NOT_FOUND"}`.
pub fn route_not_found() -> Response {
    (StatusCode::NOT_FOUND, Json(json!({"error": "NOT_FOUND"}))).into_response()
}
