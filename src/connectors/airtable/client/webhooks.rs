//! The webhooks API: create (the MAC secret is answered once), list, delete, refresh, and the
//! payloads read by cursor.

use reqwest::Method;
use serde_json::json;

use super::wire::{CreatedWebhook, PayloadPage, RefreshWire, Webhook, WebhooksWire};
use super::{AirtableClient, id};
use crate::clients::http::ClientError;

impl AirtableClient {
    /// A webhook on the record data of one table, whose payloads carry previous cell values and
    /// every other cell of a changed record (a lead first seen in a change needs all of them).
    /// Not retried on an unknown outcome: a second POST makes a second webhook, and the first
    /// one's secret would be lost; the caller lists the base's webhooks before trying again.
    pub async fn create_webhook(
        &self,
        base_id: &str,
        table_id: &str,
        notification_url: &str,
    ) -> Result<CreatedWebhook, ClientError> {
        let endpoint = "create_webhook";
        let base = id(endpoint, "base", base_id)?;
        let table = id(endpoint, "table", table_id)?;
        let url = self.url(&["bases", base, "webhooks"]);
        let body = json!({
            "notificationUrl": notification_url,
            "specification": {"options": {
                "filters": {"dataTypes": ["tableData"], "recordChangeScope": table},
                "includes": {
                    "includePreviousCellValues": true,
                    "includeCellValuesInFieldIds": "all",
                },
            }},
        });
        self.send(base, endpoint, (Method::POST, url), Some(&body), false)
            .await
    }

    /// The base's webhooks (every notification URL, ours or not).
    pub async fn webhooks(&self, base_id: &str) -> Result<Vec<Webhook>, ClientError> {
        let base = id("list_webhooks", "base", base_id)?;
        let url = self.url(&["bases", base, "webhooks"]);
        let w: WebhooksWire = self.get(base, "list_webhooks", url, &[]).await?;
        Ok(w.webhooks)
    }

    pub async fn delete_webhook(&self, base_id: &str, webhook_id: &str) -> Result<(), ClientError> {
        let endpoint = "delete_webhook";
        let base = id(endpoint, "base", base_id)?;
        let hook = id(endpoint, "webhook", webhook_id)?;
        let url = self.url(&["bases", base, "webhooks", hook]);
        let _: serde_json::Value = self
            .send(base, endpoint, (Method::DELETE, url), None, true)
            .await?;
        Ok(())
    }

    /// Extends the webhook's life (Airtable: 7 days from now); answers the new expiration.
    pub async fn refresh_webhook(
        &self,
        base_id: &str,
        webhook_id: &str,
    ) -> Result<chrono::DateTime<chrono::Utc>, ClientError> {
        let endpoint = "refresh_webhook";
        let base = id(endpoint, "base", base_id)?;
        let hook = id(endpoint, "webhook", webhook_id)?;
        let url = self.url(&["bases", base, "webhooks", hook, "refresh"]);
        let w: RefreshWire = self
            .send(base, endpoint, (Method::POST, url), None, true)
            .await?;
        Ok(w.expiration_time)
    }

    /// The payloads from `cursor` on (the first is 1), at most 50; read again from the answer's
    /// `cursor` while `might_have_more`.
    pub async fn payloads(
        &self,
        base_id: &str,
        webhook_id: &str,
        cursor: u64,
    ) -> Result<PayloadPage, ClientError> {
        let endpoint = "webhook_payloads";
        let base = id(endpoint, "base", base_id)?;
        let hook = id(endpoint, "webhook", webhook_id)?;
        let url = self.url(&["bases", base, "webhooks", hook, "payloads"]);
        let query = [("cursor", cursor.max(1).to_string())];
        self.get(base, endpoint, url, &query).await
    }
}
