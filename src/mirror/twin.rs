//! A card without a twin. It gets one, exactly once: the link row (the intent) is committed
//! first, the source card gets the marker `leadsync:<link id>` next (so after a lost database
//! the card alone names its link), and before creating, the other board is searched for a card
//! with that marker (a create whose answer was lost, or made before the database was lost).
//! A card already carrying a marker is linked again to the twin that carries it.

use crate::model::LeadId;
use crate::model::board::{Card, CardUpdate, NewCard};
use crate::store::StoreError;
use crate::store::mirror_links::{self, FieldBase, MirrorLink, MirrorSide};
use crate::store::mirror_pending::{self, Pending};
use crate::sync::board::OnLost;
use crate::sync::mapping::{compose_description, split_description};

use super::context::{MirrorContext, fields_of, marker_of};
use super::details::Target;
use super::lock;
use super::log::{self, At};
use super::reader::Reader;
use super::{Error, Mirrors, Times};

/// The fields a card's create carries (its details are written after it).
const CREATED: [&str; 4] = ["name", "desc", "list", "closed"];

impl Mirrors {
    /// A card on `side` that no link names.
    pub(super) async fn unlinked(
        &self,
        ctx: &MirrorContext,
        side: MirrorSide,
        card_id: &str,
        reader: &Reader,
        times: &Times,
    ) -> Result<(), Error> {
        let read_at = reader.listed_at().unwrap_or_else(crate::store::now_ms);
        let Some(card) = reader.card(card_id).await? else {
            return Ok(());
        };
        let marker = marker_of(&card);
        if let Some(id) = &marker {
            let _link = lock::hold(&ctx.name, id.as_str()).await;
            if let Some(link) = self.relink(ctx, side, &card, id, reader).await? {
                return self.sync_link(ctx, &link, reader, times, false).await;
            }
        }
        // An archived card without a twin gets none; a card outside the mapped lists neither.
        if card.closed || ctx.mapped(side, &card.list_id).is_none() {
            return Ok(());
        }
        // A marker whose link belongs to another card (a user's copy of a linked card, its
        // description copied too) is replaced by a new link's.
        let link_id = match marker {
            Some(id)
                if mirror_links::by_id(&self.db.pool, &ctx.name, id.as_str())
                    .await?
                    .is_none() =>
            {
                id
            }
            _ => new_link_id()?,
        };
        let _link = lock::hold(&ctx.name, link_id.as_str()).await;
        mirror_links::set_card(&self.db.pool, &ctx.name, link_id.as_str(), side, &card.id).await?;
        // A new intent: no create was sent for it yet, and a marker was searched for above.
        let how = Create {
            search: false,
            read_at,
        };
        self.create_twin(ctx, &link_id, side, &card, reader, how)
            .await
    }

    /// A link whose twin was being created when the pass stopped: the create is finished, the
    /// other board searched first.
    pub(super) async fn resume(
        &self,
        ctx: &MirrorContext,
        link: &MirrorLink,
        reader: &Reader,
    ) -> Result<(), Error> {
        let side = if link.card_a.is_some() {
            MirrorSide::A
        } else {
            MirrorSide::B
        };
        let link_id = LeadId::parse(&link.link_id).map_err(|e| Error::Link(e.to_string()))?;
        // Read now: a listing may be older than a marker or an archive since.
        let read_at = crate::store::now_ms();
        let Some(card) = (match link.card(side) {
            Some(id) => reader.fresh(id).await?,
            None => None,
        }) else {
            return Ok(());
        };
        let how = Create {
            search: true,
            read_at,
        };
        self.create_twin(ctx, &link_id, side, &card, reader, how)
            .await
    }

    /// A card carrying the marker `id` that is not linked on its side: joined to the link of
    /// that id, or to the other board's card with the same marker. `None`: no twin is known.
    async fn relink(
        &self,
        ctx: &MirrorContext,
        side: MirrorSide,
        card: &Card,
        id: &LeadId,
        reader: &Reader,
    ) -> Result<Option<MirrorLink>, Error> {
        let pool = &self.db.pool;
        if let Some(link) = mirror_links::by_id(pool, &ctx.name, id.as_str()).await? {
            if link.card(side).is_some() {
                // A copy of a linked card (its description copied too): not this link's card.
                tracing::warn!(mirror = %ctx.name, card_id = %card.id, link_id = %id, "card carries the marker of another card's link; left alone");
                return Ok(None);
            }
            // The card a create of ours made, its answer lost: logged as the copy it is.
            let card_a = match side {
                MirrorSide::A => card.id.as_str(),
                MirrorSide::B => link.card_a.as_deref().unwrap_or_default(),
            };
            let at = At {
                mirror: &ctx.name,
                link_id: id.as_str(),
                card_a,
            };
            let mut tx = pool.begin().await.map_err(crate::store::StoreError::from)?;
            mirror_links::set_card(&mut *tx, &ctx.name, id.as_str(), side, &card.id).await?;
            log::copied(&mut *tx, &at, "card", side).await?;
            tx.commit().await.map_err(crate::store::StoreError::from)?;
            return Ok(mirror_links::by_id(pool, &ctx.name, id.as_str()).await?);
        }
        let other = side.other();
        let Some(twin) = reader.by_marker(ctx.board(other), id).await? else {
            return Ok(None);
        };
        if mirror_links::by_card(pool, &ctx.name, other, &twin.id)
            .await?
            .is_some()
        {
            return Ok(None);
        }
        let mut tx = pool.begin().await.map_err(crate::store::StoreError::from)?;
        mirror_links::set_card(&mut *tx, &ctx.name, id.as_str(), side, &card.id).await?;
        mirror_links::set_card(&mut *tx, &ctx.name, id.as_str(), other, &twin.id).await?;
        tx.commit().await.map_err(crate::store::StoreError::from)?;
        tracing::info!(mirror = %ctx.name, link_id = %id, "twins found again by their marker");
        Ok(mirror_links::by_id(pool, &ctx.name, id.as_str()).await?)
    }

    async fn create_twin(
        &self,
        ctx: &MirrorContext,
        link_id: &LeadId,
        side: MirrorSide,
        card: &Card,
        reader: &Reader,
        how: Create,
    ) -> Result<(), Error> {
        let other = side.other();
        let (notes, marker) = split_description(&card.desc);
        if marker.as_ref() != Some(link_id) {
            let update = CardUpdate {
                desc: Some(compose_description(&notes, link_id)),
                ..CardUpdate::default()
            };
            self.board
                .update_card(&card.id, &update, OnLost::Report)
                .await?;
        }
        let (made, details): (Vec<String>, Vec<String>) = fields_of(&[card], std::iter::empty())
            .into_iter()
            .partition(|f| CREATED.contains(&f.as_str()));
        let made_now = MadeNow {
            link_id,
            side,
            card,
            made: &made,
            read_at: how.read_at,
        };
        let Some((twin, as_made)) = self.make_twin(ctx, &made_now, reader, how.search).await?
        else {
            return Ok(());
        };
        // The twin is the link's at once, before its details: a twin deleted while they are
        // copied archives the card (its link is whole), and is never made again. The fields
        // the create carried were agreed before it; the details are pending writes until
        // copied (a pass that runs before finishes them, and takes a user's edit since for one).
        let card_a = if side == MirrorSide::A {
            &card.id
        } else {
            &twin.id
        };
        let at = At {
            mirror: &ctx.name,
            link_id: link_id.as_str(),
            card_a,
        };
        let mut tx = self.db.pool.begin().await.map_err(StoreError::from)?;
        mirror_links::set_card(&mut *tx, &ctx.name, link_id.as_str(), other, &twin.id).await?;
        for field in &details {
            let pending = Pending {
                side: other,
                value: ctx.value(side, card, field).unwrap_or_default(),
                was: ctx.value(other, &as_made, field).unwrap_or_default(),
                at: 0,
            };
            mirror_pending::set(&mut *tx, &ctx.name, link_id.as_str(), field, &pending).await?;
        }
        log::copied(&mut *tx, &at, "card", other).await?;
        tx.commit().await.map_err(StoreError::from)?;
        let to = Target {
            side: other,
            card: &as_made,
            twin: card,
        };
        let edited = (self.copy_details(ctx, reader, &to, link_id, &details)).await?;
        let (copied, edited): (Vec<String>, Vec<String>) =
            details.into_iter().partition(|f| !edited.contains(f));
        let mut tx = self.db.pool.begin().await.map_err(StoreError::from)?;
        self.agree(&mut tx, ctx, &made_now, &copied).await?;
        // Edited on the new twin before its copy: no base, so each user's value counts.
        for field in &edited {
            mirror_links::delete_field(&mut *tx, &ctx.name, link_id.as_str(), field).await?;
        }
        mirror_pending::clear(&mut *tx, &ctx.name, link_id.as_str()).await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(())
    }

    /// The twin, made now or found again by its marker (a create whose answer was lost), and
    /// the twin as its create made it. The fields a create carries are agreed before it is
    /// sent: a twin found again holds them, whatever either card's users did since (the merge
    /// sees those edits as changes); and it holds no details yet (they are copied only once
    /// the twin is known). `None`: no twin is to be made.
    async fn make_twin(
        &self,
        ctx: &MirrorContext,
        now: &MadeNow<'_>,
        reader: &Reader,
        search: bool,
    ) -> Result<Option<(Card, Card)>, Error> {
        let (side, card) = (now.side, now.card);
        let other = side.other();
        // An interrupted create may have made the twin: the other board is searched first.
        let found = if search {
            reader.by_marker_now(ctx.board(other), now.link_id).await?
        } else {
            None
        };
        if let Some(found) = found {
            let as_made = Card {
                labels: Vec::new(),
                checklists: Vec::new(),
                due: None,
                due_complete: false,
                ..found.clone()
            };
            return Ok(Some((found, as_made)));
        }
        // Archived while its create was retried: an archived card gets no twin (until it is
        // unarchived); a twin made now would be open, its archive copied back over the card's.
        if card.closed {
            return Ok(None);
        }
        let mapping = ctx.mapped(side, &card.list_id).unwrap_or_default();
        let Some(list_id) = ctx.list_id(other, mapping) else {
            return Ok(None);
        };
        let mut tx = self.db.pool.begin().await.map_err(StoreError::from)?;
        self.agree(&mut tx, ctx, now, now.made).await?;
        tx.commit().await.map_err(StoreError::from)?;
        let new = NewCard {
            list_id: list_id.to_owned(),
            name: card.name.clone(),
            desc: compose_description(&split_description(&card.desc).0, now.link_id),
        };
        let twin = self.board.create_card(&new).await?;
        Ok(Some((twin.clone(), twin)))
    }

    /// Saves `fields` agreed on the source card's values, as read at `now.read_at`: a user's
    /// edit after it that our marker or copy overwrote is told by the next pass (`overwritten`).
    async fn agree(
        &self,
        tx: &mut crate::store::Tx,
        ctx: &MirrorContext,
        now: &MadeNow<'_>,
        fields: &[String],
    ) -> Result<(), Error> {
        for field in fields {
            let base = FieldBase {
                base_value: ctx.value(now.side, now.card, field).unwrap_or_default(),
                a_changed_at: None,
                b_changed_at: None,
                read_at: Some(now.read_at),
            };
            let link_id = now.link_id.as_str();
            mirror_links::save_field(&mut **tx, &ctx.name, link_id, field, &base).await?;
        }
        Ok(())
    }
}

/// A twin about to be made: its link, the source card and its side, and the fields its create
/// carries.
struct MadeNow<'a> {
    link_id: &'a LeadId,
    side: MirrorSide,
    card: &'a Card,
    made: &'a [String],
    /// When the source card was read (unix ms).
    read_at: i64,
}

/// How a twin's create goes: the other board searched first (a create that may have been
/// sent), and when the source card was read.
#[derive(Clone, Copy)]
struct Create {
    search: bool,
    read_at: i64,
}

/// A new link id: 20 hex digits, unique enough per mirror and valid in a marker.
fn new_link_id() -> Result<LeadId, Error> {
    let hex = uuid::Uuid::new_v4().simple().to_string();
    LeadId::parse(&format!("m{}", &hex[..20])).map_err(|e| Error::Link(e.to_string()))
}
