//! In-process emulator of the Notion API subset a lead tracker uses (version 2025-09-03), served
//! on 127.0.0.1:0.
//!
//! Emulated, with Notion's paths, JSON shapes, status codes and error bodies
//! (`{"object": "error", "status", "code", "message"}`):
//! - Databases holding one data source each (`GET /v1/databases/{id}` lists `data_sources`); a
//!   data source's properties (`GET`/`PATCH /v1/data_sources/{id}`: title, rich_text, email,
//!   phone_number, status, select, url; a status cannot be created through the API).
//! - Pages (`POST /v1/pages` with a `data_source_id` parent, `GET`/`PATCH /v1/pages/{id}`, the
//!   trash through `in_trash`): `created_time` and `last_edited_time` rounded down to the minute,
//!   `last_edited_by` the integration's bot for API writes and a person for the `user_*`
//!   methods; rich text over 2,000 characters in one text object is refused; a select gains an
//!   unknown option, a status does not. `GET /v1/users/me` answers the bot user of the token.
//! - The query (`POST /v1/data_sources/{id}/query`): timestamp filters (compared with the rounded
//!   times), timestamp sorts, `page_size` ≤ 100 and `start_cursor`; trashed pages left out.
//! - Auth: the bearer token (401 `unauthorized`), the `Notion-Version` header (400
//!   `missing_version`); an average of 3 calls per second (429 `rate_limited` with
//!   `Retry-After`); faults and the call log through the shared [`Gate`].
//! - Webhooks: [`NotionSandbox::subscribe`] sends the unsigned verification request, then every
//!   change is POSTed as a signed event (`X-Notion-Signature`) naming the page, which tests may
//!   hold or drop. Property updates of a page may be aggregated over a window into one event
//!   ([`NotionSandbox::aggregate_events`]), as Notion does.
//!
//! Not emulated: property filters and sorts, compound filters, blocks and page content, other
//! property types, databases with several data sources, `page.content_updated`, and Notion's
//! own retry schedule for failed deliveries (here: three tries 100 ms apart).

mod error;
mod events;
mod limit;
mod model;
mod ops;
mod query;
mod routes;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::sandbox::common::{Gate, Served, serve};
pub use error::ApiError;
pub use events::{Delivery, DeliveryRecord, Subscription, sign};
use limit::Limiter;
pub use limit::RateLimit;
use model::Author;
pub use model::{PROPERTY_TYPES, TEXT_LIMIT};
use model::{PropDef, new_id, value_json};
use ops::Core;

/// A property for [`NotionSandbox::create_database`].
#[derive(Clone, Debug)]
pub struct PropertySpec {
    pub name: String,
    /// One of [`PROPERTY_TYPES`].
    pub kind: String,
    /// The options of a select or status.
    pub options: Vec<String>,
}

impl PropertySpec {
    pub fn new(name: &str, kind: &str) -> Self {
        Self {
            name: name.to_owned(),
            kind: kind.to_owned(),
            options: Vec::new(),
        }
    }

    pub fn with_options(name: &str, kind: &str, options: &[&str]) -> Self {
        Self {
            options: options.iter().map(|o| (*o).to_owned()).collect(),
            ..Self::new(name, kind)
        }
    }
}

/// Ids of a database made by [`NotionSandbox::create_database`].
#[derive(Clone, Debug)]
pub struct DatabaseSetup {
    pub database_id: String,
    pub data_source_id: String,
}

/// A running Notion emulator; dropping it stops the server.
pub struct NotionSandbox {
    core: Arc<Core>,
    gate: Gate,
    limiter: Arc<Limiter>,
    served: Served,
    token: String,
    bot: Author,
    person: Author,
}

impl NotionSandbox {
    /// Starts with Notion's rate limit (3 per second).
    pub async fn start() -> std::io::Result<Self> {
        Self::start_with(Some(RateLimit::default())).await
    }

    /// Starts with a fresh integration token, its bot user and a person who edits "in the browser".
    pub async fn start_with(rate_limit: Option<RateLimit>) -> std::io::Result<Self> {
        let token = format!("ntn_{}", new_id().replace('-', ""));
        let bot = Author {
            id: new_id(),
            kind: "bot",
        };
        let person = Author {
            id: new_id(),
            kind: "person",
        };
        let core = Core::new(events::Deliveries::start());
        let gate = Gate::new(None);
        let limiter = Arc::new(Limiter::new(rate_limit));
        let ctx = routes::Ctx {
            core: core.clone(),
            token: token.clone(),
            limiter: limiter.clone(),
            bot: bot.clone(),
        };
        let served = serve(routes::router(ctx, gate.clone())).await?;
        Ok(Self {
            core,
            gate,
            limiter,
            served,
            token,
            bot,
            person,
        })
    }

    /// The value for `notion.api_base`, like `https://api.notion.com/v1`.
    pub fn api_base(&self) -> String {
        format!("{}/v1", self.served.base_url())
    }

    /// The integration token the API accepts.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The integration's bot user id (`last_edited_by` of API writes).
    pub fn bot_id(&self) -> &str {
        &self.bot.id
    }

    /// The person's user id (`last_edited_by` of the `user_*` edits).
    pub fn person_id(&self) -> &str {
        &self.person.id
    }

    /// Faults and the call log (`gate().calls().count("POST", "/v1/pages")`).
    pub fn gate(&self) -> &Gate {
        &self.gate
    }

    /// Replaces the rate limit (`None` turns it off) and forgets its window.
    pub fn set_rate_limit(&self, limit: Option<RateLimit>) {
        self.limiter.set(limit);
    }

    /// Fixes the emulator's clock (for minute-rounding tests); `None` returns to the real one.
    pub fn set_time(&self, at: Option<DateTime<Utc>>) {
        self.core.set_time(at);
    }

    /// A database with one data source of these properties.
    pub fn create_database(&self, title: &str, properties: &[PropertySpec]) -> DatabaseSetup {
        let defs = properties
            .iter()
            .map(|p| PropDef {
                id: if p.kind == "title" {
                    "title".to_owned()
                } else {
                    new_id()[..4].to_owned()
                },
                name: p.name.clone(),
                kind: p.kind.clone(),
                options: p.options.clone(),
            })
            .collect();
        let (database_id, data_source_id) = self.core.create_database(title, defs);
        DatabaseSetup {
            database_id,
            data_source_id,
        }
    }

    /// A page as the API renders it, trashed or not.
    pub fn page(&self, page_id: &str) -> Option<Value> {
        let id = ops::canonical(page_id)?;
        self.core.lock().render_page(&id)
    }

    /// Every page of a data source as the API renders it, trashed ones too, in creation order.
    pub fn pages(&self, data_source_id: &str) -> Vec<Value> {
        let Some(ds) = ops::canonical(data_source_id) else {
            return Vec::new();
        };
        let store = self.core.lock();
        (store.order.iter())
            .filter(|id| store.pages.get(*id).is_some_and(|p| p.data_source_id == ds))
            .filter_map(|id| store.render_page(id))
            .collect()
    }

    /// Creates a page "in the browser" from plain values by property name; answers its id.
    pub fn user_create_page(
        &self,
        data_source_id: &str,
        values: &[(&str, &str)],
    ) -> Result<String, ApiError> {
        let props = self.plain_properties(data_source_id, values)?;
        let page = self
            .core
            .create_page(&self.person, data_source_id, &props)?;
        Ok(page["id"].as_str().unwrap_or_default().to_owned())
    }

    /// Edits a page's properties "in the browser".
    pub fn user_update_page(&self, page_id: &str, values: &[(&str, &str)]) -> Result<(), ApiError> {
        let ds = self
            .page(page_id)
            .and_then(|p| p["parent"]["data_source_id"].as_str().map(str::to_owned))
            .ok_or_else(|| ApiError::not_found(page_id))?;
        let props = self.plain_properties(&ds, values)?;
        self.core
            .update_page(&self.person, page_id, Some(&props), None)
            .map(drop)
    }

    /// Moves a page to the trash (`true`) or restores it (`false`) "in the browser".
    pub fn user_trash_page(&self, page_id: &str, in_trash: bool) -> Result<(), ApiError> {
        self.core
            .update_page(&self.person, page_id, None, Some(in_trash))
            .map(drop)
    }

    /// Subscribes `url` to events: sends Notion's unsigned verification request there, and
    /// signs every later event with the token it carried.
    pub fn subscribe(&self, url: &str) -> Subscription {
        self.core.deliveries.subscribe(url)
    }

    /// The subscription, once [`Self::subscribe`] made it (its URL and verification token).
    pub fn subscription(&self) -> Option<Subscription> {
        self.core.deliveries.subscription()
    }

    /// Aggregates each page's `page.properties_updated` events over `window` into one, sent at
    /// its end with the authors and updated properties joined (`None`: one event per change).
    pub fn aggregate_events(&self, window: Option<std::time::Duration>) {
        self.core.deliveries.set_aggregation(window);
    }

    /// Every delivery attempted so far (held ones excepted), oldest first.
    pub fn deliveries(&self) -> Vec<DeliveryRecord> {
        self.core.deliveries.records()
    }

    /// Drops every delivery from now on (`false` to resume).
    pub fn drop_deliveries(&self, drop: bool) {
        self.core.deliveries.set_dropping(drop);
    }

    /// Holds every delivery from now on (`false` to resume); [`Self::take_held`] hands them out.
    pub fn hold_deliveries(&self, hold: bool) {
        self.core.deliveries.set_holding(hold);
    }

    pub fn take_held(&self) -> Vec<Delivery> {
        self.core.deliveries.take_held()
    }

    /// Sends a delivery (again): a held one, late, or one twice.
    pub fn redeliver(&self, delivery: Delivery) {
        self.core.deliveries.send(delivery);
    }

    /// Waits (bounded) until every queued delivery was sent, held or dropped.
    pub async fn deliveries_drained(&self, timeout: std::time::Duration) -> bool {
        self.core.deliveries.drained(timeout).await
    }

    pub fn stop(self) {
        self.served.stop();
    }

    /// Plain values as Notion's `properties` JSON, typed by the data source's schema.
    fn plain_properties(
        &self,
        data_source_id: &str,
        values: &[(&str, &str)],
    ) -> Result<Value, ApiError> {
        let id =
            ops::canonical(data_source_id).ok_or_else(|| ApiError::not_found(data_source_id))?;
        let store = self.core.lock();
        let ds = store
            .data_sources
            .get(&id)
            .ok_or_else(|| ApiError::not_found(&id))?;
        let mut props = Map::new();
        for (name, text) in values {
            let def = ds.prop(name).ok_or_else(|| {
                ApiError::validation(format!("{name} is not a property that exists."))
            })?;
            props.insert(def.name.clone(), value_json(&def.kind, text));
        }
        Ok(Value::Object(props))
    }
}

#[cfg(test)]
mod tests;
