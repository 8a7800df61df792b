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
use crate::model::board::{Card, CardUpdate, NewCard};
use crate::sync::connector::BoxFuture;
use crate::sync::context::BoardLayout;

/// One board system (Trello), serving every pair: each call names the board or card it is about.
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

    /// Creates a card. Never repeated on a lost answer (a second create makes a second card):
    /// the engine looks for the card by its marker before it tries again.
    fn create_card<'a>(&'a self, card: &'a NewCard) -> BoxFuture<'a, Result<Card, ClientError>>;

    /// Changes the fields set in `update`, repeated on a lost answer as the client's policy
    /// allows; answers the card as it now is.
    fn update_card<'a>(
        &'a self,
        card_id: &'a str,
        update: &'a CardUpdate,
    ) -> BoxFuture<'a, Result<Card, ClientError>>;

    /// [`BoardConnector::update_card`] tried once past rate limits: after a lost answer the board
    /// may have written and a user edited since, so the caller reads the card again rather than
    /// repeat this body.
    fn update_card_once<'a>(
        &'a self,
        card_id: &'a str,
        update: &'a CardUpdate,
    ) -> BoxFuture<'a, Result<Card, ClientError>>;

    /// Sets text custom fields of a card (by field id) in one write; an empty text clears its
    /// field. Safe to repeat. No call for an empty map.
    fn set_custom_texts<'a>(
        &'a self,
        card_id: &'a str,
        texts: &'a BTreeMap<String, String>,
    ) -> BoxFuture<'a, Result<(), ClientError>>;

    /// The board API's budgets and use, one entry per limit its calls pass (the console's
    /// overview shows them).
    fn budget(&self) -> Vec<LimiterStats>;
}
