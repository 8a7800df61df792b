//! Typed Notion API client (version 2025-09-03): databases and their data sources, page queries,
//! page reads and writes, the token's bot user (`users.rs`), on the shared HTTP policy with one
//! rate limiter per integration; plus what Notion POSTs to a subscription (the signature check
//! `verify.rs`, the verification request and events `event.rs`), which is pure.
//!
//! The token goes only in the `Authorization: Bearer` header (marked sensitive); errors never
//! carry URLs, so neither it nor page contents reach the logs.

pub mod build;
mod event;
mod pages;
mod schema;
mod users;
mod verify;
mod wire;

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{AUTHORIZATION, HeaderValue};
use reqwest::{Method, Url};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use crate::clients::http::{ApiClient, ClientError, LimiterStats, RateLimiter, RetryPolicy};
pub use event::{Author, Delivery, Entity, Event, parse_delivery};
pub use pages::PAGE_SIZE;
pub use users::BotUser;
pub use verify::{SIGNATURE_HEADER, VerifyError, verify_signature};
pub use wire::{
    DataSource, DataSourceRef, Database, NewProperty, Page, Properties, PropertySchema,
    PropertyType, PropertyValue, QueryPage, TEXT_CHUNK, UserRef, compact_id, join_rich_text,
    split_rich_text,
};

const SYSTEM: &str = "notion";
/// The API version every request names (`Notion-Version`).
pub const NOTION_VERSION: &str = "2025-09-03";
/// Notion's published budget: an average of 3 requests per second per integration.
pub const REQUESTS_PER_SECOND: u32 = 3;
/// Share of the budget the client uses, leaving room for arrivals to bunch up.
pub const BUDGET_FRACTION: f64 = 0.9;

#[derive(Clone)]
pub struct NotionClient {
    inner: Arc<Inner>,
}

struct Inner {
    base_url: Url,
    auth: HeaderValue,
    api: ApiClient,
}

impl NotionClient {
    /// `api_base` is `notion.api_base` (`https://api.notion.com/v1`); `per_second` the
    /// integration's budget ([`REQUESTS_PER_SECOND`]), paced at [`BUDGET_FRACTION`]. A 429
    /// pauses every call for its `Retry-After` (1 s when absent).
    pub fn new(
        api_base: &str,
        token: &SecretString,
        policy: RetryPolicy,
        per_second: u32,
    ) -> Result<Self, ClientError> {
        let not_base = || ClientError::Config("notion.api_base: not a base URL".into());
        let base_url = Url::parse(api_base.trim_end_matches('/')).map_err(|_| not_base())?;
        if base_url.cannot_be_a_base() {
            return Err(not_base());
        }
        let header = format!("Bearer {}", token.expose_secret());
        let mut auth = HeaderValue::from_str(&header).map_err(|_| {
            ClientError::Config("notion.token: has characters a header cannot carry".into())
        })?;
        auth.set_sensitive(true);
        let limiter = RateLimiter::for_budget(per_second, Duration::from_secs(1), BUDGET_FRACTION)
            .with_lockout_on_429(Duration::from_secs(1));
        let api = ApiClient::new(SYSTEM, policy, vec![limiter])?;
        Ok(Self {
            inner: Arc::new(Inner {
                base_url,
                auth,
                api,
            }),
        })
    }

    /// The integration limiter's budget and counters (for the console's overview).
    pub fn limiter_stats(&self) -> Vec<LimiterStats> {
        self.inner.api.limiter_stats()
    }

    /// `{api_base}/seg/seg…`, each segment percent-encoded.
    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.inner.base_url.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    /// One call, retried by the shared policy. `idempotent: false` (creating a page) retries
    /// only a 429, which Notion refused before acting: anything else may have done the work.
    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        endpoint: &'static str,
        (method, url): (Method, Url),
        body: Option<&Value>,
        idempotent: bool,
    ) -> Result<T, ClientError> {
        let api = &self.inner.api;
        let auth = &self.inner.auth;
        let make = |c: &reqwest::Client| {
            let req = c
                .request(method.clone(), url.clone())
                .header(AUTHORIZATION, auth.clone())
                .header("Notion-Version", NOTION_VERSION);
            match body {
                Some(b) => req.json(b),
                None => req,
            }
        };
        (api.send_json_as(endpoint, idempotent, make).await).map_err(explain)
    }
}

impl std::fmt::Debug for NotionClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NotionClient")
            .field("api_base", &self.inner.base_url.as_str())
            .finish_non_exhaustive()
    }
}

/// Notion's error body `{"object": "error", "code", "message"}` as `code: message`.
fn explain(e: ClientError) -> ClientError {
    e.reworded(|v| {
        Some(format!(
            "{}: {}",
            v["code"].as_str()?,
            v["message"].as_str()?
        ))
    })
}

/// Notion ids are UUIDs, with or without dashes; anything else must not reach a URL path.
fn id<'a>(endpoint: &'static str, what: &str, value: &'a str) -> Result<&'a str, ClientError> {
    let hex = value.chars().filter(char::is_ascii_hexdigit).count();
    if hex == 32 && value.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
        Ok(value)
    } else {
        Err(invalid(endpoint, format!("{what} is not a Notion id")))
    }
}

/// A request refused before it was sent (status 0: Notion never saw it).
fn invalid(endpoint: &'static str, message: String) -> ClientError {
    ClientError::BadRequest {
        system: SYSTEM,
        endpoint,
        status: 0,
        message,
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_events;
#[cfg(test)]
mod tests_limits;
