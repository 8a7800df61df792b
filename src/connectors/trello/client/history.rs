//! A card's history (`GET /cards/{id}/actions`): when it was last archived, and its latest
//! field changes, each as a webhook would have delivered it.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::wire::WireAction;
use super::{TrelloClient, id_segment};
use crate::clients::http::ClientError;

/// The actions that change a card's synced fields (a mirror's labels too).
const FIELD_CHANGES: &str = "updateCard,updateCustomFieldItem,addLabelToCard,removeLabelFromCard";

impl TrelloClient {
    /// When the card was last archived, from its `updateCard:closed` actions (newest first);
    /// `None` if none of them archived it (it was never archived, or its history is gone).
    pub async fn archived_at(&self, card_id: &str) -> Result<Option<DateTime<Utc>>, ClientError> {
        let url = self.url(&format!(
            "/cards/{}/actions",
            id_segment("card_actions", card_id)?
        ));
        let query = [("filter", "updateCard:closed"), ("limit", "50")];
        let actions: Vec<WireAction> = self.get("card_actions", url, &query).await?;
        Ok(actions
            .into_iter()
            .find(|a| a.kind == "updateCard" && a.data.card.closed == Some(true))
            .map(|a| a.date))
    }

    /// The card's latest field changes (updates and custom field changes), newest first, each
    /// as Trello shows it: the `action` object of a webhook delivery.
    pub async fn card_changes(&self, card_id: &str) -> Result<Vec<Value>, ClientError> {
        let url = self.url(&format!(
            "/cards/{}/actions",
            id_segment("card_actions", card_id)?
        ));
        let query = [("filter", FIELD_CHANGES), ("limit", "50")];
        self.get("card_actions", url, &query).await
    }
}
