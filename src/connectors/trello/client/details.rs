//! A card's details beyond its own fields: the board's labels and a card's labels, checklists
//! and check items. A call that makes something (a label, a checklist, an item, a label put on a
//! card) is never repeated after a lost answer, since a second one makes a second thing (or is
//! refused): its caller reads the card again. Removals and item updates are safe to repeat.

use reqwest::Method;
use reqwest::header::AUTHORIZATION;
use serde_json::{Value, json};

use super::wire::{WireCheckItem, WireChecklist, WireLabel};
use super::{CheckItem, Checklist, Label, TrelloClient, id_segment};
use crate::clients::http::ClientError;

impl TrelloClient {
    /// A POST tried once past 429s.
    async fn create<T: serde::de::DeserializeOwned>(
        &self,
        endpoint: &'static str,
        url: String,
        body: Value,
    ) -> Result<T, ClientError> {
        self.api
            .send_json_not_idempotent(endpoint, |c| {
                c.post(&url)
                    .header(AUTHORIZATION, self.auth.clone())
                    .json(&body)
            })
            .await
    }

    async fn remove(&self, endpoint: &'static str, url: String) -> Result<(), ClientError> {
        let auth = self.auth.clone();
        self.api
            .send(endpoint, |c| {
                c.delete(&url).header(AUTHORIZATION, auth.clone())
            })
            .await?;
        Ok(())
    }

    /// Every label of a board (named or not), in one call.
    pub async fn board_labels(&self, board_id: &str) -> Result<Vec<Label>, ClientError> {
        let board = id_segment("board_labels", board_id)?;
        let url = self.url(&format!("/boards/{board}/labels"));
        let labels: Vec<WireLabel> = self.get("board_labels", url, &[("limit", "1000")]).await?;
        Ok(labels.into_iter().map(Label::from).collect())
    }

    /// Creates a label on a board; `color` `None` makes a colourless one.
    pub async fn create_label(
        &self,
        board_id: &str,
        name: &str,
        color: Option<&str>,
    ) -> Result<Label, ClientError> {
        let board = id_segment("create_label", board_id)?;
        let url = self.url(&format!("/boards/{board}/labels"));
        let body = json!({"name": name, "color": color});
        let label: WireLabel = self.create("create_label", url, body).await?;
        Ok(label.into())
    }

    pub async fn add_label(&self, card_id: &str, label_id: &str) -> Result<(), ClientError> {
        let card = id_segment("add_label", card_id)?;
        let label = id_segment("add_label", label_id)?;
        let url = self.url(&format!("/cards/{card}/idLabels"));
        let _: Value = self
            .create("add_label", url, json!({"value": label}))
            .await?;
        Ok(())
    }

    pub async fn remove_label(&self, card_id: &str, label_id: &str) -> Result<(), ClientError> {
        let card = id_segment("remove_label", card_id)?;
        let label = id_segment("remove_label", label_id)?;
        let url = self.url(&format!("/cards/{card}/idLabels/{label}"));
        self.remove("remove_label", url).await
    }

    /// Adds an empty checklist at the bottom of a card.
    pub async fn create_checklist(
        &self,
        card_id: &str,
        name: &str,
    ) -> Result<Checklist, ClientError> {
        let card = id_segment("create_checklist", card_id)?;
        let url = self.url(&format!("/cards/{card}/checklists"));
        let body = json!({"name": name, "pos": "bottom"});
        let list: WireChecklist = self.create("create_checklist", url, body).await?;
        Ok(list.into())
    }

    pub async fn delete_checklist(&self, checklist_id: &str) -> Result<(), ClientError> {
        let id = id_segment("delete_checklist", checklist_id)?;
        let url = self.url(&format!("/checklists/{id}"));
        self.remove("delete_checklist", url).await
    }

    /// Adds an item at the bottom of a checklist.
    pub async fn add_check_item(
        &self,
        checklist_id: &str,
        name: &str,
        complete: bool,
    ) -> Result<CheckItem, ClientError> {
        let id = id_segment("add_check_item", checklist_id)?;
        let url = self.url(&format!("/checklists/{id}/checkItems"));
        let body = json!({"name": name, "checked": complete, "pos": "bottom"});
        let item: WireCheckItem = self.create("add_check_item", url, body).await?;
        Ok(item.into())
    }

    /// Renames an item and/or sets its state; a PUT of values, safe to repeat.
    pub async fn update_check_item(
        &self,
        card_id: &str,
        item_id: &str,
        name: Option<&str>,
        complete: Option<bool>,
    ) -> Result<CheckItem, ClientError> {
        let card = id_segment("update_check_item", card_id)?;
        let item = id_segment("update_check_item", item_id)?;
        let url = self.url(&format!("/cards/{card}/checkItem/{item}"));
        let mut body = json!({});
        if let Some(name) = name {
            body["name"] = json!(name);
        }
        if let Some(complete) = complete {
            body["state"] = json!(if complete { "complete" } else { "incomplete" });
        }
        let item: WireCheckItem = self
            .write("update_check_item", Method::PUT, url, &body)
            .await?;
        Ok(item.into())
    }

    pub async fn delete_check_item(
        &self,
        checklist_id: &str,
        item_id: &str,
    ) -> Result<(), ClientError> {
        let list = id_segment("delete_check_item", checklist_id)?;
        let item = id_segment("delete_check_item", item_id)?;
        let url = self.url(&format!("/checklists/{list}/checkItems/{item}"));
        self.remove("delete_check_item", url).await
    }
}
