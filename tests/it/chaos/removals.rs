//! The users' removals the chaos driver makes: a card archived, a card deleted, a row deleted.
//! Each is made only while the lead's two sides agree (the user removes what they see in
//! sync), so that what the end state may hold stays simple to state; the races they start
//! with queued writes, held deliveries and rows moving up are what they are here for.

use std::collections::{HashMap, HashSet};

use leadsync::connectors::trello::sandbox::UserCardChange;
use rand::Rng;

use super::driver::{Driver, PAIR, PHONE, col};
use super::oracle::{Field, Side};

/// The status an archived card gives its row (`sync.on_card_archived` in the world's config).
pub const ARCHIVED_STATUS: &str = "Lost";
/// The 0-based column of the card URL in the world's header.
pub const CARD_COL: usize = 7;

/// Leads a user removed something of, by key (phone).
#[derive(Default, Debug)]
pub struct Removed {
    /// Cards archived in Trello: the row's status becomes [`ARCHIVED_STATUS`].
    pub archived: HashSet<String>,
    /// Cards deleted in Trello: the row stays, with no card, until its status is changed in
    /// the sheet (then the key leaves this set: a new card is due).
    pub card_deleted: HashSet<String>,
    /// Cards deleted, then the row's status changed in the sheet: a new card is due, unless
    /// leadsync heard of the status change before the deletion (its move then found the card
    /// gone, and Trello's 404 does not say when it went); either way at most one open card.
    pub card_deleted_then_status: HashSet<String>,
    /// Rows deleted from the sheet: no row may come back, and the lead's card (open or
    /// archived: `on_row_deleted` waits for two reads a minute apart) must be one at most.
    pub rows_deleted: HashSet<String>,
}

impl Driver {
    /// A random lead whose row and open card agree on every field: (row, key).
    fn pick_agreeing(&mut self) -> Option<(u32, String)> {
        let rows = self.w.rows(PAIR);
        let agreeing: Vec<(u32, String)> = rows
            .iter()
            .enumerate()
            .filter(|(_, r)| !r[PHONE].is_empty() && !r[0].is_empty())
            .filter(|(_, r)| {
                self.card_of(&r[PHONE]).is_some_and(|card| {
                    Field::ALL
                        .iter()
                        .all(|f| self.card_value(&card, *f) == r[col(*f)])
                })
            })
            .map(|(i, r)| (i as u32 + 2, r[PHONE].clone()))
            .collect();
        (!agreeing.is_empty()).then(|| agreeing[self.rng.random_range(0..agreeing.len())].clone())
    }

    /// A user archives a card: its row's status is to become the archived status.
    pub(super) fn archive_card(&mut self) -> anyhow::Result<()> {
        let Some((_, key)) = self.pick_agreeing() else {
            return Ok(());
        };
        let Some(card) = self.card_of(&key) else {
            return Ok(());
        };
        let saw = self.card_value(&card, Field::Status);
        self.note(format!("archive card {} ({key}), in {saw}", card.id));
        let change = UserCardChange {
            closed: Some(true),
            ..UserCardChange::default()
        };
        self.w
            .trello
            .user_update_card(&card.id, &change)
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        self.history
            .record(&key, Field::Status, Side::Trello, ARCHIVED_STATUS, &saw);
        self.removed.archived.insert(key);
        Ok(())
    }

    /// A user deletes a card: the row keeps its data and loses its card URL.
    pub(super) fn delete_card(&mut self) -> anyhow::Result<()> {
        let Some((_, key)) = self.pick_agreeing() else {
            return Ok(());
        };
        let Some(card) = self.card_of(&key) else {
            return Ok(());
        };
        self.note(format!("delete card {} ({key})", card.id));
        self.w
            .trello
            .user_delete_card(&card.id)
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        self.removed.card_deleted.insert(key);
        Ok(())
    }

    /// A user deletes a lead's row; the rows below move up.
    pub(super) async fn delete_row(&mut self) -> anyhow::Result<()> {
        let Some((row, key)) = self.pick_agreeing() else {
            return Ok(());
        };
        self.note(format!("delete row {row} ({key})"));
        self.w
            .google
            .delete_row(&self.spreadsheet(), leadsync::demo::world::SHEET, row)
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        self.removed.rows_deleted.insert(key);
        self.sheet_event("change", &[]).await
    }
}

/// What the removals allow at the end, checked beside the oracle's invariants; `cards` are
/// (key, open, card cell expected) views of the board, `rows` the row of each key.
pub fn check(
    removed: &Removed,
    rows: &HashMap<String, Vec<String>>,
    cards_by_key: &HashMap<String, (usize, usize)>,
) -> Vec<String> {
    let mut bad = Vec::new();
    for key in &removed.rows_deleted {
        if rows.contains_key(key) {
            bad.push(format!("the deleted row of {key} is back"));
        }
        let (open, closed) = cards_by_key.get(key).copied().unwrap_or_default();
        if open + closed > 1 {
            bad.push(format!(
                "the lead of deleted row {key} has {open} open and {closed} archived cards"
            ));
        }
    }
    for key in &removed.card_deleted_then_status {
        let (open, _) = cards_by_key.get(key).copied().unwrap_or_default();
        if open > 1 {
            bad.push(format!(
                "{key}'s card was deleted and it has {open} open cards now"
            ));
        }
    }
    for key in &removed.card_deleted {
        let (open, closed) = cards_by_key.get(key).copied().unwrap_or_default();
        if open + closed > 0 {
            bad.push(format!(
                "{key}'s card was deleted and its status not changed since, yet it has {open} open and {closed} archived cards"
            ));
        }
        if let Some(row) = rows.get(key)
            && !row[CARD_COL].is_empty()
        {
            bad.push(format!(
                "{key}'s card was deleted, yet its row still shows {:?}",
                row[CARD_COL]
            ));
        }
    }
    bad
}
