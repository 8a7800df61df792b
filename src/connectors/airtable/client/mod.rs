//! Typed Airtable Web API client: records, schema and webhooks, on the shared HTTP policy with one
//! rate limiter per base; plus the pure parts of Airtable webhooks (notification MAC check and
//! payloads flattened into per-record changes).
//!
//! The token goes only in the `Authorization: Bearer` header (marked sensitive); errors never
//! carry URLs, so neither it nor record contents reach the logs.

pub mod build;
mod changes;
mod meta;
mod records;
mod verify;
mod webhooks;
mod wire;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::Url;
use reqwest::header::{AUTHORIZATION, HeaderValue};
use secrecy::{ExposeSecret, SecretString};

use crate::clients::http::{ApiClient, ClientError, RateLimiter, RetryPolicy};
pub use changes::{Change, RecordChange};
pub use meta::Base;
pub use records::MAX_BATCH;
pub use verify::{MAC_HEADER, Notification, VerifyError, verify_notification};
pub use wire::{
    ActionMetadata, Cell, CellValues, ChangedRecord, Choice, CreatedRecord, CreatedWebhook, EMPTY,
    Field, FieldOptions, Fields, NewFieldType, Payload, PayloadPage, Record, RecordUpdate, Table,
    TableChanges, Webhook,
};

const SYSTEM: &str = "airtable";

/// Airtable's published budgets: 5 requests per second per base (over it, the base answers 429
/// for 30 s) and 50 per second per token.
pub const BASE_REQUESTS_PER_SECOND: u32 = 5;
pub const TOKEN_REQUESTS_PER_SECOND: u32 = 50;

/// Share of a configured budget the client uses. Airtable's window is one second and a call too
/// many costs the base 30 s, so the headroom is wider than Trello's and Google's: at 0.9 a
/// second's budget is spent over 1.11 s, leaving 111 ms for arrivals to bunch up (0.95 would
/// leave only 53 ms, within reach of a busy machine's scheduling delays).
pub const BUDGET_FRACTION: f64 = 0.9;

/// Client-side budgets: at most `.0` calls per `.1`, per base and per token.
#[derive(Clone, Debug)]
pub struct AirtableLimits {
    pub per_base: (u32, Duration),
    pub per_token: (u32, Duration),
    /// How long a base is left alone after a 429 without `Retry-After`.
    pub lockout: Duration,
}

impl AirtableLimits {
    /// The client's limits for a budget of `per_base` calls per second per base
    /// (`airtable.base_requests_per_second`), at [`BUDGET_FRACTION`]; the token's 50 per
    /// second is paced the same way.
    pub fn from_base_budget(per_base: u32) -> Self {
        let window = Duration::from_secs(1).div_f64(BUDGET_FRACTION);
        Self {
            per_base: (per_base, window),
            per_token: (TOKEN_REQUESTS_PER_SECOND, window),
            lockout: Duration::from_secs(30),
        }
    }
}

impl Default for AirtableLimits {
    fn default() -> Self {
        Self::from_base_budget(BASE_REQUESTS_PER_SECOND)
    }
}

#[derive(Clone)]
pub struct AirtableClient {
    inner: Arc<Inner>,
}

struct Inner {
    base_url: Url,
    auth: HeaderValue,
    policy: RetryPolicy,
    limits: AirtableLimits,
    per_token: RateLimiter,
    /// One `ApiClient` per base, each with that base's limiter (and the shared token limiter).
    bases: Mutex<HashMap<String, ApiClient>>,
}

impl AirtableClient {
    /// `api_base` is `airtable.api_base` (`https://api.airtable.com/v0`).
    pub fn new(
        api_base: &str,
        token: &SecretString,
        policy: RetryPolicy,
        limits: AirtableLimits,
    ) -> Result<Self, ClientError> {
        let not_base = || ClientError::Config("airtable.api_base: not a base URL".into());
        let base_url = Url::parse(api_base.trim_end_matches('/')).map_err(|_| not_base())?;
        if base_url.cannot_be_a_base() {
            return Err(not_base());
        }
        let header = format!("Bearer {}", token.expose_secret());
        let mut auth = HeaderValue::from_str(&header).map_err(|_| {
            ClientError::Config("airtable.token: has characters a header cannot carry".into())
        })?;
        auth.set_sensitive(true);
        let per_token = RateLimiter::new(limits.per_token.0, limits.per_token.1);
        let inner = Inner {
            base_url,
            auth,
            policy,
            limits,
            per_token,
            bases: Mutex::default(),
        };
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    /// The HTTP client of one base: its limiter is shared by every call on that base.
    fn api(&self, base_id: &str) -> Result<ApiClient, ClientError> {
        let inner = &self.inner;
        let mut bases = inner.bases.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(api) = bases.get(base_id) {
            return Ok(api.clone());
        }
        let (max, per) = inner.limits.per_base;
        let limiters = vec![
            inner.per_token.clone(),
            RateLimiter::new(max, per).with_lockout_on_429(inner.limits.lockout),
        ];
        let api = ApiClient::new(SYSTEM, inner.policy.clone(), limiters)?;
        bases.insert(base_id.to_owned(), api.clone());
        Ok(api)
    }

    /// The limiters of `base_id`'s calls (the token's, then the base's): budgets and counters.
    pub fn limiter_stats(
        &self,
        base_id: &str,
    ) -> Result<Vec<crate::clients::http::LimiterStats>, ClientError> {
        Ok(self.api(base_id)?.limiter_stats())
    }

    /// `{api_base}/seg/seg…`, each segment percent-encoded (table names may hold spaces).
    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.inner.base_url.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    /// GET on `base_id`'s limiter, retried by the shared policy.
    async fn get<T: serde::de::DeserializeOwned>(
        &self,
        base_id: &str,
        endpoint: &'static str,
        url: Url,
        query: &[(&str, String)],
    ) -> Result<T, ClientError> {
        let api = self.api(base_id)?;
        let auth = &self.inner.auth;
        let result = api
            .send_json(endpoint, |c| {
                c.get(url.clone())
                    .header(AUTHORIZATION, auth.clone())
                    .query(query)
            })
            .await;
        result.map_err(explain)
    }

    /// A call with a JSON body. `idempotent: false` (creating records or a webhook) retries only
    /// a 429, which Airtable refused before acting: anything else may have done the work.
    async fn send<T: serde::de::DeserializeOwned>(
        &self,
        base_id: &str,
        endpoint: &'static str,
        (method, url): (reqwest::Method, Url),
        body: Option<&serde_json::Value>,
        idempotent: bool,
    ) -> Result<T, ClientError> {
        let api = self.api(base_id)?;
        let auth = &self.inner.auth;
        let make = |c: &reqwest::Client| {
            let req = c
                .request(method.clone(), url.clone())
                .header(AUTHORIZATION, auth.clone());
            match body {
                Some(b) => req.json(b),
                None => req,
            }
        };
        (api.send_json_as(endpoint, idempotent, make).await).map_err(explain)
    }
}

impl std::fmt::Debug for AirtableClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AirtableClient")
            .field("api_base", &self.inner.base_url.as_str())
            .finish_non_exhaustive()
    }
}

/// Airtable's error body `{"error": {"type", "message"}}` as `TYPE: message` in the error text.
fn explain(e: ClientError) -> ClientError {
    e.reworded(|v| {
        let kind = v["error"]["type"].as_str()?;
        Some(match v["error"]["message"].as_str() {
            Some(text) => format!("{kind}: {text}"),
            None => kind.to_owned(),
        })
    })
}

/// Base, record and webhook ids are alphanumeric (`app…`, `rec…`, `ach…`); anything else must not
/// reach a URL path.
fn id<'a>(endpoint: &'static str, what: &str, value: &'a str) -> Result<&'a str, ClientError> {
    if !value.is_empty() && value.chars().all(|c| c.is_ascii_alphanumeric()) {
        Ok(value)
    } else {
        Err(ClientError::BadRequest {
            system: SYSTEM,
            endpoint,
            status: 0,
            message: format!("{what} is not an Airtable id"),
        })
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_limits;
#[cfg(test)]
mod tests_quota;
#[cfg(test)]
mod tests_webhooks;
