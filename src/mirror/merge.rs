//! The mirror's per-field three-way merge, pure: the base both boards last agreed on and what
//! each holds now → copy to a side, a conflict decided by the policy, or nothing. A side equal
//! to the base has not changed and is never overwritten by the base (no reverted edits).
//! A field with no base (a link made before the field was mirrored, or found again after a lost
//! database) is merged as the contract says: equal sides agree, an empty side takes the other's
//! value, and two different values are a conflict.

use crate::config::MirrorPolicySetting;
use crate::store::mirror_links::MirrorSide;

/// What one field of a link needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Merge {
    /// Both sides hold the base: nothing changed.
    Same,
    /// Both changed to the same value: it becomes the base, nothing is written.
    Agreed,
    /// One side changed: copy it to the other side (`CopyTo(A)` writes side a).
    CopyTo(MirrorSide),
    /// Both changed differently: the winner's value is copied to the other side.
    Conflict { winner: MirrorSide },
}

/// Each side's value of a field, with the time (unix ms) of its latest known change.
#[derive(Debug, Clone, Copy)]
pub struct Sides<'a> {
    pub a: &'a str,
    pub b: &'a str,
    pub a_at: Option<i64>,
    pub b_at: Option<i64>,
}

/// `base` is `None` when the link has none for the field; `empty` is the field's empty value
/// (`None` for a field that has none, such as the archived state).
pub fn merge(
    base: Option<&str>,
    sides: Sides<'_>,
    policy: MirrorPolicySetting,
    empty: Option<&str>,
) -> Merge {
    let Some(base) = base else {
        return unbased(sides, policy, empty);
    };
    let (a_changed, b_changed) = (sides.a != base, sides.b != base);
    match (a_changed, b_changed) {
        (false, false) => Merge::Same,
        (true, false) => Merge::CopyTo(MirrorSide::B),
        (false, true) => Merge::CopyTo(MirrorSide::A),
        (true, true) if sides.a == sides.b => Merge::Agreed,
        (true, true) => Merge::Conflict {
            winner: winner(sides, policy),
        },
    }
}

/// A field with a write of ours on its way to side `to`, `value` (a pass stopped partway), that
/// side holding `from` when the write was decided: a side holding that write, still holding
/// `from`, or a label set or checklist on its way from `from` to it, is ours, not a user's
/// edit: the copy is finished (or, if the other side now holds the same, agreed). `None`: the
/// side was edited since; the caller merges with the pending value as the base (what the pass
/// left both sides agreeing on).
pub fn finish_pending(
    from: &str,
    to: MirrorSide,
    value: &str,
    sides: Sides<'_>,
    stepwise: bool,
) -> Option<Merge> {
    let (written, other) = match to {
        MirrorSide::A => (sides.a, sides.b),
        MirrorSide::B => (sides.b, sides.a),
    };
    // Still `from`: the write did not land (nor did a user change it).
    let ours =
        written == value || written == from || (stepwise && on_the_way(from, value, written));
    ours.then(|| {
        if written == other {
            Merge::Agreed
        } else {
            Merge::CopyTo(to)
        }
    })
}

/// Whether `now`, a JSON array ("" for none), is made of `from`'s and `to`'s elements and keeps
/// each element both share: where a write of `from` → `to` one element at a time can stop.
fn on_the_way(from: &str, to: &str, now: &str) -> bool {
    let parse = |v: &str| -> Option<Vec<serde_json::Value>> {
        if v.is_empty() {
            Some(Vec::new())
        } else {
            serde_json::from_str(v).ok()
        }
    };
    let (Some(from), Some(to), Some(now)) = (parse(from), parse(to), parse(now)) else {
        return false;
    };
    now.iter().all(|e| from.contains(e) || to.contains(e))
        && (from.iter())
            .filter(|e| to.contains(e))
            .all(|e| now.contains(e))
}

/// No base: the sides agree, or an empty side is given the other's value, or the policy decides.
fn unbased(sides: Sides<'_>, policy: MirrorPolicySetting, empty: Option<&str>) -> Merge {
    if sides.a == sides.b {
        Merge::Agreed
    } else if Some(sides.a) == empty {
        Merge::CopyTo(MirrorSide::A)
    } else if Some(sides.b) == empty {
        Merge::CopyTo(MirrorSide::B)
    } else {
        Merge::Conflict {
            winner: winner(sides, policy),
        }
    }
}

/// `prefer_*` names its side; the last writer wins by its change's own time, and ties and
/// unknown times go to side a (CONTRACT §8).
fn winner(sides: Sides<'_>, policy: MirrorPolicySetting) -> MirrorSide {
    match policy {
        MirrorPolicySetting::PreferA => MirrorSide::A,
        MirrorPolicySetting::PreferB => MirrorSide::B,
        MirrorPolicySetting::LastWriterWins => match (sides.a_at, sides.b_at) {
            (Some(a), Some(b)) if b > a => MirrorSide::B,
            _ => MirrorSide::A,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use MirrorPolicySetting::*;
    use MirrorSide::{A, B};

    fn sides<'a>(a: &'a str, b: &'a str, a_at: Option<i64>, b_at: Option<i64>) -> Sides<'a> {
        Sides { a, b, a_at, b_at }
    }

    #[test]
    fn one_changed_side_is_copied_and_an_unchanged_side_never_wins() {
        let s = |a, b| sides(a, b, Some(1), Some(2));
        let m = |a, b, policy| merge(Some("x"), s(a, b), policy, Some(""));
        assert_eq!(m("x", "x", LastWriterWins), Merge::Same);
        assert_eq!(m("y", "x", PreferB), Merge::CopyTo(B));
        // Side b is the newer, but it holds the base: a's edit is not reverted.
        assert_eq!(m("y", "x", LastWriterWins), Merge::CopyTo(B));
        assert_eq!(m("x", "z", PreferA), Merge::CopyTo(A));
        assert_eq!(m("y", "y", PreferA), Merge::Agreed);
        // A side emptied since the base is a change like any other: it travels.
        assert_eq!(m("", "x", PreferB), Merge::CopyTo(B));
    }

    #[test]
    fn a_conflict_goes_by_the_policy_with_ties_and_unknown_times_to_side_a() {
        let conflict =
            |at_a, at_b, policy| merge(Some("x"), sides("y", "z", at_a, at_b), policy, None);
        let won = |side| Merge::Conflict { winner: side };
        assert_eq!(conflict(Some(1), Some(2), LastWriterWins), won(B));
        assert_eq!(conflict(Some(3), Some(2), LastWriterWins), won(A));
        assert_eq!(conflict(Some(2), Some(2), LastWriterWins), won(A));
        assert_eq!(conflict(None, Some(2), LastWriterWins), won(A));
        assert_eq!(conflict(Some(1), None, LastWriterWins), won(A));
        assert_eq!(conflict(Some(9), Some(1), PreferB), won(B));
        assert_eq!(conflict(Some(1), Some(9), PreferA), won(A));
    }

    #[test]
    fn a_write_stopped_partway_is_finished_and_a_user_edit_is_not_taken_for_it() {
        let s = |a, b| sides(a, b, Some(1), Some(2));
        let base = r#"[["Hot",null]]"#;
        let to = r#"[["Cold",null],["VIP",null]]"#;
        let partial = r#"[["Cold",null],["Hot",null]]"#;
        // b got "Cold" but not "VIP" nor lost "Hot"; a is now another user's value.
        let newer = r#"[["Urgent",null]]"#;
        let finish = |b, a, stepwise| finish_pending(base, B, to, s(a, b), stepwise);
        assert_eq!(finish(partial, newer, true), Some(Merge::CopyTo(B)));
        assert_eq!(finish(to, newer, false), Some(Merge::CopyTo(B)));
        assert_eq!(finish(to, to, false), Some(Merge::Agreed));
        // Not stepwise (a name, a description): only the value itself is ours.
        assert_eq!(finish(partial, newer, false), None);
        assert_eq!(finish(base, newer, false), Some(Merge::CopyTo(B)));
        // An element neither had: a user's edit.
        let edited = r#"[["Cold",null],["Lead",null]]"#;
        assert_eq!(finish(edited, newer, true), None);
        // A checklist created, its items not added yet ("" was no checklist at all).
        let items = r#"[["Call",false],["Mail",true]]"#;
        let empty_list = finish_pending("", A, items, s("[]", items), true);
        assert_eq!(empty_list, Some(Merge::CopyTo(A)));
    }

    #[test]
    fn without_a_base_equal_sides_agree_an_empty_side_is_filled_and_else_the_policy_decides() {
        let m = |a, b, policy, empty| merge(None, sides(a, b, Some(1), Some(2)), policy, empty);
        assert_eq!(m("x", "x", PreferB, Some("")), Merge::Agreed);
        assert_eq!(m("", "", PreferB, Some("")), Merge::Agreed);
        // The empty side takes the other's value whatever the policy says.
        assert_eq!(m("", "x", PreferA, Some("")), Merge::CopyTo(A));
        assert_eq!(m("[]", "[x]", LastWriterWins, Some("[]")), Merge::CopyTo(A));
        assert_eq!(m("x", "", PreferB, Some("")), Merge::CopyTo(B));
        let won = |side| Merge::Conflict { winner: side };
        assert_eq!(m("x", "y", LastWriterWins, Some("")), won(B));
        assert_eq!(m("x", "y", PreferA, Some("")), won(A));
        // A field without an empty value (the archived state): differing sides conflict.
        assert_eq!(m("false", "true", PreferB, None), won(B));
    }
}
