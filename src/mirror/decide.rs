//! One field of a link decided: each side's value, the base and a write of ours on its way
//! (`store::mirror_pending`) → the merge's outcome, the new base and the write it needs.

use std::collections::BTreeMap;

use crate::model::board::Card;
use crate::store::mirror_links::{FieldBase, MirrorSide};
use crate::store::mirror_pending::Pending;

use super::context::{BY_USER, CHECKLIST, CHECKLISTS, MirrorContext, checklist_name};
use super::merge::{Merge, Sides, finish_pending, merge};
use super::values::{self, ListValue};
use super::{Error, Times};

/// A field's outcome: the new base, the write it needs, and what to log.
pub struct Outcome {
    pub base: FieldBase,
    pub write: Option<(MirrorSide, String)>,
    pub merge: Merge,
    pub values: (String, String),
    /// A side holding the stored base although its user edited the field after the pass that
    /// agreed it read the cards, with that read's time: a write of that pass may have
    /// overwritten the edit unseen (`overwritten`).
    pub unseen: Option<(MirrorSide, i64)>,
}

/// Links made before each checklist was a field of its own kept one base, `checklists`, for all
/// of a card's checklists: it becomes one base per checklist name (the first of each name). A
/// name it lacks was on neither card then: no base, which merges as a base of "absent" would.
/// Answers whether there was such a base, to be deleted with the new bases' saving.
pub fn split_legacy(
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

/// What the link knows of a field: its base, and a write of ours on its way.
#[derive(Clone, Copy)]
pub struct Known<'a> {
    pub stored: Option<&'a FieldBase>,
    pub pending: Option<&'a Pending>,
    /// Whether the pending write landed, when its card's history was read (`unlanded`).
    pub landed: Option<bool>,
}

/// One field's merge, of cards read at `read_at` (unix ms). A field without a base (a link made
/// before the field was mirrored, or adopted after a lost database) is merged by `merge`'s rule
/// for it. A side in an unmapped list holds the base (without one, the other side's value): its
/// twin keeps its list.
pub fn decide(
    ctx: &MirrorContext,
    field: &str,
    [a, b]: [&Card; 2],
    known: Known<'_>,
    times: &Times,
    read_at: i64,
) -> Outcome {
    let stored = known.stored;
    let va = ctx.value(MirrorSide::A, a, field);
    let vb = ctx.value(MirrorSide::B, b, field);
    let unseen = (known.pending.is_none())
        .then(|| unseen(field, stored?, [va.as_deref(), vb.as_deref()], times))
        .flatten();
    let base = match (stored, &va, &vb) {
        (Some(s), _, _) => Some(s.base_value.clone()),
        (None, Some(_), Some(_)) => None,
        (None, va, vb) => Some(va.clone().or(vb.clone()).unwrap_or_default()),
    };
    let fill = |v: Option<String>| v.or_else(|| base.clone()).unwrap_or_default();
    let (va, vb) = (fill(va), fill(vb));
    let (a_at, b_at) = change_times(field, stored, [&va, &vb], times);
    let sides = Sides {
        a: &va,
        b: &vb,
        a_at,
        b_at,
    };
    let (merged, base) = merge_known(ctx, field, known, sides, times, base);
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
    // An unchanged base keeps the time of the read that agreed it: an edit after that read,
    // overwritten by that pass's write, is still told (`unseen`) by later passes.
    let read_at = match merged {
        Merge::Same => stored.and_then(|s| s.read_at),
        _ => Some(read_at),
    };
    Outcome {
        base: FieldBase {
            base_value: value,
            a_changed_at: a_at,
            b_changed_at: b_at,
            read_at,
        },
        write,
        merge: merged,
        values: (va, vb),
        unseen,
    }
}

/// The merge of `sides` from `base` (the stored one), with what the link knows of a write of
/// ours on its way; answers the base it merged from.
fn merge_known(
    ctx: &MirrorContext,
    field: &str,
    known: Known<'_>,
    sides: Sides<'_>,
    times: &Times,
    mut base: Option<String>,
) -> (Merge, Option<String>) {
    let empty = MirrorContext::empty(field);
    let from = |base: &Option<String>| merge(base.as_deref(), sides, ctx.policy, empty.as_deref());
    let merged = match known.pending {
        // Never landed: the stored base stands, as if there were no write.
        Some(_) if known.landed == Some(false) => from(&base),
        // Landed, and its side changed since by its user: the written value was the base.
        Some(p) if known.landed == Some(true) => {
            base = Some(p.value.clone());
            from(&base)
        }
        // A write of ours stopped partway: finished, unless its side was edited since; then the
        // value it was writing is the base (what the pass left both sides agreeing on).
        Some(p) if !edited_since(times, field, p.side, p.at) => {
            // From what the side held when the write was decided (not the base: an earlier
            // write of ours to it may not have landed either). A label set is written whole,
            // in one call (`write_labels`): never partly; a checklist step by step.
            let stepwise = checklist_name(field).is_some();
            finish_pending(&p.was, p.side, &p.value, sides, stepwise).unwrap_or_else(|| {
                base = Some(p.value.clone());
                from(&base)
            })
        }
        Some(p) => {
            base = Some(p.value.clone());
            from(&base)
        }
        None => from(&base),
    };
    (merged, base)
}

/// Whether a user edited `field` on `side` after `at` (when a pending write was decided).
fn edited_since(times: &Times, field: &str, side: MirrorSide, at: i64) -> bool {
    let generic = checklist_name(field).map(|_| CHECKLISTS);
    let user = |f: &str| times.get(&(side, format!("{BY_USER}{f}"))).copied();
    user(field)
        .max(generic.and_then(user))
        .is_some_and(|t| t > at)
}

/// Each side's latest known change time of `field`: its events' (a checklist's own, or that of
/// a change that did not name its checklists), else the one kept with the base.
fn change_times(
    field: &str,
    stored: Option<&FieldBase>,
    [va, vb]: [&str; 2],
    times: &Times,
) -> (Option<i64>, Option<i64>) {
    let generic = checklist_name(field).map(|_| CHECKLISTS);
    let latest = |side: MirrorSide, stored_at: Option<i64>| {
        let seen = |f: &str| times.get(&(side, f.to_owned())).copied();
        let own = seen(field).max(generic.and_then(seen));
        own.max(stored_at)
    };
    // A side that differs from the base changed after the read that agreed it: a known time
    // no later than that read is an older change's (this one's event is not here yet, seed 7),
    // so it is unknown, and a last writer's conflict reads it from the cards' histories.
    let after_read = |value: &str, at: Option<i64>| match stored {
        Some(s) if value != s.base_value && at.zip(s.read_at).is_some_and(|(t, r)| t <= r) => None,
        _ => at,
    };
    (
        after_read(
            va,
            latest(MirrorSide::A, stored.and_then(|s| s.a_changed_at)),
        ),
        after_read(
            vb,
            latest(MirrorSide::B, stored.and_then(|s| s.b_changed_at)),
        ),
    )
}

/// The side that holds `stored`'s value although its user changed `field` after the read that
/// agreed it, for the fields whose lost value a card's history can give back.
fn unseen(
    field: &str,
    stored: &FieldBase,
    [va, vb]: [Option<&str>; 2],
    times: &Times,
) -> Option<(MirrorSide, i64)> {
    let read_at = stored.read_at?;
    if !super::context::RESTORABLE.contains(&field) {
        return None;
    }
    let edited_after = |side: MirrorSide| {
        let user = times.get(&(side, format!("{BY_USER}{field}")));
        user.is_some_and(|at| *at > read_at)
    };
    [(MirrorSide::A, va), (MirrorSide::B, vb)]
        .into_iter()
        .find(|(side, v)| *v == Some(stored.base_value.as_str()) && edited_after(*side))
        .map(|(side, _)| (side, read_at))
}
