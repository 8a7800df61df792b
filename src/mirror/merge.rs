//! The mirror's per-field three-way merge, pure: the base both boards last agreed on and what
//! each holds now → copy to a side, a conflict decided by the policy, or nothing. A side equal
//! to the base has not changed and is never overwritten by the base (no reverted edits).

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

pub fn merge(base: &str, sides: Sides<'_>, policy: MirrorPolicySetting) -> Merge {
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
        assert_eq!(merge("x", s("x", "x"), LastWriterWins), Merge::Same);
        assert_eq!(merge("x", s("y", "x"), PreferB), Merge::CopyTo(B));
        // Side b is the newer, but it holds the base: a's edit is not reverted.
        assert_eq!(merge("x", s("y", "x"), LastWriterWins), Merge::CopyTo(B));
        assert_eq!(merge("x", s("x", "z"), PreferA), Merge::CopyTo(A));
        assert_eq!(merge("x", s("y", "y"), PreferA), Merge::Agreed);
    }

    #[test]
    fn a_conflict_goes_by_the_policy_with_ties_and_unknown_times_to_side_a() {
        let conflict = |at_a, at_b, policy| merge("x", sides("y", "z", at_a, at_b), policy);
        let won = |side| Merge::Conflict { winner: side };
        assert_eq!(conflict(Some(1), Some(2), LastWriterWins), won(B));
        assert_eq!(conflict(Some(3), Some(2), LastWriterWins), won(A));
        assert_eq!(conflict(Some(2), Some(2), LastWriterWins), won(A));
        assert_eq!(conflict(None, Some(2), LastWriterWins), won(A));
        assert_eq!(conflict(Some(1), None, LastWriterWins), won(A));
        assert_eq!(conflict(Some(9), Some(1), PreferB), won(B));
        assert_eq!(conflict(Some(1), Some(9), PreferA), won(A));
    }
}
