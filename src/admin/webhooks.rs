//! Webhook registration, listing and deletion for every pair, over each system's own webhook
//! admin: Trello's on the boards (`connectors::trello::webhooks`), Airtable's on the Airtable
//! pairs' tables (`connectors::airtable::webhooks`).

use serde::Serialize;

use super::AdminError;
use crate::config::Settings;
use crate::connectors::airtable::client::AirtableClient;
use crate::connectors::airtable::client::build::airtable_client;
use crate::connectors::airtable::webhooks::{
    self as airtable, AirtableWebhookView, CONNECTOR, airtable_pairs,
};
use crate::connectors::trello::client::TrelloClient;
use crate::connectors::trello::client::build::trello_client;
use crate::connectors::trello::webhooks::{self as trello, TrelloWebhookView};
use crate::connectors::webhooks::WebhookError;
use crate::store::{Db, tracker_webhooks};

/// One webhook as `/admin/webhooks` and `leadsync webhooks` show it, with `"system"` naming
/// the API that holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "system", rename_all = "lowercase")]
pub enum WebhookView {
    Trello(TrelloWebhookView),
    Airtable(AirtableWebhookView),
}

/// The Airtable client when a pair has an Airtable tracker (an empty `airtable.token` is then
/// an error naming the key); `None` otherwise.
pub fn airtable_client_if_needed(
    settings: &Settings,
) -> Result<Option<AirtableClient>, AdminError> {
    if airtable_pairs(settings).next().is_none() {
        return Ok(None);
    }
    airtable_client(settings)
        .map(Some)
        .map_err(|e| WebhookError::from(e).into())
}

/// Trello webhooks for every board, then Airtable webhooks for every Airtable pair.
pub async fn register_webhooks(
    settings: &Settings,
    db: &Db,
    trello: &TrelloClient,
    airtable: Option<&AirtableClient>,
) -> Result<Vec<WebhookView>, AdminError> {
    let hooks = trello::register(settings, db, trello).await?;
    let mut views: Vec<WebhookView> = hooks.into_iter().map(WebhookView::Trello).collect();
    if let Some(client) = airtable {
        let hooks = airtable::register(settings, db, client).await?;
        views.extend(hooks.into_iter().map(WebhookView::Airtable));
    }
    Ok(views)
}

/// The token's Trello webhooks, then the Airtable pairs' bases' webhooks.
pub async fn list_webhooks(
    settings: &Settings,
    db: &Db,
    trello: &TrelloClient,
    airtable: Option<&AirtableClient>,
) -> Result<Vec<WebhookView>, AdminError> {
    let hooks = trello::list(trello).await?;
    let mut views: Vec<WebhookView> = hooks.into_iter().map(WebhookView::Trello).collect();
    if let Some(client) = airtable {
        let hooks = airtable::list(settings, db, client).await?;
        views.extend(hooks.into_iter().map(WebhookView::Airtable));
    }
    Ok(views)
}

/// Deletes an Airtable webhook when the id is one of ours in `tracker_webhooks`, else a Trello
/// one through `trello` (the daemon's client), or a client built for it when none is given.
/// Only the client the deletion needs is built; an id that can be neither is not found.
pub async fn delete_webhook(
    settings: &Settings,
    db: &Db,
    trello: Option<&TrelloClient>,
    id: &str,
) -> Result<(), AdminError> {
    if let Some(row) = tracker_webhooks::get(&db.pool, CONNECTOR, id).await? {
        let client = airtable_client(settings).map_err(WebhookError::from)?;
        return Ok(airtable::delete(db, &client, &row).await?);
    }
    // Neither ours at Airtable nor a Trello id (24 hex digits): no such webhook can exist.
    if !crate::config::is_full_id(id) {
        return Err(AdminError::WebhookNotFound(id.to_owned()));
    }
    match trello {
        Some(client) => Ok(trello::delete(db, client, id).await?),
        None => Ok(trello::delete(db, &trello_client(settings)?, id).await?),
    }
}
