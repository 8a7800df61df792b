//! The users' removals the Airtable chaos driver makes: a card archived, a card deleted, a
//! record deleted. As in the Sheets chaos, each is made only while the lead's two sides agree
//! (the user removes what they see in sync), so what the end may hold stays simple to state.

use leadsync::connectors::trello::sandbox::UserCardChange;
use rand::Rng;

use super::super::common;
use super::super::oracle::{Field, Side};
use super::super::removals::ARCHIVED_STATUS;
use super::driver::{Driver, Lead};
use super::edits::FIELDS;

impl Driver {
    /// A random live lead whose record and open card agree on every field.
    fn pick_agreeing(
        &mut self,
    ) -> Option<(Lead, leadsync::connectors::trello::sandbox::SandboxCard)> {
        let agreeing: Vec<_> = (self.live().into_iter())
            .filter_map(|lead| {
                let card = self.card_of(&lead)?;
                let record = lead.record.clone()?;
                FIELDS
                    .iter()
                    .all(|f| {
                        common::card_value(&self.w, &card, *f)
                            == self.record_text(&record, f.header())
                    })
                    .then_some((lead, card))
            })
            .collect();
        (!agreeing.is_empty()).then(|| agreeing[self.rng.random_range(0..agreeing.len())].clone())
    }

    /// A user archives a card: its record's status is to become the archived status.
    pub(super) fn archive_card(&mut self) -> anyhow::Result<()> {
        let Some((lead, card)) = self.pick_agreeing() else {
            return Ok(());
        };
        let saw = common::card_value(&self.w, &card, Field::Status);
        self.note(format!("archive card {} ({}), in {saw}", card.id, lead.key));
        let change = UserCardChange {
            closed: Some(true),
            ..UserCardChange::default()
        };
        (self.w.trello)
            .user_update_card(&card.id, &change)
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        self.history.record(
            &lead.key,
            Field::Status,
            Side::Trello,
            ARCHIVED_STATUS,
            &saw,
        );
        self.removed.archived.insert(lead.key);
        Ok(())
    }

    /// A user deletes a card: the record keeps its data and loses its card URL.
    pub(super) fn delete_card(&mut self) -> anyhow::Result<()> {
        let Some((lead, card)) = self.pick_agreeing() else {
            return Ok(());
        };
        self.note(format!("delete card {} ({})", card.id, lead.key));
        (self.w.trello)
            .user_delete_card(&card.id)
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        self.removed.card_deleted_then_status.remove(&lead.key);
        self.removed.card_deleted.insert(lead.key);
        Ok(())
    }

    /// A user deletes a record: its card is to be archived (`on_row_deleted = archive_card`).
    pub(super) fn delete_record(&mut self) -> anyhow::Result<()> {
        let Some((lead, card)) = self.pick_agreeing() else {
            return Ok(());
        };
        let record = lead.record.clone().unwrap_or_default();
        self.note(format!(
            "delete record {record} ({}), card {}",
            lead.key, card.id
        ));
        self.tracker.delete(&self.w, &record)?;
        self.removed.records_deleted.insert(lead.key);
        Ok(())
    }

    /// A user restores a page from Notion's trash: its own card is to be unarchived (no second
    /// card), and the lead is live again.
    pub(super) fn restore_record(&mut self) -> anyhow::Result<()> {
        let mut deleted: Vec<String> = self.removed.records_deleted.iter().cloned().collect();
        if deleted.is_empty() {
            return Ok(());
        }
        deleted.sort();
        let key = deleted.swap_remove(self.rng.random_range(0..deleted.len()));
        let lead = self.leads.iter().find(|l| l.key == key).cloned();
        let Some(record) = lead.and_then(|l| l.record) else {
            return Ok(());
        };
        self.note(format!("restore record {record} ({key}) from the trash"));
        self.tracker.restore(&self.w, &record)?;
        self.removed.records_deleted.remove(&key);
        Ok(())
    }
}
