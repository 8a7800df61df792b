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
    /// A bad request whose message (the API's error body) `reword` can put better, reworded;
    /// anything else as it is.
    pub fn reworded(self, reword: impl FnOnce(&serde_json::Value) -> Option<String>) -> Self {
        match self {
            Self::BadRequest {
                system,
                endpoint,
                status,
                message,
            } => {
                let better = serde_json::from_str(&message).ok().and_then(|v| reword(&v));
                Self::BadRequest {
                    system,
                    endpoint,
                    status,
                    message: better.unwrap_or(message),
                }
            }
            other => other,
        }
    }

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

#[cfg(test)]
mod tests {
    use super::ClientError;

    fn bad(message: &str) -> ClientError {
        ClientError::BadRequest {
            system: "x",
            endpoint: "e",
            status: 422,
            message: message.into(),
        }
    }

    fn code(v: &serde_json::Value) -> Option<String> {
        v["code"].as_str().map(str::to_owned)
    }

    #[test]
    fn a_bad_requests_json_body_is_reworded_and_anything_else_kept() {
        let text = |e: ClientError| e.to_string();
        assert_eq!(
            text(bad(r#"{"code":"invalid"}"#).reworded(code)),
            "x e: bad request (HTTP 422): invalid"
        );
        // Not JSON, or JSON the API's rewording does not know: the body as it came.
        assert!(text(bad("plain words").reworded(code)).ends_with(": plain words"));
        assert!(text(bad(r#"{"other":1}"#).reworded(code)).ends_with(r#": {"other":1}"#));
        let other = ClientError::NotFound {
            system: "x",
            endpoint: "e",
        }
        .reworded(|_| Some("never".into()));
        assert!(matches!(other, ClientError::NotFound { .. }));
    }
}
