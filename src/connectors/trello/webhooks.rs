//! Trello webhooks, one per board of the pairs and mirrors, calling `{public_url}/webhooks/trello`: registration
//! (each stored, so its callback URL stays accepted if `public_url` changes), listing and
//! deletion.

use std::collections::HashSet;

use serde::Serialize;

use crate::clients::http::ClientError;
use crate::config::Settings;
use crate::connectors::trello::client::{TrelloClient, Webhook};
use crate::connectors::webhooks::WebhookError;
use crate::store::{self, Db};

/// A Trello webhook as `/admin/webhooks` and `leadsync webhooks` show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrelloWebhookView {
    pub id: String,
    pub board_id: String,
    pub callback_url: String,
    pub active: bool,
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
pub async fn register(
    settings: &Settings,
    db: &Db,
    trello: &TrelloClient,
) -> Result<Vec<TrelloWebhookView>, WebhookError> {
    let callback = settings.trello_callback_url();
    let existing = trello.webhooks().await?;
    let mut boards = HashSet::new();
    let mut registered = Vec::new();
    // One webhook per board: the door routes its actions to every pair and mirror of it.
    let pair_boards = settings.pairs.iter().map(|p| (&p.board_id, &p.name));
    let mirror_boards =
        (settings.mirrors.iter()).flat_map(|m| [(&m.board_a, &m.name), (&m.board_b, &m.name)]);
    for (board_id, name) in pair_boards.chain(mirror_boards) {
        if !boards.insert(board_id.as_str()) {
            continue;
        }
        let found = existing
            .iter()
            .find(|w| &w.id_model == board_id && w.callback_url == callback);
        let hook = match found {
            Some(hook) => hook.clone(),
            None => {
                let description = format!("leadsync {name}");
                let hook = trello
                    .create_webhook(&callback, board_id, &description)
                    .await?;
                tracing::info!(pair = %name, webhook = %hook.id, "Trello webhook registered");
                hook
            }
        };
        store::webhooks::insert(&db.pool, &hook.id, Some(name), board_id, &hook.callback_url)
            .await?;
        registered.push(TrelloWebhookView::from(&hook));
    }
    Ok(registered)
}

/// The token's webhooks, whichever board they watch.
pub async fn list(trello: &TrelloClient) -> Result<Vec<TrelloWebhookView>, WebhookError> {
    Ok(trello.webhooks().await?.iter().map(Into::into).collect())
}

/// Deletes a webhook in Trello and forgets it here. One Trello no longer knows is forgotten
/// too, and reported as not found.
pub async fn delete(db: &Db, trello: &TrelloClient, id: &str) -> Result<(), WebhookError> {
    let gone = match trello.delete_webhook(id).await {
        Ok(()) => Ok(()),
        Err(ClientError::NotFound { .. }) => Err(WebhookError::NotFound(id.to_owned())),
        // Refused before sending: not a Trello id, so no such webhook can exist.
        Err(ClientError::BadRequest { status: 0, .. }) => {
            return Err(WebhookError::NotFound(id.to_owned()));
        }
        Err(other) => return Err(other.into()),
    };
    if store::webhooks::delete(&db.pool, id).await? {
        tracing::info!(webhook = %id, "Trello webhook forgotten");
    }
    gone
}
