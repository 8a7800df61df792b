//! Trello as the engine's board: [`TrelloBoard`] implements
//! [`BoardConnector`](crate::sync::board::BoardConnector) over the Trello client, converting
//! its cards into the engine's (`convert.rs`). Each call is the client's own, with its retry
//! policy (a create is never repeated, `update_card_once` only past 429s); the engine keeps the
//! card commands' protocol that builds on them.

mod convert;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::clients::http::{ClientError, LimiterStats};
use crate::connectors::trello::client::TrelloClient;
use crate::model::board::{Card, CardAction, CardUpdate, ChecklistEdit, Label, NewCard};
use crate::sync::board::{BoardConnector, OnLost};
use crate::sync::connector::BoxFuture;
use crate::sync::context::BoardLayout;

/// Trello boards, through one client (whose limiters pace every Trello call of the run).
#[derive(Clone, Debug)]
pub struct TrelloBoard {
    client: TrelloClient,
}

impl TrelloBoard {
    pub fn new(client: TrelloClient) -> Self {
        Self { client }
    }

    /// An update sent as the client's `update_card`, or its `update_card_once` to report a lost
    /// answer.
    async fn update(
        &self,
        card_id: &str,
        update: &CardUpdate,
        on_lost: OnLost,
    ) -> Result<Card, ClientError> {
        let update = convert::card_update(update);
        let updated = match on_lost {
            OnLost::Repeat => self.client.update_card(card_id, &update).await,
            OnLost::Report => self.client.update_card_once(card_id, &update).await,
        };
        updated.map(Card::from)
    }

    /// A checklist edit as the client's call.
    async fn checklist(
        &self,
        card_id: &str,
        edit: &ChecklistEdit,
    ) -> Result<Option<String>, ClientError> {
        let c = &self.client;
        match edit {
            ChecklistEdit::AddChecklist { name } => {
                Ok(Some(c.create_checklist(card_id, name).await?.id))
            }
            ChecklistEdit::RemoveChecklist { checklist_id } => {
                c.delete_checklist(checklist_id).await.map(|()| None)
            }
            ChecklistEdit::AddItem {
                checklist_id,
                name,
                complete,
            } => Ok(Some(
                c.add_check_item(checklist_id, name, *complete).await?.id,
            )),
            ChecklistEdit::UpdateItem {
                item_id,
                name,
                complete,
            } => {
                let name = name.as_deref();
                c.update_check_item(card_id, item_id, name, *complete)
                    .await?;
                Ok(None)
            }
            ChecklistEdit::RemoveItem {
                checklist_id,
                item_id,
            } => c
                .delete_check_item(checklist_id, item_id)
                .await
                .map(|()| None),
        }
    }

    async fn layout_of(&self, board_id: &str) -> Result<BoardLayout, ClientError> {
        let lists = self.client.lists(board_id).await?;
        let fields = self.client.custom_fields(board_id).await?;
        Ok(BoardLayout {
            lists: (lists.into_iter())
                .filter(|l| !l.closed)
                .map(|l| (l.id, l.name))
                .collect(),
            custom_fields: (fields.into_iter())
                .map(|f| (f.id, f.name, f.field_type))
                .collect(),
        })
    }
}

impl BoardConnector for TrelloBoard {
    fn system(&self) -> &'static str {
        "trello"
    }

    fn member_id(&self) -> BoxFuture<'_, Result<String, ClientError>> {
        Box::pin(async move { Ok(self.client.me().await?.id) })
    }

    fn layout<'a>(&'a self, board_id: &'a str) -> BoxFuture<'a, Result<BoardLayout, ClientError>> {
        Box::pin(self.layout_of(board_id))
    }

    fn cards<'a>(&'a self, board_id: &'a str) -> BoxFuture<'a, Result<Vec<Card>, ClientError>> {
        Box::pin(async move {
            let cards = self.client.board_cards(board_id).await?;
            Ok(cards.into_iter().map(Card::from).collect())
        })
    }

    fn card<'a>(&'a self, card_id: &'a str) -> BoxFuture<'a, Result<Card, ClientError>> {
        Box::pin(async move { self.client.card(card_id).await.map(Card::from) })
    }

    fn archived_at<'a>(
        &'a self,
        card_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<DateTime<Utc>>, ClientError>> {
        Box::pin(self.client.archived_at(card_id))
    }

    fn card_history<'a>(
        &'a self,
        card_id: &'a str,
    ) -> BoxFuture<'a, Result<Vec<CardAction>, ClientError>> {
        Box::pin(async move {
            let actions = self.client.card_changes(card_id).await?;
            Ok(actions.iter().filter_map(convert::card_action).collect())
        })
    }

    fn create_card<'a>(&'a self, card: &'a NewCard) -> BoxFuture<'a, Result<Card, ClientError>> {
        Box::pin(async move {
            let new = convert::new_card(card);
            self.client.create_card(&new).await.map(Card::from)
        })
    }

    fn update_card<'a>(
        &'a self,
        card_id: &'a str,
        update: &'a CardUpdate,
        on_lost: OnLost,
    ) -> BoxFuture<'a, Result<Card, ClientError>> {
        Box::pin(self.update(card_id, update, on_lost))
    }

    fn set_custom_texts<'a>(
        &'a self,
        card_id: &'a str,
        texts: &'a BTreeMap<String, String>,
    ) -> BoxFuture<'a, Result<(), ClientError>> {
        Box::pin(self.client.set_custom_texts(card_id, texts))
    }

    fn labels<'a>(&'a self, board_id: &'a str) -> BoxFuture<'a, Result<Vec<Label>, ClientError>> {
        Box::pin(self.client.board_labels(board_id))
    }

    fn create_label<'a>(
        &'a self,
        board_id: &'a str,
        name: &'a str,
        color: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Label, ClientError>> {
        Box::pin(self.client.create_label(board_id, name, color))
    }

    fn card_label<'a>(
        &'a self,
        card_id: &'a str,
        label_id: &'a str,
        on: bool,
    ) -> BoxFuture<'a, Result<(), ClientError>> {
        Box::pin(async move {
            if on {
                self.client.add_label(card_id, label_id).await
            } else {
                self.client.remove_label(card_id, label_id).await
            }
        })
    }

    fn checklist_edit<'a>(
        &'a self,
        card_id: &'a str,
        edit: &'a ChecklistEdit,
    ) -> BoxFuture<'a, Result<Option<String>, ClientError>> {
        Box::pin(self.checklist(card_id, edit))
    }

    fn budget(&self) -> Vec<LimiterStats> {
        self.client.limiter_stats()
    }
}
