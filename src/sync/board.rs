//! What the engine knows of a board: the [`BoardConnector`] trait, speaking the board vocabulary
//! of `model::board`. The stages ask it for a pair's lists and custom fields (`resolve`), a
//! board's cards (`reconcile`) and the card writes of the outbox's card commands (`outbox`); the
//! console shows its API budget. A board's events reach the engine already parsed
//! (`inbound::InboundEvent::Trello`, a `BoardEvent`), so decoding is not asked of it. The
//! connector lives above the engine (`connectors/trello/board`); the engine never names one.
//!
//! The card commands' protocol (a card created once per lead, found again by its lead marker
//! when a create's answer was lost; a lost archive or move settled by reading the card) is the
//! engine's, in `outbox/trello.rs`: it is written against these calls alone, so every board
//! connector gets it, and a connector only says which of its calls are safe to repeat.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::clients::http::{ClientError, LimiterStats};
use crate::model::board::{Card, CardAction, CardUpdate, ChecklistEdit, Label, NewCard};
use crate::sync::connector::BoxFuture;
use crate::sync::context::BoardLayout;

/// One board system (Trello), serving every pair: each call names the board or card it is about.
/// What a card write does when its answer is lost (the board may have written it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnLost {
    /// Sent again, as the client's policy allows: the write carries only the engine's values.
    Repeat,
    /// Tried once past rate limits and reported: the caller reads the card again rather than
    /// repeat a body built from what it read before, over what a user may have typed since.
    Report,
}

pub trait BoardConnector: Send + Sync {
    /// The system's name, as errors say it (`reading trello: …`).
    fn system(&self) -> &'static str;

    /// The member the connector's token acts as: a board event made by it is leadsync's own write.
    fn member_id(&self) -> BoxFuture<'_, Result<String, ClientError>>;

    /// A board's open lists and its custom field definitions, read at start-up.
    fn layout<'a>(&'a self, board_id: &'a str) -> BoxFuture<'a, Result<BoardLayout, ClientError>>;

    /// Every card of a board, archived ones too: complete, or an error.
    fn cards<'a>(&'a self, board_id: &'a str) -> BoxFuture<'a, Result<Vec<Card>, ClientError>>;

    /// One card as it is now (`ClientError::NotFound` when it is gone).
    fn card<'a>(&'a self, card_id: &'a str) -> BoxFuture<'a, Result<Card, ClientError>>;

    /// When the card was last archived; `None` when the board does not show it.
    fn archived_at<'a>(
        &'a self,
        card_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<DateTime<Utc>>, ClientError>>;

    /// The card's latest changes of its fields (name, description, list, archive, custom
    /// fields), newest first, as far back as the board keeps them in one read.
    fn card_history<'a>(
        &'a self,
        card_id: &'a str,
    ) -> BoxFuture<'a, Result<Vec<CardAction>, ClientError>>;

    /// Creates a card. Never repeated on a lost answer (a second create makes a second card):
    /// the engine looks for the card by its marker before it tries again.
    fn create_card<'a>(&'a self, card: &'a NewCard) -> BoxFuture<'a, Result<Card, ClientError>>;

    /// Changes the fields set in `update`; after a lost answer, as `on_lost` says. Answers the
    /// card as it now is.
    fn update_card<'a>(
        &'a self,
        card_id: &'a str,
        update: &'a CardUpdate,
        on_lost: OnLost,
    ) -> BoxFuture<'a, Result<Card, ClientError>>;

    /// Sets text custom fields of a card (by field id) in one write; an empty text clears its
    /// field. Safe to repeat. No call for an empty map.
    fn set_custom_texts<'a>(
        &'a self,
        card_id: &'a str,
        texts: &'a BTreeMap<String, String>,
    ) -> BoxFuture<'a, Result<(), ClientError>>;

    /// A board's labels, named or not (the mirrors' label matching). A board system without
    /// labels keeps this default, which says so.
    fn labels<'a>(&'a self, _board_id: &'a str) -> BoxFuture<'a, Result<Vec<Label>, ClientError>> {
        Box::pin(async move { Err(self.unsupported("labels")) })
    }

    /// Creates a label on a board. Never repeated on a lost answer.
    fn create_label<'a>(
        &'a self,
        _board_id: &'a str,
        _name: &'a str,
        _color: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Label, ClientError>> {
        Box::pin(async move { Err(self.unsupported("labels")) })
    }

    /// Puts a board's label on a card (`on`) or takes it off.
    fn card_label<'a>(
        &'a self,
        _card_id: &'a str,
        _label_id: &'a str,
        _on: bool,
    ) -> BoxFuture<'a, Result<(), ClientError>> {
        Box::pin(async move { Err(self.unsupported("labels")) })
    }

    /// One change to a card's checklists; answers the id of what an add made.
    fn checklist_edit<'a>(
        &'a self,
        _card_id: &'a str,
        _edit: &'a ChecklistEdit,
    ) -> BoxFuture<'a, Result<Option<String>, ClientError>> {
        Box::pin(async move { Err(self.unsupported("checklists")) })
    }

    /// The error of a call this board system does not have.
    fn unsupported(&self, what: &str) -> ClientError {
        ClientError::Config(format!("{} boards have no {what}", self.system()))
    }

    /// The board API's budgets and use, one entry per limit its calls pass (the console's
    /// overview shows them).
    fn budget(&self) -> Vec<LimiterStats>;
}
