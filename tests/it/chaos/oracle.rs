//! What the chaos driver remembers of the users' edits, and the invariants the end state must
//! meet. Leads are told apart by their phone number, which the generator never edits.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::removals::{ARCHIVED_STATUS, Removed};

/// The side a user edited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// The lead tracker: the sheet, or the Airtable table.
    Sheet,
    Trello,
}

/// The lead fields users edit (the phone is the lead's key and stays as typed).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Field {
    Name,
    Email,
    Company,
    Status,
    Notes,
    /// The Sheets history keys leads by phone and never edits it; the Airtable one does.
    Phone,
}

impl Field {
    pub const ALL: [Field; 5] = [
        Field::Name,
        Field::Email,
        Field::Company,
        Field::Status,
        Field::Notes,
    ];

    /// The sheet header of the field (the world's header row).
    pub fn header(self) -> &'static str {
        match self {
            Field::Name => "Name",
            Field::Email => "Email",
            Field::Company => "Company",
            Field::Status => "Status",
            Field::Notes => "Notes",
            Field::Phone => "Phone",
        }
    }
}

/// One user edit: where, the value typed, and what that user saw there just before.
#[derive(Clone, Debug)]
pub struct Edit {
    pub side: Side,
    pub value: String,
    pub saw: String,
}

/// Every user edit, per lead key and field, in the order they were made (the order is the
/// time: the driver makes one edit at a time).
#[derive(Default, Debug)]
pub struct History {
    edits: BTreeMap<String, BTreeMap<Field, Vec<Edit>>>,
}

impl History {
    pub fn record(&mut self, key: &str, field: Field, side: Side, value: &str, saw: &str) {
        self.edits
            .entry(key.to_owned())
            .or_default()
            .entry(field)
            .or_default()
            .push(Edit {
                side,
                value: value.to_owned(),
                saw: saw.to_owned(),
            });
    }

    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.edits.keys()
    }

    /// The final values a field may hold. The last edit's value; or the other side's last edit
    /// before it, when no later edit was made by someone who could see that value (the two
    /// were concurrent, and the conflict policy may pick either). An edit made after its user
    /// saw a value supersedes that value: ending with it is a reverted edit.
    pub fn acceptable(&self, key: &str, field: Field) -> Vec<String> {
        let edits = self
            .edits
            .get(key)
            .and_then(|f| f.get(&field))
            .map(Vec::as_slice)
            .unwrap_or_default();
        let Some(last) = edits.last() else {
            return vec![String::new()];
        };
        let mut ok = vec![last.value.clone()];
        if let Some(pos) = edits.iter().rposition(|e| e.side != last.side) {
            let other = &edits[pos];
            if edits[pos + 1..].iter().all(|e| e.saw != other.value) {
                ok.push(other.value.clone());
            }
        }
        ok
    }
}

/// A card as the end-state checks read it.
#[derive(Clone, Debug)]
pub struct CardView {
    pub id: String,
    pub marker: Option<String>,
    pub closed: bool,
    pub values: HashMap<Field, String>,
    pub phone: String,
}

/// A lead row as the checks read it.
#[derive(Clone, Debug)]
pub struct RowView {
    pub row: usize,
    pub id: String,
    pub phone: String,
    pub values: HashMap<Field, String>,
}

/// Checks the invariants of a quiet end state; each violation is one line.
pub fn check(
    history: &History,
    removed: &Removed,
    rows: &[RowView],
    cards: &[CardView],
) -> Vec<String> {
    let mut bad = Vec::new();
    let mut ids = HashSet::new();
    for r in rows {
        if r.id.is_empty() {
            bad.push(format!("row {} has no id: {r:?}", r.row));
        } else if !ids.insert(r.id.clone()) {
            bad.push(format!("row {} repeats id {}", r.row, r.id));
        }
    }
    for c in cards.iter().filter(|c| !c.closed) {
        match &c.marker {
            None => bad.push(format!("open card {} carries no marker: {c:?}", c.id)),
            // The card of a deleted row stays open until two reads a minute apart miss it.
            Some(_) if removed.rows_deleted.contains(&c.phone) => {}
            Some(m) if !ids.contains(m) => {
                let row_of_phone = rows.iter().find(|r| r.phone == c.phone).map(|r| &r.id);
                bad.push(format!(
                    "open card {} belongs to no row (lead {m}, phone {:?}, name {:?}; that phone's row has lead {row_of_phone:?})",
                    c.id,
                    c.phone,
                    c.values.get(&Field::Name)
                ));
            }
            Some(_) => {}
        }
    }
    for r in rows {
        let gone = removed.card_deleted.contains(&r.phone);
        let maybe = removed.card_deleted_then_status.contains(&r.phone)
            && !cards
                .iter()
                .any(|c| !c.closed && c.marker.as_deref() == Some(&r.id));
        if !gone && !maybe {
            check_row_card(r, cards, &mut bad);
        }
    }
    check_edits(history, removed, rows, &mut bad);
    bad
}

/// A row's lead has one open card equal to it on every field; or, archived, one archived
/// card, the row showing the archived status and the card every other field.
fn check_row_card(r: &RowView, cards: &[CardView], bad: &mut Vec<String>) {
    let mine = |closed: bool| -> Vec<&CardView> {
        cards
            .iter()
            .filter(|c| c.closed == closed && c.marker.as_deref() == Some(&r.id))
            .collect()
    };
    let (open, closed) = (mine(false), mine(true));
    let archived = open.is_empty()
        && closed.len() == 1
        && r.values.get(&Field::Status).map(String::as_str) == Some(ARCHIVED_STATUS);
    if open.len() != 1 && !archived {
        bad.push(format!(
            "lead {} (row {}) has {} open and {} archived cards",
            r.id,
            r.row,
            open.len(),
            closed.len()
        ));
        return;
    }
    let card = if archived { closed[0] } else { open[0] };
    if card.phone != r.phone {
        bad.push(format!(
            "lead {}: phone {:?} in the sheet, {:?} on the card",
            r.id, r.phone, card.phone
        ));
    }
    for f in Field::ALL {
        // An archived card stays in its list; its row shows the archived status.
        if archived && f == Field::Status {
            continue;
        }
        if card.values.get(&f) != r.values.get(&f) {
            bad.push(format!(
                "lead {} {f:?}: sheet {:?}, card {:?}",
                r.id,
                r.values.get(&f),
                card.values.get(&f)
            ));
        }
    }
}

/// One row per lead key, and every field holds a value the users' edits allow.
fn check_edits(history: &History, removed: &Removed, rows: &[RowView], bad: &mut Vec<String>) {
    for key in history.keys() {
        if removed.rows_deleted.contains(key) {
            continue;
        }
        let mine: Vec<&RowView> = rows.iter().filter(|r| &r.phone == key).collect();
        if mine.len() != 1 {
            bad.push(format!("lead with phone {key} has {} rows", mine.len()));
            continue;
        }
        for f in Field::ALL {
            let have = mine[0].values.get(&f).cloned().unwrap_or_default();
            let ok = history.acceptable(key, f);
            if !ok.contains(&have) {
                bad.push(format!(
                    "lead {key} {f:?} ends as {have:?}, but the users' edits allow only {ok:?}"
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_edit_made_after_seeing_a_value_supersedes_it_and_a_concurrent_one_does_not() {
        let mut h = History::default();
        h.record("k", Field::Status, Side::Sheet, "New", "");
        // The card showed New when the user moved it: only the move may survive.
        h.record("k", Field::Status, Side::Trello, "Qualified", "New");
        assert_eq!(h.acceptable("k", Field::Status), ["Qualified"]);
        // Typed in the sheet while the card did not show it yet: either may win.
        h.record("k", Field::Name, Side::Sheet, "Ada", "");
        h.record("k", Field::Name, Side::Trello, "Ada L", "");
        assert_eq!(h.acceptable("k", Field::Name), ["Ada L", "Ada"]);
        assert_eq!(h.acceptable("k", Field::Notes), [""]);
    }
}
