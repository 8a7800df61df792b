//! Card commands of the dispatcher: create (or adopt) a lead's card, update it, set its custom
//! fields (all in one call), through the pair's board (`sync::board::BoardConnector`). The card
//! id is read from the link at send time, never from the command. This stays in the engine,
//! written against the trait alone: a card made once per lead (found again by its lead marker
//! when a create's answer was lost), a lost update settled by reading the card, is how leadsync
//! keeps any board, not something Trello's API asks for.

use std::collections::BTreeMap;

use crate::clients::http::ClientError;
use crate::model::board::{Card, CardUpdate, NewCard};
use crate::store::StoreError;
use crate::store::dispatch_support::note_outcome_unknown;
use crate::store::links::{self, Link};
use crate::store::outbox::Command as Stored;
use crate::sync::board::OnLost;
use crate::sync::connector::{Claimed, FollowUp, Outcome};
use crate::sync::context::PairContext;
use crate::sync::mapping::split_description;
use crate::sync::outbox::Dispatcher;
use crate::sync::outbox::record::follow_up;
use crate::sync::plan::commands::Command;

const CREATE_NOTE: &str = "create_card sent; its outcome is unknown until Trello answers";

impl Dispatcher {
    pub(crate) async fn send_trello(&self, claimed: &Claimed) -> Result<Outcome, StoreError> {
        let Some(ctx) = self.pair(&claimed.row.pair).cloned() else {
            return Ok(Outcome::Invalid(format!(
                "pair {} is not configured",
                claimed.row.pair
            )));
        };
        // An update naming its card outlives the link (archiving the card of a deleted row).
        if let Command::UpdateCard {
            card_id: Some(card_id),
            name,
            desc,
            id_list,
            closed,
            ..
        } = &claimed.cmd
        {
            let update = CardUpdate {
                name: name.clone(),
                desc: desc.clone(),
                list_id: id_list.clone(),
                closed: *closed,
                ..CardUpdate::default()
            };
            return Ok(
                match self
                    .board
                    .update_card(card_id, &update, OnLost::Repeat)
                    .await
                {
                    Ok(_) => Outcome::sent(FollowUp::default()),
                    Err(ClientError::NotFound { .. }) => Outcome::skipped("the card is gone"),
                    Err(e) => Outcome::failed(&e),
                },
            );
        }
        if let Command::MarkCard { lead_id, card_id } = &claimed.cmd {
            return Ok(self.mark_card(&ctx, card_id, lead_id).await);
        }
        let link = links::get_by_lead(&self.db.pool, &ctx.name, claimed.cmd.lead_id()).await?;
        let Some(link) = link else {
            return Ok(Outcome::skipped("the lead has no link any more"));
        };
        match &claimed.cmd {
            Command::CreateCard { .. } => self.create_card(&ctx, claimed, &link).await,
            Command::UpdateCard {
                name,
                desc,
                id_list,
                closed,
                ..
            } => {
                let update = CardUpdate {
                    name: name.clone(),
                    desc: desc.clone(),
                    list_id: id_list.clone(),
                    closed: *closed,
                    ..CardUpdate::default()
                };
                Ok(self.update_linked(&ctx, claimed, &link, update).await)
            }
            Command::SetCustomFields { fields, .. } => {
                Ok(self.set_fields(&ctx, claimed, &link, fields).await)
            }
            Command::RestoreCard { .. } => self.restore_card(&ctx, claimed, &link).await,
            // A row stored before custom fields were written together: a batch of one.
            Command::SetCustomField { field_id, text, .. } => {
                let fields = BTreeMap::from([(field_id.clone(), text.clone())]);
                Ok(self.set_fields(&ctx, claimed, &link, &fields).await)
            }
            Command::MarkCard { .. } => {
                Ok(Outcome::Invalid("a mark_card reached the link path".into()))
            }
            Command::WriteRow { .. } | Command::AppendRow { .. } => Ok(Outcome::Invalid(
                "a tracker command reached the Trello sender".into(),
            )),
        }
    }

    /// Updates the lead's linked card; a card gone from Trello loses its link.
    async fn update_linked(
        &self,
        ctx: &PairContext,
        claimed: &Claimed,
        link: &Link,
        update: CardUpdate,
    ) -> Outcome {
        let Some(card_id) = link.card_id.as_deref() else {
            return Outcome::skipped("the lead has no card to update");
        };
        if update.is_empty() {
            return Outcome::skipped("the update changes nothing");
        }
        match self
            .board
            .update_card(card_id, &update, OnLost::Repeat)
            .await
        {
            Ok(_) => Outcome::sent(FollowUp {
                closed: update.closed,
                ..FollowUp::default()
            }),
            Err(ClientError::NotFound { .. }) => card_gone(ctx, claimed, link, card_id),
            Err(e) => Outcome::failed(&e),
        }
    }

    /// Sets custom fields of the lead's linked card, all in one call.
    async fn set_fields(
        &self,
        ctx: &PairContext,
        claimed: &Claimed,
        link: &Link,
        fields: &BTreeMap<String, String>,
    ) -> Outcome {
        let Some(card_id) = link.card_id.as_deref() else {
            return Outcome::skipped("the lead has no card to update");
        };
        if fields.is_empty() {
            return Outcome::skipped("the update changes nothing");
        }
        match self.board.set_custom_texts(card_id, fields).await {
            Ok(()) => Outcome::sent(FollowUp::default()),
            // Either the card or a field definition is gone: ask about the card.
            Err(ClientError::NotFound { .. }) => match self.board.card(card_id).await {
                Err(ClientError::NotFound { .. }) => card_gone(ctx, claimed, link, card_id),
                Ok(_) => Outcome::Invalid(format!(
                    "a custom field of {} no longer exists on the board of pair {}",
                    fields.keys().cloned().collect::<Vec<_>>().join(", "),
                    ctx.name
                )),
                Err(e) => Outcome::failed(&e),
            },
            Err(e) => Outcome::failed(&e),
        }
    }

    /// Creates the lead's card, or adopts the one an earlier try made, sets its custom fields,
    /// and links it; the card's short URL goes to the sheet as a follow-up command.
    async fn create_card(
        &self,
        ctx: &PairContext,
        claimed: &Claimed,
        link: &Link,
    ) -> Result<Outcome, StoreError> {
        let Command::CreateCard {
            lead_id,
            list_id,
            name,
            desc,
            custom,
        } = &claimed.cmd
        else {
            return Ok(Outcome::Invalid("not a create_card command".into()));
        };
        if link.card_id.is_some() {
            return Ok(Outcome::skipped("the lead already has a card"));
        }
        let row = &claimed.row;
        // A failed try, or a note left by a dispatcher that died mid-call: the card may exist.
        let maybe_created = row.attempts > 0 || row.last_error.is_some();
        let adopted = if maybe_created {
            match self.find_marked(ctx, lead_id).await {
                Ok(found) => found,
                Err(e) => return Ok(Outcome::failed(&e)),
            }
        } else {
            None
        };
        if let Some(card) = &adopted {
            let owner = links::get_by_card(&self.db.pool, &ctx.name, &card.id).await?;
            if let Some(other) = owner.filter(|o| o.lead_id != *lead_id) {
                return Ok(Outcome::Invalid(format!(
                    "card {} carries lead {lead_id}'s marker but is linked to lead {}; \
                     not adopted (check for a copied marker)",
                    card.id, other.lead_id
                )));
            }
        }
        let was_adopted = adopted.is_some();
        let card = match adopted {
            // The card was made with this command's values; where it differs now, a user
            // changed it since (their edit's webhook waits for this link). Writing the planned
            // values over it would revert that edit, so the card is taken as it is.
            Some(card) => {
                tracing::info!(pair = %ctx.name, lead_id = %lead_id, card_id = %card.id,
                    "adopting the card an earlier create_card made");
                card
            }
            None => {
                note_outcome_unknown(&self.db.pool, row.id, CREATE_NOTE).await?;
                let new = NewCard {
                    list_id: list_id.clone(),
                    name: name.clone(),
                    desc: desc.clone(),
                };
                match self.board.create_card(&new).await {
                    Ok(card) => card,
                    Err(e) => return Ok(Outcome::failed(&e)),
                }
            }
        };
        if let Err(e) = self.set_custom_fields(&card, custom, was_adopted).await {
            return Ok(Outcome::failed(&e));
        }
        Ok(created(row, link, lead_id, name, &card, ctx))
    }

    /// Sets the new card's custom fields, in one call. On an adopted card, a field that holds a
    /// value was set by us or by a user since: either way it is not ours to overwrite; an empty
    /// one is still ours to set.
    async fn set_custom_fields(
        &self,
        card: &Card,
        custom: &BTreeMap<String, String>,
        was_adopted: bool,
    ) -> Result<(), ClientError> {
        let unset: BTreeMap<String, String> = custom
            .iter()
            .filter(|(field_id, text)| {
                let current = card.custom_texts.get(*field_id);
                current != Some(*text) && !(was_adopted && current.is_some_and(|v| !v.is_empty()))
            })
            .map(|(id, text)| (id.clone(), text.clone()))
            .collect();
        self.board.set_custom_texts(&card.id, &unset).await
    }

    /// The lead's card on the pair's board, found by its description marker; an open one is
    /// preferred over an archived one.
    async fn find_marked(
        &self,
        ctx: &PairContext,
        lead_id: &str,
    ) -> Result<Option<Card>, ClientError> {
        let cards = self.board.cards(&ctx.settings.board_id).await?;
        let mut marked: Vec<Card> = cards
            .into_iter()
            .filter(|c| {
                split_description(&c.desc)
                    .1
                    .is_some_and(|id| id.as_str() == lead_id)
            })
            .collect();
        marked.sort_by_key(|c| c.closed);
        Ok(marked.into_iter().next())
    }
}

/// A card made (or adopted) for the lead: the link takes it, and its short URL goes to the
/// sheet as a follow-up command.
fn created(
    row: &Stored,
    link: &Link,
    lead_id: &str,
    name: &str,
    card: &Card,
    ctx: &PairContext,
) -> Outcome {
    let mut follow = FollowUp {
        card: Some((card.id.clone(), card.short_url.clone())),
        ..FollowUp::default()
    };
    if let Some(column) = ctx.columns.card.clone() {
        let write = Command::WriteRow {
            lead_id: lead_id.to_owned(),
            row_hint: link.row_hint.and_then(|r| u32::try_from(r).ok()),
            expect_name: Some(name.to_owned()),
            cells: BTreeMap::from([(column, card.short_url.clone())]),
        };
        match follow_up(row, "card-url", &write, ctx.tracker) {
            Ok(cmd) => follow.enqueue.push(cmd),
            Err(e) => return Outcome::Invalid(e),
        }
    }
    Outcome::sent(follow)
}

/// The card was deleted in Trello: the link keeps the lead (and its row its data) but loses the
/// card, and the sheet's card cell is cleared.
pub(super) fn card_gone(
    ctx: &PairContext,
    claimed: &Claimed,
    link: &Link,
    card_id: &str,
) -> Outcome {
    let mut follow = FollowUp {
        card_deleted: true,
        ..FollowUp::default()
    };
    if let Some(column) = ctx.columns.card.clone() {
        let clear = Command::WriteRow {
            lead_id: link.lead_id.clone(),
            row_hint: link.row_hint.and_then(|r| u32::try_from(r).ok()),
            expect_name: None,
            cells: BTreeMap::from([(column, String::new())]),
        };
        match follow_up(&claimed.row, "card-gone", &clear, ctx.tracker) {
            Ok(cmd) => follow.enqueue.push(cmd),
            Err(e) => return Outcome::Invalid(e),
        }
    }
    Outcome::Done {
        follow,
        skipped: Some(format!(
            "card {card_id} was deleted in Trello; the link's card is cleared"
        )),
    }
}
