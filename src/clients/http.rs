//! Shared outbound HTTP policy: timeouts, retries with backoff and jitter, rate limits, error classes, metrics.

use std::future::Future;
use std::time::{Duration, SystemTime};

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use tokio::time::Instant;

mod error;
mod limiter;
mod policy;
pub use error::ClientError;
pub use limiter::{LimiterStats, RateLimiter};
pub use policy::{RetryPolicy, parse_retry_after};

/// What one attempt ended with, before deciding whether to retry.
enum Failure {
    Status(StatusCode, String),
    NoAnswer(String),
}

/// One outbound system's HTTP client: policy, limiters and metrics around `reqwest`.
#[derive(Clone)]
pub struct ApiClient {
    http: reqwest::Client,
    policy: RetryPolicy,
    limiters: Vec<RateLimiter>,
    system: &'static str,
}

/// Which failures a call may retry by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Retry {
    Always,
    OnlyRefused,
}

impl ApiClient {
    pub fn new(
        system: &'static str,
        policy: RetryPolicy,
        limiters: Vec<RateLimiter>,
    ) -> Result<Self, ClientError> {
        let http = reqwest::Client::builder()
            .connect_timeout(policy.connect_timeout)
            .timeout(policy.total_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("leadsync/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                ClientError::Config(format!("{system}: http client: {}", e.without_url()))
            })?;
        Ok(Self {
            http,
            policy,
            limiters,
            system,
        })
    }

    pub fn system(&self) -> &'static str {
        self.system
    }

    /// How each call is attempted: a caller that must try a read again past the client's own
    /// retries paces itself by it.
    pub fn policy(&self) -> &RetryPolicy {
        &self.policy
    }

    /// Each limiter's budget and counters, in the order they are acquired.
    pub fn limiter_stats(&self) -> Vec<LimiterStats> {
        self.limiters.iter().map(RateLimiter::stats).collect()
    }

    /// Sends the request built by `make` (called again for each attempt), acquiring every limiter
    /// first, retrying 429/5xx/timeouts/connection errors with backoff + full jitter, honouring
    /// Retry-After, the limiters' remaining-quota headers and their lock-outs on 429
    /// (`RateLimiter::with_lockout_on_429`). Returns the 2xx response.
    pub async fn send(
        &self,
        endpoint: &'static str,
        make: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, ClientError> {
        self.run(endpoint, Retry::Always, make, |r| async move { Ok(r) })
            .await
    }

    /// `send` + decode the JSON body into `T`; the whole body is read inside the retried attempt.
    pub async fn send_json<T: serde::de::DeserializeOwned>(
        &self,
        endpoint: &'static str,
        make: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> Result<T, ClientError> {
        self.send_json_with(endpoint, Retry::Always, make).await
    }

    /// `send_json` for a call that is not idempotent (creating a card): only a 429, which the
    /// server refused before acting, is retried here. A 5xx, a timeout or a reset may have
    /// done the work, so it comes back at once as an outcome-unknown error for the caller to
    /// check before trying again.
    pub async fn send_json_not_idempotent<T: serde::de::DeserializeOwned>(
        &self,
        endpoint: &'static str,
        make: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> Result<T, ClientError> {
        self.send_json_with(endpoint, Retry::OnlyRefused, make)
            .await
    }

    /// `send_json` or, when `idempotent` is false, `send_json_not_idempotent`: for a client
    /// whose one request helper serves both kinds of call.
    pub async fn send_json_as<T: serde::de::DeserializeOwned>(
        &self,
        endpoint: &'static str,
        idempotent: bool,
        make: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> Result<T, ClientError> {
        let retry = if idempotent {
            Retry::Always
        } else {
            Retry::OnlyRefused
        };
        self.send_json_with(endpoint, retry, make).await
    }

    async fn send_json_with<T: serde::de::DeserializeOwned>(
        &self,
        endpoint: &'static str,
        retry: Retry,
        make: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> Result<T, ClientError> {
        let body = self.run(endpoint, retry, make, |r| r.bytes()).await?;
        serde_json::from_slice(&body).map_err(|e| ClientError::Decode {
            system: self.system,
            endpoint,
            message: format!("invalid JSON at line {} column {}", e.line(), e.column()),
        })
    }

    async fn run<T, Fut>(
        &self,
        endpoint: &'static str,
        retry: Retry,
        make: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
        finish: impl Fn(reqwest::Response) -> Fut,
    ) -> Result<T, ClientError>
    where
        Fut: Future<Output = reqwest::Result<T>>,
    {
        let started = Instant::now();
        let mut attempts = 0u32;
        loop {
            attempts += 1;
            for limiter in &self.limiters {
                limiter.acquire().await;
            }
            let (failure, retry_after) = match make(&self.http).send().await {
                Ok(resp) => {
                    let status = resp.status();
                    self.observe(resp.headers());
                    self.record(endpoint, status.as_str());
                    if status.is_success() {
                        match finish(resp).await {
                            Ok(value) => return Ok(value),
                            Err(e) => (self.no_answer(endpoint, e)?, None),
                        }
                    } else {
                        let retry_after = resp
                            .headers()
                            .get(RETRY_AFTER)
                            .and_then(|v| v.to_str().ok())
                            .and_then(|v| parse_retry_after(v, SystemTime::now()));
                        let text = resp.text().await.unwrap_or_default();
                        (self.classify(endpoint, status, text)?, retry_after)
                    }
                }
                Err(e) => {
                    let label = if e.is_timeout() { "timeout" } else { "connect" };
                    self.record(endpoint, label);
                    (self.no_answer(endpoint, e)?, None)
                }
            };
            let refused = matches!(failure, Failure::Status(StatusCode::TOO_MANY_REQUESTS, _));
            if retry == Retry::OnlyRefused && !refused {
                let mut err = self.give_up(endpoint, attempts, failure);
                if let ClientError::Retryable {
                    outcome_unknown, ..
                } = &mut err
                {
                    *outcome_unknown = true;
                }
                return Err(err);
            }
            let lockout = if refused {
                self.lock_out(retry_after)
            } else {
                None
            };
            let delay =
                (lockout.or(retry_after)).unwrap_or_else(|| self.policy.backoff(attempts - 1));
            let out_of_time = started.elapsed() + delay > self.policy.max_elapsed;
            if attempts >= self.policy.max_attempts || out_of_time {
                return Err(self.give_up(endpoint, attempts, failure));
            }
            tracing::debug!(
                system = self.system,
                endpoint,
                attempts,
                ?delay,
                "retrying outbound call"
            );
            tokio::time::sleep(delay).await;
        }
    }

    /// Non-retryable statuses become errors here; retryable ones are handed back to the loop.
    fn classify(
        &self,
        endpoint: &'static str,
        status: StatusCode,
        text: String,
    ) -> Result<Failure, ClientError> {
        let system = self.system;
        let code = status.as_u16();
        match code {
            429 | 500..=599 => Ok(Failure::Status(status, text)),
            401 | 403 => Err(ClientError::Auth {
                system,
                endpoint,
                status: code,
            }),
            404 => Err(ClientError::NotFound { system, endpoint }),
            400..=499 => {
                let message: String = text.trim().chars().take(200).collect();
                Err(ClientError::BadRequest {
                    system,
                    endpoint,
                    status: code,
                    message,
                })
            }
            _ => Err(ClientError::Decode {
                system,
                endpoint,
                message: format!("HTTP {code}"),
            }),
        }
    }

    fn no_answer(&self, endpoint: &'static str, e: reqwest::Error) -> Result<Failure, ClientError> {
        // The host (never the whole URL: query strings carry tokens) and the setting it came
        // from tell a user which address could not be reached and where to change it.
        let host = e.url().and_then(host_and_port);
        let e = e.without_url();
        if e.is_builder() {
            return Err(ClientError::Config(format!(
                "{} {endpoint}: {e}",
                self.system
            )));
        }
        let kind = if e.is_timeout() {
            "timeout"
        } else {
            "connection error"
        };
        let to = match host {
            Some(host) => format!(" to {host} ({})", base_setting(self.system)),
            None => String::new(),
        };
        Ok(Failure::NoAnswer(format!("{kind}{to}: {e}")))
    }

    fn give_up(&self, endpoint: &'static str, attempts: u32, failure: Failure) -> ClientError {
        let system = self.system;
        match failure {
            Failure::Status(StatusCode::TOO_MANY_REQUESTS, _) => ClientError::RateLimited {
                system,
                endpoint,
                attempts,
            },
            Failure::Status(status, text) => {
                let body: String = text.trim().chars().take(120).collect();
                let last = format!("HTTP {}: {body}", status.as_u16());
                ClientError::Retryable {
                    system,
                    endpoint,
                    attempts,
                    last,
                    outcome_unknown: false,
                }
            }
            Failure::NoAnswer(last) => ClientError::Retryable {
                system,
                endpoint,
                attempts,
                last,
                outcome_unknown: true,
            },
        }
    }

    /// After a 429, pauses each limiter whose server locks its scope out (`Retry-After` when
    /// given, else the limiter's penalty), so no call in that scope is sent during the lock-out;
    /// answers the longest pause, which this call waits too.
    fn lock_out(&self, retry_after: Option<Duration>) -> Option<Duration> {
        let mut longest: Option<Duration> = None;
        for limiter in &self.limiters {
            if let Some(penalty) = limiter.lockout {
                let pause = retry_after.unwrap_or(penalty);
                limiter.pause_for(pause);
                longest = longest.max(Some(pause));
            }
        }
        longest
    }

    fn observe(&self, headers: &HeaderMap) {
        for limiter in &self.limiters {
            let remaining = limiter
                .remaining_header
                .and_then(|h| headers.get(h))
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u32>().ok());
            if let Some(remaining) = remaining {
                limiter.observe_remaining(remaining);
            }
        }
    }

    fn record(&self, endpoint: &'static str, status: &str) {
        metrics::counter!(
            "leadsync_outbound_requests_total",
            "system" => self.system,
            "endpoint" => endpoint,
            "status" => status.to_owned()
        )
        .increment(1);
    }
}

/// `host[:port]` of a URL, without its path, query or credentials.
fn host_and_port(url: &reqwest::Url) -> Option<String> {
    let host = url.host_str()?;
    Some(match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    })
}

/// The setting that holds a system's base URL, named in "cannot reach" errors.
fn base_setting(system: &str) -> &'static str {
    match system {
        "trello" => "trello.api_base",
        "sheets" => "google.sheets_api_base",
        "airtable" => "airtable.api_base",
        "google_oauth" => "the token_uri in google.credentials_file",
        _ => "its base URL setting",
    }
}

#[cfg(test)]
mod tests;
