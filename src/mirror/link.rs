//! One linked card pair: both cards re-read, each field merged three-way against the link's
//! base, only the changed side written (or the loser of a conflict: one card update, then the
//! label and checklist calls of what differs), then the new bases saved.
//! A deleted card archives its twin. Decisions are logged first, writes go before the bases: an
//! interrupted pass is run again, finds the sides equal, and records them as agreed without
//! writing (or logging) twice.

use std::collections::BTreeMap;

use crate::model::LeadId;
use crate::model::board::{Card, CardUpdate};
use crate::store::mirror_links::{self, FieldBase, MirrorLink, MirrorSide};
use crate::sync::board::OnLost;

use super::context::{CHECKLIST, CHECKLISTS, MirrorContext, checklist_name, fields_of};
use super::details::Target;
use super::log::{self, At, Conflict};
use super::merge::{Merge, Sides, merge};
use super::values::{self, ListValue};
use super::{Error, Mirrors, Times};

/// A field's outcome: the new base, the write it needs, and what to log.
struct Outcome {
    base: FieldBase,
    write: Option<(MirrorSide, String)>,
    merge: Merge,
    values: (String, String),
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
        let (Some(id_a), Some(id_b)) = (link.card_a.as_deref(), link.card_b.as_deref()) else {
            return Ok(());
        };
        let link_id = LeadId::parse(&link.link_id).map_err(|e| Error::Link(e.to_string()))?;
        let at = At {
            mirror: &ctx.name,
            link_id: &link.link_id,
            card_a: id_a,
        };
        let (a, b) = (reader.card(id_a).await?, reader.card(id_b).await?);
        let (a, b) = match (a, b) {
            (Some(a), Some(b)) => (a, b),
            (None, None) => return Ok(()),
            (None, Some(twin)) => {
                return self
                    .archive_twin(ctx, &at, &link_id, MirrorSide::B, &twin)
                    .await;
            }
            (Some(twin), None) => {
                return self
                    .archive_twin(ctx, &at, &link_id, MirrorSide::A, &twin)
                    .await;
            }
        };
        let stored = mirror_links::fields(&self.db.pool, &ctx.name, &link.link_id).await?;
        let (bases, legacy) = split_legacy(stored)?;
        let fields = fields_of(&[&a, &b], bases.keys().map(String::as_str));
        let outcomes: Vec<(String, Outcome)> = (fields.into_iter())
            .map(|field| {
                let outcome = decide(ctx, &field, &a, &b, bases.get(&field), times);
                (field, outcome)
            })
            .collect();
        // Decided before written: a pass interrupted after its writes finds the sides equal when
        // run again and decides nothing, so its copies are in the activity log only this way.
        self.record(ctx, &at, &outcomes).await?;
        self.write(ctx, reader, &link_id, [&a, &b], &outcomes)
            .await?;
        self.commit(ctx, &at, &outcomes, ours, legacy).await
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
    ) -> Result<(), Error> {
        let mut updates = [CardUpdate::default(), CardUpdate::default()];
        for (field, outcome) in outcomes {
            if let Some((side, value)) = &outcome.write {
                ctx.write(*side, &mut updates[index(*side)], field, value, link_id);
            }
        }
        for (side, card) in [(MirrorSide::A, a), (MirrorSide::B, b)] {
            let update = &updates[index(side)];
            if !update.is_empty() {
                (self.board)
                    .update_card(&card.id, update, OnLost::Report)
                    .await?;
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
            }
            let mut lists = BTreeMap::new();
            for (field, _) in outcomes {
                if let (Some(name), Some((_, value))) = (checklist_name(field), written(field)) {
                    let items = values::checklist_items(value).map_err(Error::Value)?;
                    lists.insert(name.to_owned(), items);
                }
            }
            if !lists.is_empty() {
                let want = values::with_checklists(card, &lists, twin);
                self.write_checklists(card, &want).await?;
            }
        }
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

    /// The new bases, in one transaction, and the quiet decisions' log lines.
    async fn commit(
        &self,
        ctx: &MirrorContext,
        at: &At<'_>,
        outcomes: &[(String, Outcome)],
        ours: bool,
        legacy: bool,
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
        for (field, outcome) in outcomes {
            let field = field.as_str();
            // A checklist neither card has any more needs no base: without one, it merges the same.
            if checklist_name(field).is_some() && outcome.base.base_value.is_empty() {
                mirror_links::delete_field(&mut *tx, &ctx.name, at.link_id, field).await?;
            } else {
                mirror_links::save_field(&mut *tx, &ctx.name, at.link_id, field, &outcome.base)
                    .await?;
            }
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
        };
        mirror_links::save_field(&self.db.pool, &ctx.name, at.link_id, "closed", &base).await?;
        Ok(())
    }
}

fn index(side: MirrorSide) -> usize {
    match side {
        MirrorSide::A => 0,
        MirrorSide::B => 1,
    }
}

/// Links made before each checklist was a field of its own kept one base, `checklists`, for all
/// of a card's checklists: it becomes one base per checklist name (the first of each name). A
/// name it lacks was on neither card then: no base, which merges as a base of "absent" would.
/// Answers whether there was such a base, to be deleted with the new bases' saving.
fn split_legacy(
    mut bases: BTreeMap<String, FieldBase>,
) -> Result<(BTreeMap<String, FieldBase>, bool), Error> {
    let Some(old) = bases.remove(CHECKLISTS) else {
        return Ok((bases, false));
    };
    let lists: Vec<ListValue> = values::parse(CHECKLISTS, &old.base_value).map_err(Error::Value)?;
    for list in lists {
        let base = FieldBase {
            base_value: values::items_text(&list.items),
            ..old.clone()
        };
        bases
            .entry(format!("{CHECKLIST}{}", list.name))
            .or_insert(base);
    }
    Ok((bases, true))
}

/// One field's merge. A field without a base (a link made before the field was mirrored, or
/// adopted after a lost database) is merged by `merge`'s rule for it. A side in an unmapped list
/// holds the base (without one, the other side's value): its twin keeps its list.
fn decide(
    ctx: &MirrorContext,
    field: &str,
    a: &Card,
    b: &Card,
    stored: Option<&FieldBase>,
    times: &Times,
) -> Outcome {
    let va = ctx.value(MirrorSide::A, a, field);
    let vb = ctx.value(MirrorSide::B, b, field);
    let base = match (stored, &va, &vb) {
        (Some(s), _, _) => Some(s.base_value.clone()),
        (None, Some(_), Some(_)) => None,
        (None, va, vb) => Some(va.clone().or(vb.clone()).unwrap_or_default()),
    };
    let fill = |v: Option<String>| v.or_else(|| base.clone()).unwrap_or_default();
    let (va, vb) = (fill(va), fill(vb));
    // A checklist's own change time, or that of a change that did not name its checklists.
    let generic = checklist_name(field).map(|_| CHECKLISTS);
    let latest = |side: MirrorSide, stored_at: Option<i64>| {
        let seen = |f: &str| times.get(&(side, f.to_owned())).copied();
        let own = seen(field).max(generic.and_then(seen));
        own.max(stored_at)
    };
    let a_at = latest(MirrorSide::A, stored.and_then(|s| s.a_changed_at));
    let b_at = latest(MirrorSide::B, stored.and_then(|s| s.b_changed_at));
    let sides = Sides {
        a: &va,
        b: &vb,
        a_at,
        b_at,
    };
    let empty = MirrorContext::empty(field);
    let merged = merge(base.as_deref(), sides, ctx.policy, empty.as_deref());
    let (value, write) = match merged {
        Merge::Same => (base.unwrap_or_default(), None),
        Merge::Agreed => (va.clone(), None),
        Merge::CopyTo(MirrorSide::B)
        | Merge::Conflict {
            winner: MirrorSide::A,
        } => (va.clone(), Some((MirrorSide::B, va.clone()))),
        Merge::CopyTo(MirrorSide::A)
        | Merge::Conflict {
            winner: MirrorSide::B,
        } => (vb.clone(), Some((MirrorSide::A, vb.clone()))),
    };
    Outcome {
        base: FieldBase {
            base_value: value,
            a_changed_at: a_at,
            b_changed_at: b_at,
        },
        write,
        merge: merged,
        values: (va, vb),
    }
}
