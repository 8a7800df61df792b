//! The inputs of one lead's decision: its share of a batch of events ([`Group`]) and what the
//! store holds of it ([`LeadFacts`]). Plain data, below the files that read, decide and write.

use std::collections::HashSet;

use chrono::{DateTime, Utc};

use crate::inbound::RecordChangeEvent;
use crate::store::links::Link;
use crate::store::tombstones::Tombstone;
use crate::sync::merge::{LeadObservation, LeadState, Observed};
use crate::sync::observe::{CardChange, RowObservation};

/// What one event contributes, per lead key.
pub enum Item {
    Row(RowObservation),
    Card(CardChange),
    /// A change to the lead's tracker record, observed once the lead's facts are read: whether
    /// it is leadsync's own write coming back depends on what the store holds of the lead.
    Record(RecordItem),
    /// The tracker says the lead's record was deleted.
    RecordGone,
}

/// A tracker record's change as stored, with its change time already clamped.
#[derive(Debug, Clone)]
pub struct RecordItem {
    pub change: RecordChangeEvent,
    pub changed_at: DateTime<Utc>,
    /// When the event reached leadsync (unix ms).
    pub received_at: i64,
}

/// One lead's share of a batch of events, in arrival order.
#[derive(Debug, Default, Clone)]
pub struct Group {
    pub event_ids: Vec<i64>,
    pub rows: Vec<RowObservation>,
    pub cards: Vec<CardChange>,
    /// Record changes not observed yet; [`super::records::observe_records`] turns them into
    /// `rows`.
    pub records: Vec<RecordItem>,
    /// The tracker said the lead's record is deleted.
    pub record_gone: bool,
}

impl Group {
    pub fn add(&mut self, event_id: i64, item: Item) {
        self.event_ids.push(event_id);
        match item {
            Item::Row(row) => self.rows.push(row),
            Item::Card(change) => self.cards.push(change),
            Item::Record(record) => self.records.push(record),
            Item::RecordGone => self.record_gone = true,
        }
    }

    /// The prefix of the group's outbox idempotency keys: its first event, so replaying the
    /// same events enqueues nothing twice.
    pub fn key_prefix(&self) -> String {
        let first_event = self.event_ids.iter().min().copied().unwrap_or_default();
        format!("ev{first_event}")
    }

    /// The sheet row the group's latest row event showed; `None` for a record, which has no
    /// position (its id is the lead's).
    pub fn last_row(&self) -> Option<u32> {
        self.rows.last().map(|r| r.row).filter(|row| *row > 0)
    }

    /// When the user typed in the group's rows (unix ms): an id that landed before that was in
    /// the row they edited.
    pub fn rows_edited_ms(&self, now: DateTime<Utc>) -> i64 {
        self.rows
            .iter()
            .flat_map(|r| r.fields.values().filter_map(|o| o.changed_at))
            .max()
            .unwrap_or(now)
            .timestamp_millis()
    }

    /// When the user changed what the group shows (unix ms): the latest of its rows' changes
    /// and its records' (a record's every cell shares its change's time), `now` if none has a
    /// time.
    pub fn edited_ms(&self, now: DateTime<Utc>) -> i64 {
        let rows = self.sheet_observation();
        let rows = rows.values().filter_map(|o| o.changed_at);
        let records = self.records.iter().map(|r| r.changed_at);
        rows.chain(records).max().unwrap_or(now).timestamp_millis()
    }

    /// The card a `deleted` event of the group names.
    pub fn deleted_card(&self) -> Option<&str> {
        self.cards.iter().find_map(|c| match c {
            CardChange::Deleted { card_id } => Some(card_id.as_str()),
            _ => None,
        })
    }

    /// The card's archived state as its latest event in the group left it.
    pub fn closed(&self) -> Option<bool> {
        self.cards.iter().rev().find_map(|c| match c {
            CardChange::Fields { closed, .. } => *closed,
            _ => None,
        })
    }

    /// What the group's rows show, the latest of each field winning.
    pub fn sheet_observation(&self) -> LeadObservation {
        combine(self.rows.iter().map(|r| &r.fields))
    }

    /// What the group's cards show, the latest of each field winning.
    pub fn card_observation(&self) -> LeadObservation {
        combine(self.cards.iter().filter_map(|c| match c {
            CardChange::Fields { fields, .. } => Some(fields),
            _ => None,
        }))
    }
}

/// Everything the store holds that one lead's decision needs, read before it is made.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LeadFacts {
    /// The lead the group is about: the key's id, or for a row without one the lead leadsync
    /// made for it earlier ([`super::new_row`]) or a new id.
    pub lead_id: String,
    /// The group is a row without an id: `lead_id` goes to its id cell.
    pub id_for_row: bool,
    pub link: Option<Link>,
    pub state: LeadState,
    /// A card create for the lead is queued or on its way.
    pub create_pending: bool,
    /// The lead's card was deleted in Trello (and not replaced since).
    pub card_deleted: bool,
    /// Payloads of the lead's commands not sent yet (or dead-lettered).
    pub unsent_payloads: Vec<String>,
    /// Header texts (trimmed, lower-cased) of the cells our row writes set after the group's
    /// rows were read, or will set.
    pub cells_written: HashSet<String>,
    /// (header, value) of the cells the lead's tracker writes of the last few minutes set, read
    /// when a record change was made through the API: it may be one of them coming back.
    pub own_cells: Vec<(String, String)>,
    /// A record create leadsync asked for may not be adopted by its lead yet (read for a record
    /// no lead is linked to).
    pub appends_unfinished: bool,
    /// The lead's record was deleted by its tracker and its link tombstoned (read for a lead
    /// with no live link): a record showing it again is that record back, not a new lead.
    pub tombstone: Option<Tombstone>,
    /// Cells of the group's row (one without an id) that a write meant for another row landed
    /// on and the check emptied, as (blank's key, header, what the row's event shows there).
    pub blanked: Vec<(String, String, String)>,
    /// Cells of the group's row (one with the lead's id) that the write check put back to an
    /// older read's value (`store::sheet_blanks::keep_put_back`), as (key, header, what the
    /// row's event shows there).
    pub put_back: Vec<(String, String, String)>,
}

/// The latest observation of each field wins; equal times go to the later event. A user's
/// change wins over an echo of our own write whatever their times: the echo carries no intent,
/// and a change our write landed on must still reach the merge (which writes it back). For the
/// same reason a cell a person set wins over a later event that only shows the cell (a whole
/// row's): a value shown later that differs was put there by a write of ours (a person's own
/// later change of it is set in its own event), and taken instead, the person's change never
/// reached the merge (seed 53: a status typed while a copy of an older card move was on its way,
/// its held event grouped with a later one showing the copy).
fn combine<'a>(observations: impl Iterator<Item = &'a LeadObservation>) -> LeadObservation {
    let mut out = LeadObservation::new();
    for obs in observations {
        for (field, o) in obs {
            let rank = |o: &Observed| (!o.by_leadsync, o.set, o.changed_at);
            let newer = match out.get(field) {
                Some(prev) => rank(o) >= rank(prev),
                None => true,
            };
            if newer {
                out.insert(*field, o.clone());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Field;
    use crate::sync::merge::Observed;
    use crate::sync::test_support::t;

    #[test]
    fn a_users_change_outranks_a_later_echo_of_our_write_in_one_group() {
        let user: LeadObservation = [(Field::Name, Observed::user("Admiral", Some(t(10))))].into();
        let echo: LeadObservation =
            [(Field::Name, Observed::leadsync("Grace", Some(t(12))))].into();
        let later: LeadObservation = [(Field::Name, Observed::user("Amazing", Some(t(11))))].into();
        let got = combine([&user, &echo].into_iter());
        assert_eq!(got[&Field::Name].value, "Admiral");
        let got = combine([&user, &echo, &later].into_iter());
        assert_eq!(got[&Field::Name].value, "Amazing", "the latest user change");
    }

    #[test]
    fn a_cell_a_person_set_outranks_a_later_event_that_only_shows_it() {
        // Seed 53: Lost typed (set), then a later whole-row event showing our copy, Contacted.
        let typed: LeadObservation = [(Field::Status, Observed::set_by_user("Lost", t(10)))].into();
        let shown: LeadObservation =
            [(Field::Status, Observed::user("Contacted", Some(t(12))))].into();
        let got = combine([&typed, &shown].into_iter());
        assert_eq!(got[&Field::Status].value, "Lost");
        let retyped: LeadObservation =
            [(Field::Status, Observed::set_by_user("Won", t(13)))].into();
        let got = combine([&typed, &shown, &retyped].into_iter());
        assert_eq!(
            got[&Field::Status].value,
            "Won",
            "the person's later change"
        );
    }
}
