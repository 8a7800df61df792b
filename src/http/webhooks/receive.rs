//! The two webhook handlers: raw bytes → verify → route → durable insert → answer. Nothing is
//! parsed before its signature is checked and nothing is acknowledged before it is committed.

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::{BytesRejection, FailedToBufferBody};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::http::AppState;
use crate::inbound::signature::{RawEvent, Source, Unverified, Verified, VerifyError};
use crate::store::inbox::Stored;
use crate::store::inbox_writer::WriteError;

/// Seconds a sender is asked to wait after a 503.
pub(super) const RETRY_AFTER_SECS: &str = "5";

pub(super) async fn trello(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    receive(&state, Source::Trello, headers, body, |state, request| {
        let verifier = state.ingress.trello().ok_or(Refusal::NotConfigured)?;
        Ok(verifier.verify(request)?)
    })
    .await
}

pub(super) async fn sheets(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    receive(&state, Source::Sheets, headers, body, |state, request| {
        let verifier = state.ingress.sheets().ok_or(Refusal::NotConfigured)?;
        let now = chrono::Utc::now().timestamp();
        Ok(verifier.verify(request, now)?)
    })
    .await
}

/// Trello checks a callback URL with HEAD before it creates a webhook.
pub(super) async fn trello_head() -> StatusCode {
    StatusCode::OK
}

pub(super) async fn method_not_allowed() -> Response {
    let mut response = error(StatusCode::METHOD_NOT_ALLOWED, "method not allowed");
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("POST"));
    response
}

enum Refusal {
    TooLarge,
    Unreadable,
    NotConfigured,
    Invalid(VerifyError),
}

impl From<VerifyError> for Refusal {
    fn from(error: VerifyError) -> Self {
        Refusal::Invalid(error)
    }
}

impl Refusal {
    fn reason(&self) -> &'static str {
        match self {
            Refusal::TooLarge => "too_large",
            Refusal::Unreadable => "unreadable_body",
            Refusal::NotConfigured => "not_configured",
            Refusal::Invalid(error) => error.reason(),
        }
    }

    fn into_response(self) -> Response {
        match self {
            Refusal::TooLarge => error(StatusCode::PAYLOAD_TOO_LARGE, "body too large"),
            Refusal::Unreadable => error(StatusCode::BAD_REQUEST, "body could not be read"),
            Refusal::NotConfigured => {
                error(StatusCode::UNAUTHORIZED, "no signing secret is configured")
            }
            // Both name what is wrong: the sender (or whoever reads its logs) can fix it.
            Refusal::Invalid(e) if e.is_payload_error() => {
                error(StatusCode::BAD_REQUEST, &e.to_string())
            }
            Refusal::Invalid(e) => error(StatusCode::UNAUTHORIZED, &e.to_string()),
        }
    }
}

async fn receive(
    state: &AppState,
    source: Source,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
    verify: impl FnOnce(&AppState, &Unverified) -> Result<Verified<RawEvent>, Refusal>,
) -> Response {
    let label = source.as_str();
    metrics::counter!("leadsync_webhooks_received_total", "source" => label).increment(1);
    let verified = body
        .map_err(|rejection| match rejection {
            // The limit is applied while buffering, before a single byte is hashed.
            BytesRejection::FailedToBufferBody(FailedToBufferBody::LengthLimitError(_)) => {
                Refusal::TooLarge
            }
            _ => Refusal::Unreadable,
        })
        .and_then(|bytes| verify(state, &Unverified::new(headers, bytes)));
    let event = match verified {
        Ok(event) => event,
        Err(refusal) => {
            let reason = refusal.reason();
            metrics::counter!("leadsync_webhooks_rejected_total", "source" => label, "reason" => reason)
                .increment(1);
            tracing::info!(source = label, reason, "webhook rejected");
            return refusal.into_response();
        }
    };
    let routes = state.ingress.routes_for(&event.route);
    if routes.is_empty() {
        metrics::counter!("leadsync_webhooks_unrouted_total", "source" => label).increment(1);
        tracing::warn!(source = label, route = ?event.route, dedupe_key = %event.dedupe_key,
            "webhook for no configured pair; acknowledged, not stored");
        return answer(false, Some("no configured pair"));
    }
    // Each pair and mirror of the board gets the action once; a duplicate is one all had.
    let mut duplicate = true;
    for pair in routes {
        match store_one(state, label, event.clone(), pair).await {
            Ok(stored) => duplicate &= stored == Stored::Duplicate,
            Err(response) => return response,
        }
    }
    answer(duplicate, None)
}

async fn store_one(
    state: &AppState,
    label: &'static str,
    event: Verified<RawEvent>,
    pair: &str,
) -> Result<Stored, Response> {
    match state.inbox.store(event, pair).await {
        Ok(Stored::New(id)) => {
            metrics::counter!("leadsync_webhooks_stored_total", "source" => label).increment(1);
            tracing::debug!(source = label, pair, inbox_id = id, "webhook stored");
            Ok(Stored::New(id))
        }
        Ok(Stored::Duplicate) => {
            metrics::counter!("leadsync_webhooks_duplicates_total", "source" => label).increment(1);
            Ok(Stored::Duplicate)
        }
        Err(err) => {
            metrics::counter!("leadsync_webhooks_store_failures_total", "source" => label)
                .increment(1);
            tracing::error!(source = label, pair, error = %err, "webhook could not be stored");
            // A full queue clears in milliseconds; a failed commit may take longer to heal.
            let retry = match err {
                WriteError::Full => "1",
                _ => RETRY_AFTER_SECS,
            };
            let mut response = error(StatusCode::SERVICE_UNAVAILABLE, "event not stored, retry");
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static(retry));
            Err(response)
        }
    }
}

fn answer(duplicate: bool, ignored: Option<&str>) -> Response {
    let mut body = json!({"accepted": true, "duplicate": duplicate});
    if let Some(why) = ignored {
        body["ignored"] = json!(why);
    }
    (StatusCode::OK, axum::Json(body)).into_response()
}

pub(super) fn error(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(json!({"error": message}))).into_response()
}
