//! In-process emulator of the Airtable Web API subset a lead tracker uses, served on 127.0.0.1:0.
//!
//! Emulated, with Airtable's paths, JSON shapes, status codes and error bodies
//! (`{"error": {"type", "message"}}`):
//! - Records (`/v0/{base}/{table id or name}`): list in pages of `pageSize` ≤ 100 with an `offset`
//!   iterator (`itr…/rec…`; re-reading an offset answers the same page), `maxRecords`, `fields[]`
//!   and `returnFieldsByFieldId`; get one; create, update (PATCH merges, PUT replaces) and delete
//!   (`records[]=…`), one or a batch of at most 10 (422 past it), with `typecast`. Empty cells are
//!   absent from answers. Field types: singleLineText, multilineText, email, phoneNumber, url,
//!   singleSelect (an unknown choice is 422 INVALID_MULTIPLE_CHOICE_OPTIONS unless `typecast`).
//! - Meta: the token's bases (`GET /v0/meta/bases`), a base's schema (`…/bases/{base}/tables`:
//!   fields, types, select choices), creating a field, and changing a field's name or description
//!   (all Airtable's API allows; choices are added by writing a value with `typecast`).
//! - Webhooks: create (returns `macSecretBase64` once and a 7-day `expirationTime`), list, delete,
//!   refresh, and cursor-paged payloads (≤ 50, `mightHaveMore`) shaped as Airtable documents them
//!   (v2 cells; `previous` and `unchanged` only when the specification's `includes` ask). Every
//!   change — by the API (source `publicApi`) or by the `user_*` methods (source `client`) —
//!   appends one payload per live webhook whose filters match and POSTs a notification
//!   `{"base","webhook","timestamp"}` signed `X-Airtable-Content-MAC`. Expired webhooks record and
//!   notify nothing; listing payloads or refreshing extends a live one.
//! - Auth: the bearer token (401 AUTHENTICATION_REQUIRED), a base the token was not granted or that
//!   does not exist (403 INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND, also for unknown tables).
//! - Limits: 5 calls per second per base, after which the base answers 429 for 30 s (both
//!   configurable), and 50 per second per token through the shared [`Gate`], which also injects
//!   faults (429/5xx, resets, hangs, lost answers after the change) and logs every call.
//!
//! Not emulated: other field types, formulas (`filterByFormula` is refused with 422), sorting and
//! views other than the default order, `performUpsert`, tables created through the API, schema
//! (`tableFields`/`tableMetadata`) payloads, `watchDataInFieldIds`, notification auto-disabling,
//! and notification URLs outside loopback (refused on purpose).

mod cells;
mod change;
mod error;
mod limit;
mod meta;
mod model;
mod notify;
mod ops;
mod payload;
mod records;
mod request;
mod routes;
mod user;
mod webhooks;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::sandbox::common::{Gate, Quota, Served, serve};
use change::Actor;
pub use error::{ApiError, RATE_LIMIT_MESSAGE};
use limit::Limiter;
pub use limit::RateLimit;
pub use model::{
    FIELD_TYPES, SandboxChoice, SandboxField, SandboxRecord, SandboxTable, SandboxWebhook,
};
pub use notify::{Job as HeldNotification, NotificationRecord, sign};
use ops::Core;
pub use records::MAX_BATCH;

/// Knobs for a sandbox instance; the defaults are Airtable's published limits.
#[derive(Clone, Debug)]
pub struct AirtableOptions {
    /// Per base: 5 calls per second, then 429 for 30 s. `None` turns it off.
    pub rate_limit: Option<RateLimit>,
    /// Per token: 50 calls per second.
    pub per_token: Option<Quota>,
    /// How long a webhook lives after creation, a refresh or a payload listing (7 days).
    pub webhook_lifetime: Duration,
}

impl Default for AirtableOptions {
    fn default() -> Self {
        Self {
            rate_limit: Some(RateLimit::default()),
            per_token: Some(Quota {
                max_requests: 50,
                per: Duration::from_secs(1),
            }),
            webhook_lifetime: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

/// A field for [`AirtableSandbox::create_table`] and [`AirtableSandbox::user_create_field`].
#[derive(Clone, Debug)]
pub struct FieldSpec {
    pub name: String,
    /// One of [`FIELD_TYPES`].
    pub field_type: String,
    /// The choices of a `singleSelect`.
    pub choices: Vec<String>,
}

impl FieldSpec {
    pub fn new(name: &str, field_type: &str) -> Self {
        Self {
            name: name.to_owned(),
            field_type: field_type.to_owned(),
            choices: Vec::new(),
        }
    }

    pub fn select(name: &str, choices: &[&str]) -> Self {
        Self {
            choices: choices.iter().map(|c| (*c).to_owned()).collect(),
            ..Self::new(name, "singleSelect")
        }
    }

    fn body(&self) -> serde_json::Map<String, Value> {
        let mut body = serde_json::Map::new();
        body.insert("name".into(), json!(self.name));
        body.insert("type".into(), json!(self.field_type));
        if self.field_type == "singleSelect" {
            let choices: Vec<Value> = self.choices.iter().map(|c| json!({"name": c})).collect();
            body.insert("options".into(), json!({ "choices": choices }));
        }
        body
    }
}

/// Ids of a table made by [`AirtableSandbox::create_table`], fields by name.
#[derive(Clone, Debug)]
pub struct TableSetup {
    pub base_id: String,
    pub table_id: String,
    pub table_name: String,
    pub fields: BTreeMap<String, String>,
}

/// A running Airtable emulator; dropping it stops the server.
pub struct AirtableSandbox {
    core: Arc<Core>,
    gate: Gate,
    limiter: Arc<Limiter>,
    served: Served,
    token: String,
    api_actor: Actor,
    client_actor: Actor,
}

fn user(name: &str, email: &str) -> Value {
    json!({"id": model::new_id("usr"), "email": email, "permissionLevel": "create", "name": name,
        "profilePicUrl": "https://static.airtable.com/images/userIcons/user_icon_1.png"})
}

impl AirtableSandbox {
    pub async fn start() -> std::io::Result<Self> {
        Self::start_with(AirtableOptions::default()).await
    }

    /// Starts the server with a fresh personal access token and two users: the token's and a
    /// "browser" user whose edits come as source `client`.
    pub async fn start_with(options: AirtableOptions) -> std::io::Result<Self> {
        let secret: String = (0..4).map(|_| model::new_id("")).collect();
        let token = format!("{}.{secret}", model::new_id("pat"));
        let api_actor = Actor {
            source: "publicApi",
            user: user("Leadsync Bot", "leadsync-bot@example.com"),
        };
        let client_actor = Actor {
            source: "client",
            user: user("Ada Lovelace", "ada@example.com"),
        };
        let core = Core::new(notify::Notifier::start(), options.webhook_lifetime);
        let gate = Gate::new(options.per_token);
        let limiter = Arc::new(Limiter::new(options.rate_limit));
        let ctx = request::Ctx {
            core: core.clone(),
            token: token.clone(),
            limiter: limiter.clone(),
            api_actor: api_actor.clone(),
        };
        let served = serve(routes::router(ctx, gate.clone())).await?;
        Ok(Self {
            core,
            gate,
            limiter,
            served,
            token,
            api_actor,
            client_actor,
        })
    }

    /// The value for `airtable.api_base`, like `https://api.airtable.com/v0`.
    pub fn api_base(&self) -> String {
        format!("{}/v0", self.served.base_url())
    }

    /// The personal access token the API accepts.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The token's user, as `sourceMetadata.user` of `publicApi` payloads.
    pub fn api_user(&self) -> &Value {
        &self.api_actor.user
    }

    /// The "browser" user, as `sourceMetadata.user` of `client` payloads.
    pub fn client_user(&self) -> &Value {
        &self.client_actor.user
    }

    /// Faults, the per-token quota and the call log (count calls per endpoint with
    /// `gate().calls().count("PATCH", "/v0/app…/Leads")`).
    pub fn gate(&self) -> &Gate {
        &self.gate
    }

    /// Replaces the per-base rate limit (e.g. a shorter penalty); forgets windows and penalties.
    pub fn set_rate_limit(&self, limit: Option<RateLimit>) {
        self.limiter.set(limit);
    }

    /// When the base's 429 penalty ends, while it serves one.
    pub fn rate_limited_until(&self, base_id: &str) -> Option<Instant> {
        self.limiter.blocked_until(base_id)
    }

    /// The lifetime given to webhooks from now on (at creation, refresh and payload listing).
    pub fn set_webhook_lifetime(&self, lifetime: Duration) {
        *self
            .core
            .webhook_lifetime
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = lifetime;
    }

    pub fn stop(self) {
        self.served.stop();
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_limits;
#[cfg(test)]
mod tests_payloads;
#[cfg(test)]
mod tests_webhooks;
