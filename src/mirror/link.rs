//! One linked card pair: both cards re-read, each field merged three-way against the link's
//! base, only the changed side written (or the loser of a conflict: one card update, then the
//! label and checklist calls of what differs), then the new bases saved.
//! A deleted card archives its twin. Decisions are logged first, with each value about to be
//! written kept as pending; writes go before the bases (which clear the pending): an interrupted
//! pass is run again, finds the sides equal, and records them as agreed without writing (or
//! logging) twice; or finds its own partial write by the pending value and finishes it, never
//! taking it for a user's edit that a conflict could keep over the other side's newer one.

use std::collections::BTreeMap;

use crate::model::LeadId;
use crate::model::board::{Card, CardUpdate};
use crate::store::StoreError;
use crate::store::mirror_links::{self, FieldBase, MirrorLink, MirrorSide};
use crate::store::mirror_pending::{self, Pending};
use crate::sync::board::OnLost;

use super::context::{CHECKLISTS, MirrorContext, checklist_name, fields_of};
use super::decide::{Known, Outcome, decide, split_legacy};
use super::details::Target;
use super::history;
use super::log::{self, At, Conflict};
use super::merge::Merge;
use super::values;
use super::{Error, Mirrors, Times};

/// A link's two cards as read, and each field's outcome; or the cards left when one is gone.
enum Read {
    Both {
        a: Card,
        b: Card,
        outcomes: Vec<(String, Outcome)>,
        legacy: bool,
    },
    Gone(Option<Card>, Option<Card>),
}

impl Read {
    /// Whether the pass would write a card or change a base.
    fn changes(&self) -> bool {
        match self {
            Self::Both {
                outcomes, legacy, ..
            } => *legacy || (outcomes.iter()).any(|(_, o)| !matches!(o.merge, Merge::Same)),
            Self::Gone(..) => true,
        }
    }
}

impl Mirrors {
    /// Brings a link's two cards together. `ours`: every event that led here was our own write.
    pub(super) async fn sync_link(
        &self,
        ctx: &MirrorContext,
        link: &MirrorLink,
        reader: &super::reader::Reader,
        times: &Times,
        ours: bool,
    ) -> Result<(), Error> {
        let (Some(id_a), Some(_)) = (link.card_a.as_deref(), link.card_b.as_deref()) else {
            return Ok(());
        };
        let link_id = LeadId::parse(&link.link_id).map_err(|e| Error::Link(e.to_string()))?;
        let at = At {
            mirror: &ctx.name,
            link_id: &link.link_id,
            card_a: id_a,
        };
        let mut read = self.read(ctx, link, reader, times).await?;
        let live;
        let mut reader = reader;
        // A listing may be older than another pass's writes and bases: what it would change is
        // read again now (the link is held), so no stale value is copied or kept as a base.
        if let Some(listed_at) = reader.listed_at()
            && read.changes()
            && mirror_pending::touched_since(&self.db.pool, &ctx.name, &link.link_id, listed_at)
                .await?
        {
            live = super::reader::Reader::live(std::sync::Arc::clone(&self.board));
            reader = &live;
            read = self.read(ctx, link, reader, times).await?;
        }
        // A conflict the last writer decides, without both change times (a reconciliation's):
        // the cards' histories give them, and the fields are decided again with them.
        if let Read::Both { outcomes, .. } = &read
            && history::untimed(ctx.policy, outcomes)
        {
            let cards = [id_a, link.card_b.as_deref().unwrap_or_default()];
            let found = (self.history_times(&ctx.member_id, cards, times)).await?;
            read = self.read(ctx, link, reader, &found).await?;
        }
        // A user's edit a write of ours overwrote unseen is put back first (`overwritten`).
        let fresh;
        if let Read::Both { outcomes, .. } = &read
            && outcomes.iter().any(|(_, o)| o.unseen.is_some())
            && self.overwritten(ctx, &at, link, outcomes, times).await?
        {
            fresh = super::reader::Reader::live(std::sync::Arc::clone(&self.board));
            reader = &fresh;
            read = self.read(ctx, link, reader, times).await?;
        }
        let (a, b, outcomes, legacy) = match read {
            Read::Both {
                a,
                b,
                outcomes,
                legacy,
            } => (a, b, outcomes, legacy),
            Read::Gone(None, Some(twin)) => {
                return self
                    .archive_twin(ctx, &at, &link_id, MirrorSide::B, &twin)
                    .await;
            }
            Read::Gone(Some(twin), None) => {
                return self
                    .archive_twin(ctx, &at, &link_id, MirrorSide::A, &twin)
                    .await;
            }
            Read::Gone(..) => return Ok(()),
        };
        // Decided before written: a pass interrupted after its writes finds the sides equal when
        // run again and decides nothing, so its copies are in the activity log only this way.
        self.record(ctx, &at, &outcomes).await?;
        let skipped = (self.write(ctx, reader, &link_id, [&a, &b], &outcomes)).await?;
        self.commit(ctx, &at, &outcomes, (ours, legacy), &skipped)
            .await
    }

    /// Both cards read and each field decided, unless a card is gone.
    async fn read(
        &self,
        ctx: &MirrorContext,
        link: &MirrorLink,
        reader: &super::reader::Reader,
        times: &Times,
    ) -> Result<Read, Error> {
        let (id_a, id_b) = (link.card(MirrorSide::A), link.card(MirrorSide::B));
        let read_at = reader.listed_at().unwrap_or_else(crate::store::now_ms);
        let (a, b) = match (id_a, id_b) {
            (Some(a), Some(b)) => (reader.card(a).await?, reader.card(b).await?),
            _ => (None, None),
        };
        let (Some(a), Some(b)) = (a.clone(), b.clone()) else {
            return Ok(Read::Gone(a, b));
        };
        let stored = mirror_links::fields(&self.db.pool, &ctx.name, &link.link_id).await?;
        let pending = mirror_pending::of_link(&self.db.pool, &ctx.name, &link.link_id).await?;
        let landed = self.pending_landed(ctx, link, &pending, [&a, &b]).await?;
        let (bases, legacy) = split_legacy(stored)?;
        let fields = fields_of(&[&a, &b], bases.keys().map(String::as_str));
        let outcomes: Vec<(String, Outcome)> = (fields.into_iter())
            .map(|field| {
                let known = Known {
                    stored: bases.get(&field),
                    pending: pending.get(&field),
                    landed: landed.get(&field).copied(),
                };
                let outcome = decide(ctx, &field, [&a, &b], known, times, read_at);
                (field, outcome)
            })
            .collect();
        Ok(Read::Both {
            a,
            b,
            outcomes,
            legacy,
        })
    }

    /// The decisions' writes: one card update a side, then the labels, then the checklists
    /// (every checklist field written on a side in one plan over that card's checklists).
    async fn write(
        &self,
        ctx: &MirrorContext,
        reader: &super::reader::Reader,
        link_id: &LeadId,
        [a, b]: [&Card; 2],
        outcomes: &[(String, Outcome)],
    ) -> Result<Vec<String>, Error> {
        let mut skipped = Vec::new();
        let mut updates = [CardUpdate::default(), CardUpdate::default()];
        for (field, outcome) in outcomes {
            if let Some((side, value)) = &outcome.write {
                ctx.write(*side, &mut updates[index(*side)], field, value, link_id);
            }
        }
        let by_update = |f: &str| f != "labels" && checklist_name(f).is_none();
        for (side, card) in [(MirrorSide::A, a), (MirrorSide::B, b)] {
            let update = &updates[index(side)];
            if !update.is_empty() {
                (self.board)
                    .update_card(&card.id, update, OnLost::Report)
                    .await?;
                self.landed(ctx, link_id, outcomes, side, by_update).await?;
            }
        }
        for (side, card, twin) in [(MirrorSide::A, a, b), (MirrorSide::B, b, a)] {
            let to = Target { side, card, twin };
            let written = |f: &str| {
                let found = outcomes.iter().find(|(field, _)| field == f);
                found.and_then(|(_, o)| o.write.as_ref().filter(|(s, _)| *s == side))
            };
            if let Some((_, labels)) = written("labels") {
                self.write_labels(ctx, reader, &to, labels).await?;
                self.landed(ctx, link_id, outcomes, side, |f| f == "labels")
                    .await?;
            }
            let mut lists = BTreeMap::new();
            for (field, _) in outcomes {
                if let (Some(name), Some((_, value))) = (checklist_name(field), written(field)) {
                    let items = values::checklist_items(value).map_err(Error::Value)?;
                    lists.insert(name.to_owned(), items);
                }
            }
            if !lists.is_empty() {
                let moved = self.write_checklist_fields(ctx, reader, &to, lists).await?;
                let checklist = |f: &str| checklist_name(f).is_some() && !moved.contains(&f.into());
                self.landed(ctx, link_id, outcomes, side, checklist).await?;
                skipped.extend(moved);
            }
        }
        Ok(skipped)
    }

    /// Writes to `side` of the fields `which` landed: their new bases saved at once, no longer
    /// pending. A pass stopped after them merges those fields from their new bases: a user's
    /// edit since is a change like any other, never taken for this write.
    async fn landed(
        &self,
        ctx: &MirrorContext,
        link_id: &LeadId,
        outcomes: &[(String, Outcome)],
        side: MirrorSide,
        which: impl Fn(&str) -> bool,
    ) -> Result<(), Error> {
        let mut tx = self.db.pool.begin().await.map_err(StoreError::from)?;
        for (field, outcome) in outcomes {
            if which(field) && outcome.write.as_ref().is_some_and(|(s, _)| *s == side) {
                save_base(&mut tx, &ctx.name, link_id.as_str(), field, &outcome.base).await?;
                mirror_pending::clear_field(&mut *tx, &ctx.name, link_id.as_str(), field).await?;
            }
        }
        tx.commit().await.map_err(StoreError::from)?;
        Ok(())
    }

    /// The copies and conflicts of a pass, logged and kept in the activity log.
    async fn record(
        &self,
        ctx: &MirrorContext,
        at: &At<'_>,
        outcomes: &[(String, Outcome)],
    ) -> Result<(), Error> {
        let mut tx = self
            .db
            .pool
            .begin()
            .await
            .map_err(crate::store::StoreError::from)?;
        for (field, outcome) in outcomes {
            // Kept until the bases are saved: a retry knows this write, landed or partly.
            if let Some((side, value)) = &outcome.write {
                let was = match side {
                    MirrorSide::A => &outcome.values.0,
                    MirrorSide::B => &outcome.values.1,
                };
                let pending = Pending {
                    side: *side,
                    value: value.clone(),
                    was: was.clone(),
                    at: 0,
                };
                mirror_pending::set(&mut *tx, &ctx.name, at.link_id, field, &pending).await?;
            }
            let (va, vb) = (&outcome.values.0, &outcome.values.1);
            match outcome.merge {
                Merge::Same | Merge::Agreed => {}
                Merge::CopyTo(side) => log::copied(&mut *tx, at, field, side).await?,
                Merge::Conflict { winner } => {
                    let c = Conflict {
                        a: va,
                        b: vb,
                        a_at: outcome.base.a_changed_at,
                        b_at: outcome.base.b_changed_at,
                        winner,
                        policy: ctx.policy,
                    };
                    log::conflict(&mut *tx, at, field, &c).await?;
                }
            }
        }
        tx.commit().await.map_err(crate::store::StoreError::from)?;
        Ok(())
    }

    /// The new bases, in one transaction, and the quiet decisions' log lines; a `skipped`
    /// field (not written: its user changed it meanwhile) loses its base instead.
    async fn commit(
        &self,
        ctx: &MirrorContext,
        at: &At<'_>,
        outcomes: &[(String, Outcome)],
        (ours, legacy): (bool, bool),
        skipped: &[String],
    ) -> Result<(), Error> {
        let mut tx = self
            .db
            .pool
            .begin()
            .await
            .map_err(crate::store::StoreError::from)?;
        if legacy {
            mirror_links::delete_field(&mut *tx, &ctx.name, at.link_id, CHECKLISTS).await?;
        }
        mirror_pending::clear(&mut *tx, &ctx.name, at.link_id).await?;
        for (field, outcome) in outcomes {
            let field = field.as_str();
            if skipped.iter().any(|s| s == field) {
                mirror_links::delete_field(&mut *tx, &ctx.name, at.link_id, field).await?;
                continue;
            }
            save_base(&mut tx, &ctx.name, at.link_id, field, &outcome.base).await?;
            match outcome.merge {
                Merge::Same => log::quiet(at, field, ours),
                Merge::Agreed => log::quiet(at, field, false),
                Merge::CopyTo(_) | Merge::Conflict { .. } => {}
            }
        }
        tx.commit().await.map_err(crate::store::StoreError::from)?;
        Ok(())
    }

    /// The card on `gone.other()` was deleted: its twin `twin` on `side` is archived (never
    /// deleted), once.
    async fn archive_twin(
        &self,
        ctx: &MirrorContext,
        at: &At<'_>,
        link_id: &LeadId,
        side: MirrorSide,
        twin: &Card,
    ) -> Result<(), Error> {
        if !twin.closed {
            let mut update = CardUpdate::default();
            ctx.write(side, &mut update, "closed", "true", link_id);
            log::copied(&self.db.pool, at, "closed", side).await?;
            self.board
                .update_card(&twin.id, &update, OnLost::Report)
                .await?;
        }
        let base = FieldBase {
            base_value: "true".into(),
            a_changed_at: None,
            b_changed_at: None,
            read_at: None,
        };
        mirror_links::save_field(&self.db.pool, &ctx.name, at.link_id, "closed", &base).await?;
        Ok(())
    }
}

/// A field's new base; a checklist neither card has any more needs none (without one, it
/// merges the same).
async fn save_base(
    tx: &mut crate::store::Tx,
    mirror: &str,
    link_id: &str,
    field: &str,
    base: &FieldBase,
) -> Result<(), Error> {
    if checklist_name(field).is_some() && base.base_value.is_empty() {
        mirror_links::delete_field(&mut **tx, mirror, link_id, field).await?;
    } else {
        mirror_links::save_field(&mut **tx, mirror, link_id, field, base).await?;
    }
    Ok(())
}

fn index(side: MirrorSide) -> usize {
    match side {
        MirrorSide::A => 0,
        MirrorSide::B => 1,
    }
}
