//! The invariants the end state of an Airtable history must meet: one card per record and one
//! record per card (marker = record id, card URL field = the card), every named record with
//! its card, equal on every field, no acknowledged user edit reverted, and removals as the
//! contract says (§5, §7: a deleted record archives its card; a deleted card clears the
//! record's card URL and gets no new card until the status changes).

use std::collections::{HashMap, HashSet};

use super::super::oracle::{CardView, Field, History};
use super::super::removals::ARCHIVED_STATUS;
use super::driver::Lead;
use super::edits::FIELDS;

/// Leads a user removed something of, by key.
#[derive(Default, Debug)]
pub struct Removed {
    /// Cards archived in Trello: the record's status becomes [`ARCHIVED_STATUS`].
    pub archived: HashSet<String>,
    /// Cards deleted: the record keeps its data with no card until its status is changed.
    pub card_deleted: HashSet<String>,
    /// Cards deleted, then the status changed in Airtable: a new card is due unless leadsync
    /// heard of the change before the deletion; either way at most one open card.
    pub card_deleted_then_status: HashSet<String>,
    /// Records deleted: their card is archived, none is open, and no record comes back.
    pub records_deleted: HashSet<String>,
}

/// A record as the checks read it.
#[derive(Clone, Debug)]
pub struct RecordView {
    pub id: String,
    pub values: HashMap<Field, String>,
    pub card_url: String,
    /// The id field, which leadsync fills with the record id.
    pub lead_id: String,
}

/// A card and its short URL.
pub struct Card {
    pub view: CardView,
    pub url: String,
}

pub struct End<'a> {
    pub history: &'a History,
    pub removed: &'a Removed,
    pub leads: &'a [Lead],
    pub records: &'a [RecordView],
    pub cards: &'a [Card],
}

/// Checks the invariants of a quiet end state; each violation is one line.
pub fn check(end: &End) -> Vec<String> {
    let mut bad = Vec::new();
    check_pairing(end, &mut bad);
    for lead in end.leads {
        check_lead(end, lead, &mut bad);
    }
    bad
}

/// One open card per record, each open card some live record's, every record one a user made
/// or a user's card became, and no two records pointing at one card.
fn check_pairing(end: &End, bad: &mut Vec<String>) {
    let live: HashSet<&str> = end.records.iter().map(|r| r.id.as_str()).collect();
    let mut open: HashMap<&str, Vec<&str>> = HashMap::new();
    for c in end.cards.iter().filter(|c| !c.view.closed) {
        match c.view.marker.as_deref() {
            None => bad.push(format!(
                "open card {} carries no marker: {:?}",
                c.view.id, c.view
            )),
            Some(m) if !live.contains(m) => bad.push(format!(
                "open card {} belongs to no record (marker {m}, name {:?})",
                c.view.id,
                c.view.values.get(&Field::Name)
            )),
            Some(m) => open.entry(m).or_default().push(&c.view.id),
        }
    }
    for (record, cards) in open.iter().filter(|(_, c)| c.len() > 1) {
        bad.push(format!("record {record} has open cards {cards:?}"));
    }
    let known: HashSet<&str> = (end.leads.iter())
        .filter_map(|l| l.record.as_deref())
        .collect();
    let mut urls: HashMap<&str, &str> = HashMap::new();
    for r in end.records {
        if !known.contains(r.id.as_str()) {
            bad.push(format!(
                "record {} was made by no user nor for a user's card (a duplicate?): {:?}",
                r.id, r.values
            ));
        }
        if r.card_url.is_empty() {
            continue;
        }
        if let Some(other) = urls.insert(&r.card_url, &r.id) {
            bad.push(format!(
                "records {other} and {} both point at card {}",
                r.id, r.card_url
            ));
        }
        let card = end.cards.iter().find(|c| c.url == r.card_url);
        if card.is_none_or(|c| c.view.marker.as_deref() != Some(&r.id)) {
            bad.push(format!(
                "record {} points at {}, which is not its card ({:?})",
                r.id,
                r.card_url,
                card.map(|c| (&c.view.id, &c.view.marker))
            ));
        }
    }
}

fn check_lead(end: &End, lead: &Lead, bad: &mut Vec<String>) {
    let key = &lead.key;
    let Some(id) = &lead.record else {
        bad.push(format!(
            "the card {:?} a user made ({key}) became no record",
            lead.card
        ));
        return;
    };
    let mine = |closed: bool| -> Vec<&Card> {
        (end.cards.iter())
            .filter(|c| c.view.closed == closed && c.view.marker.as_deref() == Some(id))
            .collect()
    };
    let (open, closed) = (mine(false), mine(true));
    let record = end.records.iter().find(|r| &r.id == id);
    if end.removed.records_deleted.contains(key) {
        if record.is_some() {
            bad.push(format!("the deleted record {id} ({key}) is back"));
        }
        if !open.is_empty() || closed.len() != 1 {
            bad.push(format!(
                "the deleted record {id} ({key}) has {} open and {} archived cards (one archived is due)",
                open.len(),
                closed.len()
            ));
        }
        return;
    }
    let Some(record) = record else {
        bad.push(format!(
            "record {id} ({key}) is gone, yet no user deleted it"
        ));
        return;
    };
    check_edits(end.history, key, record, bad);
    let named = !record.values.get(&Field::Name).is_none_or(String::is_empty);
    if !named || end.removed.card_deleted.contains(key) {
        if !open.is_empty() || !closed.is_empty() || !record.card_url.is_empty() {
            bad.push(format!(
                "record {id} ({key}) is due no card (named {named}), yet has {} open and {} archived, card URL {:?}",
                open.len(),
                closed.len(),
                record.card_url
            ));
        }
        return;
    }
    if end.removed.card_deleted_then_status.contains(key) && open.is_empty() {
        return;
    }
    let archived = open.is_empty()
        && closed.len() == 1
        && record.values.get(&Field::Status).map(String::as_str) == Some(ARCHIVED_STATUS);
    if open.len() != 1 && !archived {
        bad.push(format!(
            "record {id} ({key}) has {} open and {} archived cards",
            open.len(),
            closed.len()
        ));
        return;
    }
    if !archived && !closed.is_empty() {
        // A card archived by its user comes back when the status changes: never a new one.
        bad.push(format!(
            "record {id} ({key}) has its open card and {} archived ones",
            closed.len()
        ));
    }
    let card = if archived { closed[0] } else { open[0] };
    check_card(id, record, card, archived, bad);
}

/// A record and its card agree on every field, and the record points at the card.
fn check_card(id: &str, record: &RecordView, card: &Card, archived: bool, bad: &mut Vec<String>) {
    if record.card_url != card.url {
        bad.push(format!(
            "record {id}: card URL {:?}, its card is {}",
            record.card_url, card.url
        ));
    }
    // Filled for the records leadsync makes (a user's card); a record a user made keeps an
    // empty id field today. Never another lead's id.
    if !record.lead_id.is_empty() && record.lead_id != id {
        bad.push(format!("record {id}: id field {:?}", record.lead_id));
    }
    for f in FIELDS {
        // An archived card stays in its list; its record shows the archived status.
        if archived && f == Field::Status {
            continue;
        }
        let (a, t) = (record.values.get(&f), card.view.values.get(&f));
        if a.map_or("", String::as_str) != t.map_or("", String::as_str) {
            bad.push(format!("record {id} {f:?}: airtable {a:?}, card {t:?}"));
        }
    }
}

/// Every field holds a value the users' edits allow.
fn check_edits(history: &History, key: &str, record: &RecordView, bad: &mut Vec<String>) {
    for f in FIELDS {
        let have = record.values.get(&f).cloned().unwrap_or_default();
        let ok = history.acceptable(key, f);
        if !ok.contains(&have) {
            bad.push(format!(
                "record {} ({key}) {f:?} ends as {have:?}, but the users' edits allow only {ok:?}",
                record.id
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::oracle::Side;
    use super::*;

    fn record(id: &str, name: &str, url: &str) -> RecordView {
        let mut values: HashMap<Field, String> =
            FIELDS.iter().map(|f| (*f, String::new())).collect();
        values.insert(Field::Name, name.into());
        values.insert(Field::Status, "New".into());
        RecordView {
            id: id.into(),
            values,
            card_url: url.into(),
            lead_id: String::new(),
        }
    }

    fn card(id: &str, marker: &str, record: &RecordView) -> Card {
        Card {
            view: CardView {
                id: id.into(),
                marker: Some(marker.into()),
                closed: false,
                values: record.values.clone(),
                phone: String::new(),
            },
            url: format!("https://trello.com/c/{id}"),
        }
    }

    fn lead(key: &str, record: &str) -> Lead {
        Lead {
            key: key.into(),
            record: Some(record.into()),
            card: None,
            unnamed: false,
        }
    }

    fn history() -> History {
        let mut h = History::default();
        h.record("k1", Field::Name, Side::Sheet, "Ada", "");
        h.record("k1", Field::Status, Side::Sheet, "New", "");
        h
    }

    #[test]
    fn a_record_with_its_one_card_passes_and_a_second_card_or_record_is_named() {
        let (h, removed) = (history(), Removed::default());
        let r = record("recA", "Ada", "https://trello.com/c/c1");
        let leads = [lead("k1", "recA")];
        let one = [card("c1", "recA", &r)];
        let records = [r.clone()];
        let end = |cards| End {
            history: &h,
            removed: &removed,
            leads: &leads,
            records: &records,
            cards,
        };
        assert_eq!(check(&end(&one)), Vec::<String>::new());
        let two = [card("c1", "recA", &r), card("c2", "recA", &r)];
        let bad = check(&end(&two));
        assert!(bad.iter().any(|b| b.contains("has open cards")), "{bad:?}");
        // A record nobody made, pointing at the same card: a duplicate record.
        let records = [r.clone(), record("recB", "Ada", "https://trello.com/c/c1")];
        let end = End {
            records: &records,
            ..end(&one)
        };
        let bad = check(&end);
        assert!(bad.iter().any(|b| b.contains("made by no user")), "{bad:?}");
        assert!(bad.iter().any(|b| b.contains("both point at")), "{bad:?}");
    }

    #[test]
    fn a_reverted_edit_and_a_deleted_record_with_an_open_card_are_named() {
        let (mut h, mut removed) = (history(), Removed::default());
        let r = record("recA", "Ada", "https://trello.com/c/c1");
        h.record("k1", Field::Name, Side::Trello, "Ada L", "Ada");
        let (leads, cards) = ([lead("k1", "recA")], [card("c1", "recA", &r)]);
        let records = [r.clone()];
        let bad = check(&End {
            history: &h,
            removed: &removed,
            leads: &leads,
            records: &records,
            cards: &cards,
        });
        assert!(bad.iter().any(|b| b.contains("ends as \"Ada\"")), "{bad:?}");
        removed.records_deleted.insert("k1".into());
        let bad = check(&End {
            history: &h,
            removed: &removed,
            leads: &leads,
            records: &[],
            cards: &cards,
        });
        assert!(
            bad.iter().any(|b| b.contains("one archived is due")),
            "{bad:?}"
        );
    }
}
