//! Webhook authenticity: the `Unverified` → `Verified<RawEvent>` typestate, the Trello and
//! Standard Webhooks verifiers and signers, and the rejection reasons used for metrics.
//!
//! Everything here is pure (no I/O, the clock is a parameter) so it can be tested with fixed
//! vectors and reused by the benchmark and the tests as a signer.

#[cfg(test)]
mod door_props;
mod payload;
mod standard;
mod trello;

use axum::body::Bytes;
use axum::http::HeaderMap;

use crate::inbound::InboundEvent;
pub use crate::inbound::Source;
pub use standard::{SheetsVerifier, StandardWebhooksKey};
pub use trello::TrelloVerifier;

/// What an event says it is about, so it can be routed to its configured pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteKey {
    Board {
        board_id: String,
    },
    Sheet {
        spreadsheet_id: String,
        sheet: String,
    },
}

/// A webhook whose signature has been checked and whose body parsed as the event the worker
/// consumes ([`InboundEvent::parse`], which the worker runs again on `body`).
#[derive(Debug, Clone)]
pub struct RawEvent {
    pub source: Source,
    /// Trello `action.id` or the Standard Webhooks `webhook-id`: the idempotency key.
    pub dedupe_key: String,
    pub route: RouteKey,
    /// The body exactly as received (and as signed).
    pub body: Bytes,
    /// What `body` parsed as.
    pub event: InboundEvent,
    /// The signed `webhook-timestamp` (unix seconds) of an Apps Script event: a bound on its
    /// `edited_at`, kept with the event.
    pub signed_at: Option<i64>,
}

/// A request as it came off the wire: nothing about it is trusted yet.
#[derive(Debug, Clone)]
pub struct Unverified {
    headers: HeaderMap,
    body: Bytes,
}

impl Unverified {
    pub fn new(headers: HeaderMap, body: Bytes) -> Self {
        Self { headers, body }
    }

    fn header(&self, name: &'static str) -> Result<&str, VerifyError> {
        let value = self
            .headers
            .get(name)
            .ok_or(VerifyError::MissingHeader(name))?;
        let text = value
            .to_str()
            .map_err(|_| VerifyError::InvalidHeader(name))?
            .trim();
        if text.is_empty() {
            return Err(VerifyError::MissingHeader(name));
        }
        Ok(text)
    }
}

/// Proof that `T` came from an authenticated request. The field is private and only the
/// verifiers in this module build one, so a `Verified<RawEvent>` cannot be forged elsewhere.
#[derive(Debug, Clone)]
pub struct Verified<T>(T);

impl<T> Verified<T> {
    pub fn get(&self) -> &T {
        &self.0
    }

    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for Verified<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

/// Why a webhook was refused. `reason()` is the short code used as a metrics label.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("missing signature header")]
    MissingSignature,
    #[error("missing header {0}")]
    MissingHeader(&'static str),
    #[error("invalid header {0}")]
    InvalidHeader(&'static str),
    #[error("signature is not valid base64")]
    MalformedSignature,
    #[error("signature does not match")]
    BadSignature,
    #[error("timestamp is not a non-negative whole number of seconds")]
    BadTimestamp,
    #[error("timestamp is too old")]
    StaleTimestamp,
    #[error("timestamp is in the future")]
    FutureTimestamp,
    #[error("body is not a valid event: {0}")]
    BadPayload(String),
}

impl VerifyError {
    pub fn reason(&self) -> &'static str {
        match self {
            VerifyError::MissingSignature => "missing_signature",
            VerifyError::MissingHeader(_) => "missing_header",
            VerifyError::InvalidHeader(_) => "invalid_header",
            VerifyError::MalformedSignature => "malformed_signature",
            VerifyError::BadSignature => "bad_signature",
            VerifyError::BadTimestamp => "bad_timestamp",
            VerifyError::StaleTimestamp => "stale_timestamp",
            VerifyError::FutureTimestamp => "future_timestamp",
            VerifyError::BadPayload(_) => "bad_payload",
        }
    }

    /// True when the signature was fine but the body was not what the source sends (HTTP 400,
    /// not 401).
    pub fn is_payload_error(&self) -> bool {
        matches!(self, VerifyError::BadPayload(_))
    }
}

/// A signing key could not be built from the configured secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("the secret is empty")]
    Empty,
    #[error("the secret is not \"whsec_\" followed by base64")]
    NotBase64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_code_is_a_short_snake_case_word() {
        let all = [
            VerifyError::MissingSignature,
            VerifyError::MissingHeader("webhook-id"),
            VerifyError::InvalidHeader("webhook-id"),
            VerifyError::MalformedSignature,
            VerifyError::BadSignature,
            VerifyError::BadTimestamp,
            VerifyError::StaleTimestamp,
            VerifyError::FutureTimestamp,
            VerifyError::BadPayload("x".into()),
        ];
        for error in all {
            let reason = error.reason();
            assert!(reason.chars().all(|c| c.is_ascii_lowercase() || c == '_'));
            assert_eq!(error.is_payload_error(), reason == "bad_payload");
        }
    }

    #[test]
    fn a_blank_header_counts_as_missing() {
        let mut headers = HeaderMap::new();
        headers.insert("webhook-id", " ".parse().unwrap());
        let request = Unverified::new(headers, Bytes::new());
        assert_eq!(
            request.header("webhook-id"),
            Err(VerifyError::MissingHeader("webhook-id"))
        );
    }
}
