//! What the mirror chaos driver remembers of the users' edits, and the invariants the end state
//! of two mirrored boards must meet. A card and its twin share a key: the driver's name for the
//! card a user made, found again on the other board by the marker both carry.

use std::collections::BTreeMap;

/// The board a user edited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    A,
    B,
}

/// The mirrored fields, as the oracle reads them (the list in board A's names).
pub const FIELDS: [&str; 7] = [
    "name",
    "desc",
    "list",
    "closed",
    "labels",
    "due",
    "checklists",
];

/// Board A's list that no mirror list maps: a card there keeps its twin where it is.
pub const UNMAPPED: &str = "Ideas";

/// A field's value on a card no user has touched.
pub fn untouched(field: &str) -> &'static str {
    match field {
        "closed" => "false",
        "due" => "-|false",
        _ => "",
    }
}

/// A conflict's winner when the changes' times do not decide it (CONTRACT §8: ties and unknown
/// times go to side a; `prefer_*` names its side).
pub fn preferred(policy: &str) -> Side {
    if policy == "prefer_b" {
        Side::B
    } else {
        Side::A
    }
}

#[derive(Clone, Debug)]
pub struct Edit {
    pub side: Side,
    pub value: String,
    pub saw: String,
}

/// Every user edit per key and field, in the order made (one at a time: the order is the time).
#[derive(Default, Debug)]
pub struct History {
    edits: BTreeMap<String, BTreeMap<&'static str, Vec<Edit>>>,
}

impl History {
    pub fn record(&mut self, key: &str, field: &'static str, side: Side, value: &str, saw: &str) {
        let edits = self.edits.entry(key.to_owned()).or_default();
        edits.entry(field).or_default().push(Edit {
            side,
            value: value.to_owned(),
            saw: saw.to_owned(),
        });
    }

    /// Whether a user of `side` set `field` of `key` to `value` at some point.
    pub fn typed(&self, key: &str, field: &str, side: Side, value: &str) -> bool {
        let edits = self.edits.get(key).and_then(|f| f.get(field));
        edits.is_some_and(|e| e.iter().any(|e| e.side == side && e.value == value))
    }

    /// The final values a field may hold: the last edit's; or the other board's last edit
    /// before it, when no later edit was made by someone who saw that value (the two were
    /// concurrent, a conflict) and the policy can pick its side, or the last board's edits since
    /// were undone. A change to the unmapped list is no change the merge sees, so a concurrent
    /// move on the other board may move it back.
    pub fn acceptable(&self, key: &str, field: &str, policy: &str) -> Vec<String> {
        let edits = (self.edits.get(key))
            .and_then(|f| f.get(field))
            .map(Vec::as_slice)
            .unwrap_or_default();
        let Some(last) = edits.last() else {
            return vec![untouched(field).to_owned()];
        };
        let mut ok = vec![last.value.clone()];
        if let Some(pos) = edits.iter().rposition(|e| e.side != last.side) {
            let other = &edits[pos];
            // A later user saw the other board's value only if their own board never held it:
            // lists and archived states repeat, and a board may show its own old value again.
            let own = |upto: usize| {
                edits[..upto]
                    .iter()
                    .any(|e| e.side == last.side && e.value == other.value)
            };
            let concurrent = (pos + 1..edits.len()).all(|i| edits[i].saw != other.value || own(i));
            let may_win = other.side == preferred(policy) || last.value == UNMAPPED;
            // Undone: the last board ends at the value the other board showed before its run of
            // edits the last board never saw (a round trip the merge may never see). That side
            // then holds the base, unchanged (CONTRACT §5: only a value differing from it is a
            // change), and the other board's edit travels whatever the policy.
            let unseen = |i: usize| {
                (edits[i + 1..].iter()).all(|e| e.side != last.side || e.saw != edits[i].value)
            };
            let undone = (0..=pos)
                .rev()
                .filter(|&i| edits[i].side == other.side)
                .take_while(|&i| unseen(i))
                .any(|i| edits[i].saw == last.value);
            if concurrent && (may_win || undone) {
                ok.push(other.value.clone());
            }
        }
        ok
    }
}

/// A card as the end-state checks read it: its key, board and mirrored values.
#[derive(Clone, Debug)]
pub struct CardView {
    pub id: String,
    pub key: String,
    pub side: Side,
    pub values: BTreeMap<&'static str, String>,
}

impl CardView {
    fn get(&self, field: &str) -> &str {
        self.values.get(field).map_or("", String::as_str)
    }

    fn open_and_mapped(&self) -> bool {
        self.get("closed") == "false" && self.get("list") != UNMAPPED
    }
}

/// Checks a quiet end state; each violation is one line. `deleted`: keys a user deleted a card
/// of (its twin must end archived, and nothing else is asked of it).
pub fn check(
    history: &History,
    deleted: &[String],
    cards: &[CardView],
    policy: &str,
) -> Vec<String> {
    let mut bad = Vec::new();
    let mut by_key: BTreeMap<&str, Vec<&CardView>> = BTreeMap::new();
    for c in cards {
        by_key.entry(c.key.as_str()).or_default().push(c);
    }
    for (key, mine) in &by_key {
        if deleted.iter().any(|d| d.as_str() == *key) {
            for c in mine.iter().filter(|c| c.get("closed") != "true") {
                bad.push(format!(
                    "{key}: card {} stays open after its twin was deleted",
                    c.id
                ));
            }
            continue;
        }
        let a: Vec<&&CardView> = mine.iter().filter(|c| c.side == Side::A).collect();
        let b: Vec<&&CardView> = mine.iter().filter(|c| c.side == Side::B).collect();
        if a.len() > 1 || b.len() > 1 {
            bad.push(format!("{key}: {} cards on a, {} on b", a.len(), b.len()));
            continue;
        }
        match (a.first(), b.first()) {
            (Some(a), Some(b)) => compare(key, a, b, &mut bad),
            (Some(c), None) | (None, Some(c)) if c.open_and_mapped() => {
                bad.push(format!(
                    "{key}: open card {} in a mapped list has no twin",
                    c.id
                ));
            }
            _ => {}
        }
        for f in FIELDS {
            let ok = history.acceptable(key, f, policy);
            for c in mine {
                // Board b's list is compared with a's above; a's unmapped list is a's own.
                if f == "list" && c.side == Side::B && !a.is_empty() {
                    continue;
                }
                if !ok.iter().any(|v| v == c.get(f)) {
                    bad.push(format!(
                        "{key} {f} ends as {:?} on {:?} (card {}), but the users' edits allow only {ok:?}",
                        c.get(f),
                        c.side,
                        c.id
                    ));
                }
            }
        }
    }
    bad
}

/// Twins agree on every field; the list through the map, unless a's is the unmapped one.
fn compare(key: &str, a: &CardView, b: &CardView, bad: &mut Vec<String>) {
    for f in FIELDS {
        if f == "list" && a.get(f) == UNMAPPED {
            continue;
        }
        if a.get(f) != b.get(f) {
            bad.push(format!(
                "{key} {f}: a {:?} (card {}), b {:?} (card {})",
                a.get(f),
                a.id,
                b.get(f),
                b.id
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_concurrent_edit_may_win_only_on_the_side_the_policy_prefers() {
        let mut h = History::default();
        h.record("k", "name", Side::B, "x", "");
        // Typed on a without seeing x: a conflict that side a wins, unless b is preferred.
        h.record("k", "name", Side::A, "y", "");
        assert_eq!(h.acceptable("k", "name", "last_writer_wins"), ["y"]);
        assert_eq!(h.acceptable("k", "name", "prefer_b"), ["y", "x"]);
        // Seen, then changed: only the change may survive.
        h.record("k", "desc", Side::A, "d1", "");
        h.record("k", "desc", Side::B, "d2", "d1");
        assert_eq!(h.acceptable("k", "desc", "prefer_a"), ["d2"]);
        assert_eq!(h.acceptable("k", "due", "prefer_a"), ["-|false"]);
        // b showed Done again by its own earlier move, not by a's: still concurrent.
        h.record("k", "closed", Side::B, "true", "false");
        h.record("k", "closed", Side::A, "true", "false");
        h.record("k", "closed", Side::B, "false", "true");
        assert_eq!(h.acceptable("k", "closed", "prefer_a"), ["false", "true"]);
        // A move to the unmapped list is invisible to the merge: a concurrent move may win.
        h.record("k", "list", Side::B, "Done", "To Do");
        h.record("k", "list", Side::A, UNMAPPED, "To Do");
        assert_eq!(h.acceptable("k", "list", "prefer_b"), [UNMAPPED, "Done"]);
        assert_eq!(h.acceptable("k", "list", "prefer_a"), [UNMAPPED, "Done"]);
    }

    #[test]
    fn an_edit_undone_before_a_pass_saw_it_lets_the_other_board_s_edit_travel() {
        // Seed 7: a completes the due date, b sets another, a uncompletes it. If no pass saw a's
        // completion, a holds the base: b's date travels (CONTRACT §5), under any policy.
        let mut h = History::default();
        h.record("k", "due", Side::A, "-|true", "-|false");
        h.record("k", "due", Side::B, "d|false", "-|false");
        h.record("k", "due", Side::A, "-|false", "-|true");
        for policy in ["last_writer_wins", "prefer_a", "prefer_b"] {
            assert_eq!(h.acceptable("k", "due", policy), ["-|false", "d|false"]);
        }
        // Not undone: a ends at a value of its own, a conflict the policy decides.
        h.record("k", "name", Side::A, "y", "x");
        h.record("k", "name", Side::B, "z", "x");
        h.record("k", "name", Side::A, "w", "y");
        assert_eq!(h.acceptable("k", "name", "prefer_a"), ["w"]);
        // Undone after b's edit reached a: a's undo is a change of its own, and only it stands.
        h.record("k", "desc", Side::B, "z", "x");
        h.record("k", "desc", Side::A, "y", "z");
        h.record("k", "desc", Side::A, "x", "y");
        assert_eq!(h.acceptable("k", "desc", "prefer_b"), ["x"]);
        // Seed 5: b's two edits, both unseen by a, whose round trip ends where b began.
        h.record("k", "labels", Side::A, "Hot", "");
        h.record("k", "labels", Side::B, "Cold", "");
        h.record("k", "labels", Side::B, "VIP", "Cold");
        h.record("k", "labels", Side::A, "", "Hot");
        assert_eq!(h.acceptable("k", "labels", "prefer_a"), ["", "VIP"]);
    }
}
