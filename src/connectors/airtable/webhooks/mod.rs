//! Airtable base webhooks for the pairs with `tracker = "airtable"`: registration (one per pair's
//! table, notifying `{public_url}/webhooks/airtable`), listing and deletion. The MAC secret is
//! answered only at creation, so a webhook is ours only if `tracker_webhooks` holds its secret.
//! `upkeep` keeps them from expiring.

pub mod upkeep;

use std::collections::BTreeSet;

use serde::Serialize;

use crate::clients::http::ClientError;
use crate::config::{PairSettings, Settings};
use crate::connectors::airtable::client::{AirtableClient, Webhook};
use crate::connectors::webhooks::WebhookError;
use crate::inbound::AIRTABLE_PATH;
use crate::model::TrackerKind;
use crate::store::activity::rfc3339;
use crate::store::tracker_webhooks::{self, NewTrackerWebhook, TrackerWebhook};
use crate::store::{Db, StoreError};

/// The `connector` of Airtable rows in `tracker_webhooks`.
pub(crate) const CONNECTOR: &str = "airtable";

/// An Airtable webhook as `/admin/webhooks` and `leadsync webhooks` show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AirtableWebhookView {
    pub id: String,
    pub base_id: String,
    /// The pair it was registered for; `None` for webhooks leadsync does not hold.
    pub pair: Option<String>,
    pub callback_url: String,
    pub active: bool,
    /// RFC 3339.
    pub expires_at: Option<String>,
}

impl AirtableWebhookView {
    fn new(base_id: &str, hook: &Webhook, pair: Option<String>) -> Self {
        Self {
            id: hook.id.clone(),
            base_id: base_id.to_owned(),
            pair,
            callback_url: hook.notification_url.clone().unwrap_or_default(),
            active: hook.is_hook_enabled,
            expires_at: hook.expiration_time.map(|t| rfc3339(t.timestamp_millis())),
        }
    }
}

/// `{public_url}/webhooks/airtable`: where new webhooks notify.
pub fn notification_url(settings: &Settings) -> String {
    format!("{}{AIRTABLE_PATH}", settings.server.public_url)
}

pub fn airtable_pairs(settings: &Settings) -> impl Iterator<Item = &PairSettings> {
    (settings.pairs.iter()).filter(|p| p.tracker == TrackerKind::Airtable)
}

/// The pair's base and table (name or id) as configured.
fn base_and_table(pair: &PairSettings) -> Result<(&str, &str), WebhookError> {
    let key = |k: &str| format!("pairs {:?}: {k} is empty", pair.name);
    let base = (pair.base_id.as_deref()).filter(|b| !b.trim().is_empty());
    let table = (pair.table.as_deref()).filter(|t| !t.trim().is_empty());
    Ok((
        base.ok_or_else(|| WebhookError::Config(key("base_id")))?,
        table.ok_or_else(|| WebhookError::Config(key("table")))?,
    ))
}

/// For each Airtable pair, the webhook on its table notifying our URL: one whose secret we hold
/// is kept; one we cannot verify (its secret was lost with a database) is deleted at Airtable;
/// a missing one is created and its secret stored. Safe to repeat.
pub async fn register(
    settings: &Settings,
    db: &Db,
    client: &AirtableClient,
) -> Result<Vec<AirtableWebhookView>, WebhookError> {
    let url = notification_url(settings);
    let mut views = Vec::new();
    for pair in airtable_pairs(settings) {
        let (base_id, table) = base_and_table(pair)?;
        let table_id = (client.table(base_id, table).await)?
            .ok_or_else(|| {
                WebhookError::Config(format!(
                    "pairs {:?}: table {table:?} is not in base {base_id}",
                    pair.name
                ))
            })?
            .id;
        let listed = client.webhooks(base_id).await?;
        forget_gone(db, pair, base_id, &listed).await?;
        let kept = keep_or_drop(db, client, (base_id, &table_id, &url), &listed).await?;
        let hook = match kept {
            Some(hook) => hook,
            None => create(db, client, pair, (base_id, &table_id, &url)).await?,
        };
        let pair_name = stored_pair(db, &hook.id).await?.or(Some(pair.name.clone()));
        views.push(AirtableWebhookView::new(base_id, &hook, pair_name));
    }
    Ok(views)
}

/// Rows of the pair's base that Airtable no longer lists can never be pinged again.
async fn forget_gone(
    db: &Db,
    pair: &PairSettings,
    base_id: &str,
    listed: &[Webhook],
) -> Result<(), StoreError> {
    for row in tracker_webhooks::list_for_pair(&db.pool, &pair.name).await? {
        let gone = row.connector == CONNECTOR
            && row.base_id == base_id
            && !listed.iter().any(|w| w.id == row.id);
        if gone && tracker_webhooks::delete(&db.pool, CONNECTOR, &row.id).await? {
            tracing::warn!(pair = %pair.name, webhook = %row.id,
                "Airtable no longer lists this webhook; forgotten");
        }
    }
    Ok(())
}

/// Among the base's webhooks notifying `url` about `table_id`, the first whose secret we hold;
/// the others with our URL are deleted at Airtable (their pings could never be verified).
async fn keep_or_drop(
    db: &Db,
    client: &AirtableClient,
    (base_id, table_id, url): (&str, &str, &str),
    listed: &[Webhook],
) -> Result<Option<Webhook>, WebhookError> {
    let mut kept = None;
    for hook in listed.iter().filter(|w| is_ours(w, table_id, url)) {
        let held = tracker_webhooks::get(&db.pool, CONNECTOR, &hook.id).await?;
        if held.is_some() && kept.is_none() {
            kept = Some(hook.clone());
            continue;
        }
        if held.is_some() {
            continue;
        }
        match client.delete_webhook(base_id, &hook.id).await {
            Ok(()) | Err(ClientError::NotFound { .. }) => {}
            Err(err) => return Err(err.into()),
        }
        tracing::warn!(base = %base_id, webhook = %hook.id,
            "Airtable webhook notifying leadsync without a stored secret deleted; a new one replaces it");
    }
    Ok(kept)
}

/// Notifies `url` about record changes in `table_id`.
fn is_ours(hook: &Webhook, table_id: &str, url: &str) -> bool {
    let scope = &hook.specification["options"]["filters"]["recordChangeScope"];
    hook.notification_url.as_deref() == Some(url) && scope.as_str() == Some(table_id)
}

async fn create(
    db: &Db,
    client: &AirtableClient,
    pair: &PairSettings,
    (base_id, table_id, url): (&str, &str, &str),
) -> Result<Webhook, WebhookError> {
    use secrecy::ExposeSecret;
    let created = (client.create_webhook(base_id, table_id, url).await)?;
    let row = NewTrackerWebhook {
        connector: CONNECTOR.into(),
        id: created.id.clone(),
        pair: pair.name.clone(),
        base_id: base_id.to_owned(),
        notification_url: url.to_owned(),
        mac_secret: created.mac_secret_base64.expose_secret().to_owned(),
        expires_at: Some(created.expiration_time.timestamp_millis()),
    };
    tracker_webhooks::insert(&db.pool, &row).await?;
    tracing::info!(pair = %pair.name, webhook = %created.id, "Airtable webhook registered");
    Ok(Webhook {
        id: created.id,
        notification_url: Some(url.to_owned()),
        expiration_time: Some(created.expiration_time),
        is_hook_enabled: true,
        are_notifications_enabled: true,
        cursor_for_next_payload: 1,
        specification: serde_json::Value::Null,
    })
}

async fn stored_pair(db: &Db, id: &str) -> Result<Option<String>, StoreError> {
    let row = tracker_webhooks::get(&db.pool, CONNECTOR, id).await?;
    Ok(row.map(|r| r.pair))
}

/// Every webhook of the Airtable pairs' bases, as Airtable lists them (with the pair when the
/// webhook is ours).
pub async fn list(
    settings: &Settings,
    db: &Db,
    client: &AirtableClient,
) -> Result<Vec<AirtableWebhookView>, WebhookError> {
    let bases: BTreeSet<&str> = airtable_pairs(settings)
        .filter_map(|p| p.base_id.as_deref())
        .filter(|b| !b.trim().is_empty())
        .collect();
    let mut views = Vec::new();
    for base_id in bases {
        for hook in client.webhooks(base_id).await? {
            let pair = stored_pair(db, &hook.id).await?;
            views.push(AirtableWebhookView::new(base_id, &hook, pair));
        }
    }
    Ok(views)
}

/// Deletes one of our webhooks at Airtable and forgets it. One Airtable no longer knows is
/// forgotten too, and reported as not found.
pub async fn delete(
    db: &Db,
    client: &AirtableClient,
    row: &TrackerWebhook,
) -> Result<(), WebhookError> {
    let gone = match client.delete_webhook(&row.base_id, &row.id).await {
        Ok(()) => Ok(()),
        Err(ClientError::NotFound { .. }) => Err(WebhookError::NotFound(row.id.clone())),
        Err(other) => return Err(other.into()),
    };
    if tracker_webhooks::delete(&db.pool, CONNECTOR, &row.id).await? {
        tracing::info!(pair = %row.pair, webhook = %row.id, "Airtable webhook forgotten");
    }
    gone
}
