//! Keeps the stored Airtable webhooks alive: Airtable disables a webhook 7 days after its
//! creation or last refresh, so at start-up and every hour each one's `expirationTime` is read
//! from the base's list, and one expiring within 2 days is refreshed. Problems are recorded on
//! the webhook (`last_error`, shown by `/admin/status`) and logged; they never stop the daemon.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

use super::{CONNECTOR, airtable_pairs};
use crate::config::Settings;
use crate::connectors::airtable::client::build::airtable_client;
use crate::connectors::airtable::client::{AirtableClient, Webhook};
use crate::store::tracker_webhooks::{self, TrackerWebhook};
use crate::store::{Db, StoreError};

/// How often the expiries are read again.
pub const CHECK_EVERY: Duration = Duration::from_secs(3600);

/// A webhook expiring sooner than this is refreshed. Two days leave room for a day of failed
/// refreshes (the API down, a revoked token being replaced) before notifications stop.
pub fn refresh_within() -> chrono::Duration {
    chrono::Duration::days(2)
}

/// The `last_error` of a webhook Airtable does not list any more.
pub const NOT_LISTED: &str =
    "Airtable no longer lists this webhook; run `leadsync webhooks register` to create a new one";

#[derive(Clone)]
pub struct WebhookUpkeep {
    db: Db,
    client: AirtableClient,
}

impl WebhookUpkeep {
    /// The upkeep when a pair has an Airtable tracker. Without a usable client (an empty
    /// `airtable.token`) nothing can be refreshed: that is logged, and `None` answered.
    pub fn for_settings(settings: &Settings, db: Db) -> Option<Self> {
        airtable_pairs(settings).next()?;
        match airtable_client(settings) {
            Ok(client) => Some(Self::new(db, client)),
            Err(err) => {
                tracing::warn!(error = %err, "Airtable webhooks will not be refreshed");
                None
            }
        }
    }

    pub fn new(db: Db, client: AirtableClient) -> Self {
        Self { db, client }
    }

    /// Checks now and then every [`CHECK_EVERY`] until `shutdown`.
    pub async fn run(self, shutdown: CancellationToken) {
        loop {
            tokio::select! {
                result = self.check(Utc::now()) => if let Err(err) = result {
                    tracing::error!(error = %err, "Airtable webhook expiries could not be stored");
                },
                () = shutdown.cancelled() => return,
            }
            tokio::select! {
                () = tokio::time::sleep(CHECK_EVERY) => {}
                () = shutdown.cancelled() => return,
            }
        }
    }

    /// One pass over every stored Airtable webhook, base by base (one list call per base).
    pub async fn check(&self, now: DateTime<Utc>) -> Result<(), StoreError> {
        let mut by_base: BTreeMap<String, Vec<TrackerWebhook>> = BTreeMap::new();
        for row in tracker_webhooks::list(&self.db.pool).await? {
            if row.connector == CONNECTOR {
                by_base.entry(row.base_id.clone()).or_default().push(row);
            }
        }
        for (base_id, rows) in by_base {
            match self.client.webhooks(&base_id).await {
                Ok(listed) => {
                    for row in &rows {
                        let hook = listed.iter().find(|w| w.id == row.id);
                        self.check_one(row, hook, now).await?;
                    }
                }
                Err(err) => {
                    tracing::warn!(base = %base_id, error = %err, "Airtable webhooks could not be listed");
                    let text = format!("listing the base's webhooks failed: {err}");
                    for row in &rows {
                        self.record(row, Some(&text)).await?;
                    }
                }
            }
        }
        Ok(())
    }

    async fn check_one(
        &self,
        row: &TrackerWebhook,
        hook: Option<&Webhook>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let Some(hook) = hook else {
            tracing::warn!(pair = %row.pair, webhook = %row.id, "{NOT_LISTED}");
            return self.record(row, Some(NOT_LISTED)).await;
        };
        let listed = hook.expiration_time;
        if let Some(at) = listed {
            tracker_webhooks::set_expiry(&self.db.pool, CONNECTOR, &row.id, at.timestamp_millis())
                .await?;
        }
        if listed.is_some_and(|at| at - now >= refresh_within()) {
            return self.record(row, None).await;
        }
        match self.client.refresh_webhook(&row.base_id, &row.id).await {
            Ok(at) => {
                let ms = at.timestamp_millis();
                tracker_webhooks::set_expiry(&self.db.pool, CONNECTOR, &row.id, ms).await?;
                tracing::info!(pair = %row.pair, webhook = %row.id, expires_at = %at, "Airtable webhook refreshed");
                self.record(row, None).await
            }
            Err(err) => {
                tracing::warn!(pair = %row.pair, webhook = %row.id, error = %err, "Airtable webhook could not be refreshed");
                self.record(row, Some(&format!("refresh failed: {err}")))
                    .await
            }
        }
    }

    async fn record(&self, row: &TrackerWebhook, error: Option<&str>) -> Result<(), StoreError> {
        tracker_webhooks::record_error(&self.db.pool, CONNECTOR, &row.id, error).await?;
        Ok(())
    }
}
