//! The users' edits the Airtable chaos driver makes: records made (sometimes nameless, the name
//! typed later), record and card edits, both sides at once, and cards made in Trello. Each
//! records what the user typed and saw in the history (the tracker side is `Side::Sheet`).

use rand::Rng;

use super::super::common::{self, PAIR};
use super::super::oracle::{Field, Side};
use super::driver::{Driver, Lead};

/// The fields of an Airtable lead users edit: all of them.
pub const FIELDS: [Field; 6] = [
    Field::Name,
    Field::Email,
    Field::Phone,
    Field::Company,
    Field::Status,
    Field::Notes,
];

impl Driver {
    fn value_for(&mut self, field: Field) -> String {
        let w = common::word(&mut self.rng);
        match field {
            Field::Status => common::status(&mut self.rng),
            Field::Name => format!("Lead {w}"),
            Field::Email => format!("{w}@example.com"),
            Field::Phone => format!("+1 555 {}", self.rng.random_range(1000..10000)),
            _ => w,
        }
    }

    fn new_key(&mut self) -> String {
        self.made += 1;
        format!("k{}", self.made)
    }

    /// A user makes a record in the browser; a fifth of them without a name at first.
    pub(super) fn new_record(&mut self) -> anyhow::Result<()> {
        let key = self.new_key();
        let unnamed = self.rng.random_bool(0.2);
        let mut cells: Vec<(Field, String)> = Vec::new();
        for f in FIELDS {
            let v = match f {
                Field::Name if unnamed => String::new(),
                Field::Name | Field::Status => self.value_for(f),
                _ if self.rng.random_bool(0.5) => self.value_for(f),
                _ => String::new(),
            };
            cells.push((f, v));
        }
        let values: Vec<(&str, &str)> = (cells.iter())
            .filter(|(_, v)| !v.is_empty())
            .map(|(f, v)| (f.header(), v.as_str()))
            .collect();
        let record = self.tracker.create(&self.w, &values)?;
        for (f, v) in &cells {
            self.history.record(&key, *f, Side::Sheet, v, "");
        }
        self.note(format!("new record {record} ({key}): {values:?}"));
        self.leads.push(Lead {
            key,
            record: Some(record),
            card: None,
            unnamed,
        });
        Ok(())
    }

    /// A name typed into a record made without one: it becomes a lead now.
    pub(super) fn name_later(&mut self) -> anyhow::Result<()> {
        let nameless: Vec<usize> = (self.leads.iter().enumerate())
            .filter(|(_, l)| l.unnamed && !self.removed.records_deleted.contains(&l.key))
            .map(|(i, _)| i)
            .collect();
        if nameless.is_empty() {
            return Ok(());
        }
        let i = nameless[self.rng.random_range(0..nameless.len())];
        self.leads[i].unnamed = false;
        let lead = self.leads[i].clone();
        self.type_into(&lead, Field::Name).map(drop)
    }

    /// Types a new value into one field of a record (cleared, now and then, but a name or a
    /// status); answers the value.
    fn type_into(&mut self, lead: &Lead, field: Field) -> anyhow::Result<String> {
        let record = lead.record.clone().unwrap_or_default();
        let clear = !matches!(field, Field::Name | Field::Status) && self.rng.random_bool(0.15);
        let value = if clear {
            String::new()
        } else {
            self.value_for(field)
        };
        let saw = self.record_text(&record, field.header());
        self.note(format!(
            "record {record} ({}) {field:?} {saw:?} -> {value:?}",
            lead.key
        ));
        (self.tracker).update(&self.w, &record, field.header(), &value)?;
        self.history
            .record(&lead.key, field, Side::Sheet, &value, &saw);
        // A status changed in the table gives a record whose card was deleted a new card.
        if field == Field::Status && self.removed.card_deleted.remove(&lead.key) {
            self.removed
                .card_deleted_then_status
                .insert(lead.key.clone());
        }
        Ok(value)
    }

    /// A user edits one field of a random lead's record.
    pub(super) fn record_edit(&mut self, only: Option<(Lead, Field)>) -> anyhow::Result<()> {
        let (lead, field) = match only {
            Some(it) => it,
            None => match self.pick_live() {
                Some(lead) => (lead, FIELDS[self.rng.random_range(0..FIELDS.len())]),
                None => return Ok(()),
            },
        };
        self.type_into(&lead, field).map(drop)
    }

    /// A user edits one field of a random lead's card in the browser.
    pub(super) fn card_edit(&mut self, only: Option<(Lead, Field)>) -> anyhow::Result<()> {
        let (lead, field) = match only {
            Some(it) => it,
            None => match self.pick_live() {
                Some(lead) => (lead, FIELDS[self.rng.random_range(0..FIELDS.len())]),
                None => return Ok(()),
            },
        };
        let Some(card) = self.card_of(&lead) else {
            return Ok(());
        };
        let value = self.value_for(field);
        let saw = common::card_value(&self.w, &card, field);
        self.note(format!(
            "card {} ({}) {field:?} {saw:?} -> {value:?}",
            card.id, lead.key
        ));
        common::edit_card(&self.w, &card, field, &value)?;
        self.history
            .record(&lead.key, field, Side::Trello, &value, &saw);
        Ok(())
    }

    /// The same field of one lead edited on both sides at once.
    pub(super) fn concurrent(&mut self) -> anyhow::Result<()> {
        let Some(lead) = self.pick_live() else {
            return Ok(());
        };
        let field = [Field::Name, Field::Status, Field::Notes][self.rng.random_range(0..3)];
        self.note(format!("concurrent edits of {} {field:?}", lead.key));
        self.card_edit(Some((lead.clone(), field)))?;
        self.record_edit(Some((lead, field)))
    }

    /// A user makes a card in a mapped list (and types a phone, now and then): it must become
    /// one record, whose id the card is then marked with.
    pub(super) fn user_card(&mut self) -> anyhow::Result<()> {
        let key = self.new_key();
        let name = format!("Card {}", common::word(&mut self.rng));
        let status = common::status(&mut self.rng);
        let err = |e| anyhow::anyhow!("{e:?}");
        let list = self.w.list_id(PAIR, &status);
        let id = (self.w.trello)
            .user_create_card(&list, &name, "")
            .map_err(err)?;
        self.history
            .record(&key, Field::Name, Side::Trello, &name, "");
        self.history
            .record(&key, Field::Status, Side::Trello, &status, "");
        if self.rng.random_bool(0.5) {
            let phone = self.value_for(Field::Phone);
            let fid = self.w.field_id(PAIR, "Phone");
            (self.w.trello)
                .user_set_custom_field(&id, &fid, &phone)
                .map_err(err)?;
            self.history
                .record(&key, Field::Phone, Side::Trello, &phone, "");
        }
        self.note(format!("user card {id} ({key}) {name:?} in {status}"));
        self.leads.push(Lead {
            key,
            record: None,
            card: Some(id),
            unnamed: false,
        });
        Ok(())
    }
}
