//! Webhook registration, listing and deletion for every pair: Trello webhooks on the boards here,
//! Airtable ones on the Airtable pairs' tables in `connectors::airtable::webhooks`.

use std::collections::HashSet;

use serde::Serialize;

use super::AdminError;
use crate::clients::build::trello_client;
use crate::clients::http::ClientError;
use crate::clients::trello::{TrelloClient, Webhook};
use crate::config::Settings;
use crate::connectors::airtable::client::AirtableClient;
use crate::connectors::airtable::client::build::airtable_client;
use crate::connectors::airtable::webhooks::{
    self as airtable, AirtableWebhookView, CONNECTOR, airtable_pairs,
};
use crate::store::{self, Db, tracker_webhooks};

/// One webhook as `/admin/webhooks` and `leadsync webhooks` show it, with `"system"` naming
/// the API that holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "system", rename_all = "lowercase")]
pub enum WebhookView {
    Trello(TrelloWebhookView),
    Airtable(AirtableWebhookView),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrelloWebhookView {
    pub id: String,
    pub board_id: String,
    pub callback_url: String,
    pub active: bool,
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
        .map_err(|e| airtable::airtable_error(e).into())
}

/// Trello webhooks for every board, then Airtable webhooks for every Airtable pair.
pub async fn register_webhooks(
    settings: &Settings,
    db: &Db,
    trello: &TrelloClient,
    airtable: Option<&AirtableClient>,
) -> Result<Vec<WebhookView>, AdminError> {
    let mut views: Vec<WebhookView> = register_trello_webhooks(settings, db, trello)
        .await?
        .into_iter()
        .map(WebhookView::Trello)
        .collect();
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
    let mut views: Vec<WebhookView> = (trello.webhooks().await?.iter())
        .map(|w| WebhookView::Trello(w.into()))
        .collect();
    if let Some(client) = airtable {
        let hooks = airtable::list(settings, db, client).await?;
        views.extend(hooks.into_iter().map(WebhookView::Airtable));
    }
    Ok(views)
}

/// Deletes an Airtable webhook when the id is one of ours in `tracker_webhooks`, else a Trello
/// one. Only the client the deletion needs is built; an id that can be neither is not found.
pub async fn delete_webhook(settings: &Settings, db: &Db, id: &str) -> Result<(), AdminError> {
    if let Some(row) = tracker_webhooks::get(&db.pool, CONNECTOR, id).await? {
        let client = airtable_client(settings).map_err(airtable::airtable_error)?;
        return Ok(airtable::delete(db, &client, &row).await?);
    }
    // Neither ours at Airtable nor a Trello id (24 hex digits): no such webhook can exist.
    if !crate::config::is_full_id(id) {
        return Err(AdminError::WebhookNotFound(id.to_owned()));
    }
    delete_trello_webhook(db, &trello_client(settings)?, id).await
}

impl From<&Webhook> for TrelloWebhookView {
    fn from(w: &Webhook) -> Self {
        Self {
            id: w.id.clone(),
            board_id: w.id_model.clone(),
            callback_url: w.callback_url.clone(),
            active: w.active,
        }
    }
}

/// For each pair's board, the token's webhook on `{public_url}/webhooks/trello`: an existing
/// one is reused (Trello refuses a duplicate anyway), a missing one is created. Each is stored
/// so its callback URL stays accepted if `public_url` changes later. Returns one per board.
async fn register_trello_webhooks(
    settings: &Settings,
    db: &Db,
    trello: &TrelloClient,
) -> Result<Vec<TrelloWebhookView>, AdminError> {
    let callback = settings.trello_callback_url();
    let existing = trello.webhooks().await?;
    let mut boards = HashSet::new();
    let mut registered = Vec::new();
    for pair in &settings.pairs {
        if !boards.insert(pair.board_id.as_str()) {
            continue;
        }
        let found = existing
            .iter()
            .find(|w| w.id_model == pair.board_id && w.callback_url == callback);
        let hook = match found {
            Some(hook) => hook.clone(),
            None => {
                let description = format!("leadsync {}", pair.name);
                let hook = trello
                    .create_webhook(&callback, &pair.board_id, &description)
                    .await?;
                tracing::info!(pair = %pair.name, webhook = %hook.id, "Trello webhook registered");
                hook
            }
        };
        store::webhooks::insert(
            &db.pool,
            &hook.id,
            Some(&pair.name),
            &pair.board_id,
            &hook.callback_url,
        )
        .await?;
        registered.push(TrelloWebhookView::from(&hook));
    }
    Ok(registered)
}

/// Deletes a webhook in Trello and forgets it here. One Trello no longer knows is forgotten
/// too, and reported as not found.
async fn delete_trello_webhook(db: &Db, trello: &TrelloClient, id: &str) -> Result<(), AdminError> {
    let gone = match trello.delete_webhook(id).await {
        Ok(()) => Ok(()),
        Err(ClientError::NotFound { .. }) => Err(AdminError::WebhookNotFound(id.to_owned())),
        // Refused before sending: not a Trello id, so no such webhook can exist.
        Err(ClientError::BadRequest { status: 0, .. }) => {
            return Err(AdminError::WebhookNotFound(id.to_owned()));
        }
        Err(other) => return Err(other.into()),
    };
    if store::webhooks::delete(&db.pool, id).await? {
        tracing::info!(webhook = %id, "Trello webhook forgotten");
    }
    gone
}
