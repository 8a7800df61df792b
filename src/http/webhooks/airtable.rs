//! `POST /webhooks/airtable`: Airtable's ping that a base webhook has new payloads. The ping
//! carries no changes (the fetcher reads them by cursor), so acknowledging it only needs the
//! webhook's ping counter raised durably: raw bytes → stored secret → MAC → the inbox writer's
//! group commit (as events are) → 200.

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::{BytesRejection, FailedToBufferBody};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::receive::{RETRY_AFTER_SECS, error};
use crate::connectors::airtable::client::{MAC_HEADER, VerifyError, verify_notification};
use crate::http::AppState;
use crate::model::TrackerKind;
use crate::store::inbox_writer::WriteError;
use crate::store::{StoreError, tracker_webhooks};

const LABEL: &str = "airtable";

enum Refusal {
    TooLarge,
    Unreadable,
    MissingMac,
    UnknownWebhook,
    Invalid(VerifyError),
    WrongBase,
    Store(StoreError),
    /// The writer did not commit the ping (queue full, commit failed, shutting down).
    Write(WriteError),
}

impl Refusal {
    fn reason(&self) -> &'static str {
        match self {
            Refusal::TooLarge => "too_large",
            Refusal::Unreadable => "unreadable_body",
            Refusal::MissingMac => "missing_signature",
            Refusal::UnknownWebhook => "unknown_webhook",
            Refusal::Invalid(VerifyError::MalformedHeader(_)) => "malformed_signature",
            Refusal::Invalid(VerifyError::BadSecret) => "bad_secret",
            Refusal::Invalid(VerifyError::BadMac) => "bad_signature",
            Refusal::Invalid(VerifyError::Body(_)) | Refusal::WrongBase => "bad_payload",
            Refusal::Store(_) | Refusal::Write(_) => "store_failure",
        }
    }

    fn into_response(self) -> Response {
        match self {
            Refusal::TooLarge => error(StatusCode::PAYLOAD_TOO_LARGE, "body too large"),
            Refusal::Unreadable => error(StatusCode::BAD_REQUEST, "body could not be read"),
            Refusal::MissingMac => error(
                StatusCode::UNAUTHORIZED,
                &format!("{MAC_HEADER} header is missing"),
            ),
            Refusal::UnknownWebhook => error(
                StatusCode::UNAUTHORIZED,
                "webhook.id names no Airtable webhook registered by leadsync",
            ),
            // Signed by us, so the sender is Airtable: say what is wrong with the body.
            Refusal::Invalid(e @ VerifyError::Body(_)) => {
                error(StatusCode::BAD_REQUEST, &e.to_string())
            }
            Refusal::WrongBase => error(
                StatusCode::BAD_REQUEST,
                "notification body: base.id is not the webhook's base",
            ),
            Refusal::Invalid(e) => error(StatusCode::UNAUTHORIZED, &e.to_string()),
            Refusal::Store(_) | Refusal::Write(_) => {
                // A full queue clears in milliseconds; a failed commit may take longer to heal.
                let retry = match self {
                    Refusal::Write(WriteError::Full) => "1",
                    _ => RETRY_AFTER_SECS,
                };
                let mut response = error(StatusCode::SERVICE_UNAVAILABLE, "ping not stored, retry");
                (response.headers_mut())
                    .insert(header::RETRY_AFTER, HeaderValue::from_static(retry));
                response
            }
        }
    }
}

pub(super) async fn ping(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    metrics::counter!("leadsync_webhooks_received_total", "source" => LABEL).increment(1);
    match count_ping(&state, &headers, body).await {
        // Airtable ignores the body; an empty one is what its documentation shows.
        Ok(webhook_id) => {
            tracing::debug!(source = LABEL, webhook_id, "airtable ping counted");
            StatusCode::OK.into_response()
        }
        Err(refusal) => {
            let reason = refusal.reason();
            let failure = match &refusal {
                Refusal::Store(err) => Some(err.to_string()),
                Refusal::Write(err) => Some(err.to_string()),
                _ => None,
            };
            if let Some(err) = failure {
                metrics::counter!("leadsync_webhooks_store_failures_total", "source" => LABEL)
                    .increment(1);
                tracing::error!(source = LABEL, error = %err, "airtable ping could not be stored");
            } else {
                metrics::counter!("leadsync_webhooks_rejected_total", "source" => LABEL, "reason" => reason)
                    .increment(1);
                tracing::info!(source = LABEL, reason, "webhook rejected");
            }
            refusal.into_response()
        }
    }
}

/// Verifies the ping and raises its webhook's counter; answers the webhook id.
async fn count_ping(
    state: &AppState,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<String, Refusal> {
    let bytes = body.map_err(|rejection| match rejection {
        BytesRejection::FailedToBufferBody(FailedToBufferBody::LengthLimitError(_)) => {
            Refusal::TooLarge
        }
        _ => Refusal::Unreadable,
    })?;
    let mac = headers
        .get(MAC_HEADER)
        .and_then(|v| v.to_str().ok())
        .ok_or(Refusal::MissingMac)?;
    let connector = TrackerKind::Airtable.as_str();
    // The secret is the webhook's, so its id is read before the MAC can be checked; nothing
    // else of the body is looked at until the MAC matches.
    let claimed = claimed_webhook_id(&bytes).ok_or(Refusal::UnknownWebhook)?;
    let stored = tracker_webhooks::get(&state.db.pool, connector, &claimed)
        .await
        .map_err(Refusal::Store)?
        .ok_or(Refusal::UnknownWebhook)?;
    let note = verify_notification(&stored.mac_secret, &bytes, mac).map_err(Refusal::Invalid)?;
    if note.base_id != stored.base_id {
        return Err(Refusal::WrongBase);
    }
    match state.inbox.ping(connector, &stored.id).await {
        Ok(true) => Ok(stored.id),
        // Deleted between the read and the update: no longer ours.
        Ok(false) => Err(Refusal::UnknownWebhook),
        Err(err) => Err(Refusal::Write(err)),
    }
}

/// `webhook.id` of a JSON body, if it has one.
fn claimed_webhook_id(bytes: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Claim {
        webhook: Id,
    }
    #[derive(serde::Deserialize)]
    struct Id {
        id: String,
    }
    serde_json::from_slice::<Claim>(bytes)
        .ok()
        .map(|c| c.webhook.id)
}
