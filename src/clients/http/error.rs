//! Error classes of outbound calls; they never carry URLs, bodies of requests, or secrets.

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("{system} {endpoint}: authentication failed (HTTP {status})")]
    Auth {
        system: &'static str,
        endpoint: &'static str,
        status: u16,
    },
    #[error("{system} {endpoint}: not found")]
    NotFound {
        system: &'static str,
        endpoint: &'static str,
    },
    #[error("{system} {endpoint}: rate limited after {attempts} attempts")]
    RateLimited {
        system: &'static str,
        endpoint: &'static str,
        attempts: u32,
    },
    #[error("{system} {endpoint}: bad request (HTTP {status}): {message}")]
    BadRequest {
        system: &'static str,
        endpoint: &'static str,
        status: u16,
        message: String,
    },
    /// 5xx, timeouts or connection errors until the retries ran out. `outcome_unknown` is true
    /// when the last attempt got no answer (timeout, reset): the server may have acted on it.
    #[error("{system} {endpoint}: gave up after {attempts} attempts: {last}")]
    Retryable {
        system: &'static str,
        endpoint: &'static str,
        attempts: u32,
        last: String,
        outcome_unknown: bool,
    },
    #[error("{system} {endpoint}: unexpected response: {message}")]
    Decode {
        system: &'static str,
        endpoint: &'static str,
        message: String,
    },
    #[error("{0}")]
    Config(String),
}

impl ClientError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Retryable { .. } | Self::RateLimited { .. })
    }

    /// The last attempt ended without an answer: whether the server acted is unknown.
    pub fn is_timeout_or_connection(&self) -> bool {
        matches!(
            self,
            Self::Retryable {
                outcome_unknown: true,
                ..
            }
        )
    }
}
