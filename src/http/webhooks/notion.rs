//! `POST /webhooks/notion`: Notion's subscription. Its first request is the unsigned
//! verification request, whose token is kept (never logged; a later one never replaces it) and
//! answered 200. Every later request is an event signed with that token (or with
//! `notion.webhook_verification_token`, which takes precedence): raw bytes → `X-Notion-Signature`
//! checked in constant time → stored once per event id → 200. Events only name a page: the
//! Notion change feed reads it (`connectors/notion/feed`).

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::{BytesRejection, FailedToBufferBody};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use secrecy::ExposeSecret;

use super::receive::{RETRY_AFTER_SECS, error};
use crate::connectors::notion::client::{
    Delivery, SIGNATURE_HEADER, VerifyError, parse_delivery, verify_signature,
};
use crate::http::AppState;
use crate::store::StoreError;
use crate::store::notion::{self as stored, NewEvent};

const LABEL: &str = "notion";

enum Refusal {
    TooLarge,
    Unreadable,
    MissingSignature,
    Invalid(VerifyError),
    /// Signed by the token, so sent by Notion: the body is what is wrong.
    BadBody(String),
    Store(StoreError),
}

impl Refusal {
    fn reason(&self) -> &'static str {
        match self {
            Refusal::TooLarge => "too_large",
            Refusal::Unreadable => "unreadable_body",
            Refusal::MissingSignature => "missing_signature",
            Refusal::Invalid(VerifyError::MalformedHeader(_)) => "malformed_signature",
            Refusal::Invalid(VerifyError::NoToken) => "no_token",
            Refusal::Invalid(VerifyError::BadSignature) => "bad_signature",
            Refusal::BadBody(_) => "bad_payload",
            Refusal::Store(_) => "store_failure",
        }
    }

    fn into_response(self) -> Response {
        match self {
            Refusal::TooLarge => error(StatusCode::PAYLOAD_TOO_LARGE, "body too large"),
            Refusal::Unreadable => error(StatusCode::BAD_REQUEST, "body could not be read"),
            Refusal::MissingSignature => error(
                StatusCode::UNAUTHORIZED,
                &format!("{SIGNATURE_HEADER} header is missing"),
            ),
            Refusal::Invalid(e) => error(StatusCode::UNAUTHORIZED, &e.to_string()),
            Refusal::BadBody(e) => error(StatusCode::BAD_REQUEST, &format!("event body: {e}")),
            Refusal::Store(_) => {
                let mut response =
                    error(StatusCode::SERVICE_UNAVAILABLE, "event not stored, retry");
                (response.headers_mut()).insert(
                    header::RETRY_AFTER,
                    HeaderValue::from_static(RETRY_AFTER_SECS),
                );
                response
            }
        }
    }
}

pub(super) async fn receive(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    metrics::counter!("leadsync_webhooks_received_total", "source" => LABEL).increment(1);
    match handle(&state, &headers, body).await {
        Ok(()) => StatusCode::OK.into_response(),
        Err(refusal) => {
            let reason = refusal.reason();
            if let Refusal::Store(err) = &refusal {
                metrics::counter!("leadsync_webhooks_store_failures_total", "source" => LABEL)
                    .increment(1);
                tracing::error!(source = LABEL, error = %err, "notion event could not be stored");
            } else {
                metrics::counter!("leadsync_webhooks_rejected_total", "source" => LABEL, "reason" => reason)
                    .increment(1);
                tracing::info!(source = LABEL, reason, "webhook rejected");
            }
            refusal.into_response()
        }
    }
}

async fn handle(
    state: &AppState,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(), Refusal> {
    let bytes = body.map_err(|rejection| match rejection {
        BytesRejection::FailedToBufferBody(FailedToBufferBody::LengthLimitError(_)) => {
            Refusal::TooLarge
        }
        _ => Refusal::Unreadable,
    })?;
    let signature = headers.get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok());
    let Some(signature) = signature else {
        // Only the verification request comes unsigned; anything else unsigned is refused
        // before its body means anything.
        return match parse_delivery(&bytes) {
            Ok(Delivery::Verification { token }) => verification(state, &token).await,
            _ => Err(Refusal::MissingSignature),
        };
    };
    let token = signing_token(state).await?;
    verify_signature(&token, &bytes, signature).map_err(Refusal::Invalid)?;
    match parse_delivery(&bytes).map_err(Refusal::BadBody)? {
        Delivery::Verification { token } => verification(state, &token).await,
        Delivery::Event(event) => {
            let new = NewEvent {
                id: &event.id,
                kind: &event.kind,
                page_id: event.page_id(),
                parent_id: event.parent_id.as_deref(),
                at: event.timestamp.timestamp_millis(),
                body: &bytes,
            };
            let stored =
                (stored::insert_event(&state.db.pool, &new).await).map_err(Refusal::Store)?;
            tracing::debug!(source = LABEL, event_id = %event.id, kind = %event.kind, new = stored, "notion event stored");
            Ok(())
        }
    }
}

/// The token events are signed with: the configured one, else the one Notion's verification
/// request delivered.
async fn signing_token(state: &AppState) -> Result<String, Refusal> {
    let configured = state
        .settings
        .notion
        .webhook_verification_token
        .expose_secret();
    if !configured.trim().is_empty() {
        return Ok(configured.trim().to_owned());
    }
    let kept = stored::verification_token(&state.db.pool).await;
    Ok(kept.map_err(Refusal::Store)?.unwrap_or_default())
}

/// Keeps the verification request's token unless one is kept already (never replaced: a second
/// request may come from anyone who knows the URL). The token itself is never logged.
async fn verification(state: &AppState, token: &str) -> Result<(), Refusal> {
    let kept =
        (stored::keep_verification_token(&state.db.pool, token).await).map_err(Refusal::Store)?;
    if kept {
        tracing::info!(
            source = LABEL,
            "Notion's verification token arrived and is kept: `leadsync webhooks notion-token` \
             prints it for the subscription's settings"
        );
    } else {
        tracing::warn!(
            source = LABEL,
            "a Notion verification request arrived while a token is kept already; the kept one \
             stays (`leadsync webhooks notion-token --reset` clears it for a new subscription)"
        );
    }
    Ok(())
}
