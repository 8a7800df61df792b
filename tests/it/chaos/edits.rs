//! The users' edits the chaos driver makes: new rows, cell edits, card edits, both sides at
//! once, and cards made in Trello. Each records what the user typed and saw in the history.

use leadsync::connectors::trello::sandbox::SandboxCard;
use leadsync::demo::world::{HEADER, SHEET};
use rand::Rng;

use super::common;
use super::driver::{Driver, PAIR, PHONE, col};
use super::oracle::{Field, Side};

impl Driver {
    pub(super) async fn new_row(&mut self) -> anyhow::Result<()> {
        self.made += 1;
        let key = format!("+1-{}-{}", self.seed, self.made);
        let id = if self.rng.random_bool(0.2) {
            format!("U{}n{}", self.seed, self.made)
        } else {
            String::new()
        };
        let mut cells = vec![String::new(); HEADER.len()];
        cells[0] = id;
        cells[PHONE] = key.clone();
        for f in Field::ALL {
            let v = if f == Field::Name || f == Field::Status || self.rng.random_bool(0.5) {
                self.value_for(f)
            } else {
                String::new()
            };
            cells[col(f)] = v.clone();
            self.history.record(&key, f, Side::Sheet, &v, "");
        }
        let rows = self.w.rows(PAIR).len() as u32;
        let insert = rows > 1 && self.rng.random_bool(0.3);
        let refs: Vec<&str> = cells.iter().map(String::as_str).collect();
        let err = |e| anyhow::anyhow!("{e:?}");
        // Found and typed at once: leadsync may append or write rows meanwhile.
        let row = if insert {
            let at = self.rng.random_range(2..=rows + 1);
            self.google_insert(at)?;
            self.sheet_event("change", &[]).await?;
            let ss = self.spreadsheet();
            self.w
                .google
                .set_rows(&ss, SHEET, at, &[refs.as_slice()])
                .map_err(err)?;
            at
        } else {
            let ss = self.spreadsheet();
            self.w
                .google
                .append_typed_row(&ss, SHEET, &refs)
                .map_err(err)?
        };
        self.note(format!("new row {row}: {cells:?}"));
        self.sheet_event("edit", &[row]).await
    }

    pub(super) fn spreadsheet(&self) -> String {
        self.w.pair(PAIR).spreadsheet_id.clone()
    }

    pub(super) fn google_insert(&self, at: u32) -> anyhow::Result<()> {
        self.w
            .google
            .insert_row(&self.spreadsheet(), SHEET, at)
            .map_err(|e| anyhow::anyhow!("{e:?}"))
    }

    /// A random lead row with a phone: (1-based row, key).
    pub(super) fn pick_row(&mut self) -> Option<(u32, String)> {
        let rows: Vec<(u32, String)> = self
            .w
            .rows(PAIR)
            .iter()
            .enumerate()
            .filter(|(_, r)| !r[PHONE].is_empty() && !r[1].is_empty())
            .map(|(i, r)| (i as u32 + 2, r[PHONE].clone()))
            .collect();
        (!rows.is_empty()).then(|| rows[self.rng.random_range(0..rows.len())].clone())
    }

    /// Types a new value into one cell of a random lead row; returns the key and field.
    pub(super) async fn sheet_edit(
        &mut self,
        only: Option<(String, Field)>,
    ) -> anyhow::Result<Option<()>> {
        let (row, key, field) = match only {
            Some((key, field)) => match self.row_of(&key) {
                Some(row) => (row, key, field),
                None => return Ok(None),
            },
            None => match self.pick_row() {
                Some((row, key)) => {
                    let f = Field::ALL[self.rng.random_range(0..Field::ALL.len())];
                    (row, key, f)
                }
                None => return Ok(None),
            },
        };
        let saw = self.w.rows(PAIR)[row as usize - 2][col(field)].clone();
        let value = self.value_for(field);
        self.note(format!(
            "sheet: row {row} ({key}) {field:?} {saw:?} -> {value:?}"
        ));
        // The row is found by its phone and typed into at once, as a user edits the row they
        // see while leadsync appends or writes rows.
        let ss = self.spreadsheet();
        let key_col = (PHONE as u32 + 1, key.as_str());
        let typed = self
            .w
            .google
            .set_cell_by_key(&ss, SHEET, key_col, col(field) as u32 + 1, &value)
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        let Some(row) = typed else {
            return Ok(None);
        };
        self.history.record(&key, field, Side::Sheet, &value, &saw);
        if field == Field::Status {
            // A status changed in the sheet gives a row whose card was deleted a new card,
            // and brings an archived card back (unless it is the archived status).
            if self.removed.card_deleted.remove(&key) {
                self.removed.card_deleted_then_status.insert(key.clone());
            }
        }
        self.sheet_edit_event(&[row], col(field)).await?;
        Ok(Some(()))
    }

    pub(super) fn row_of(&self, key: &str) -> Option<u32> {
        self.w
            .rows(PAIR)
            .iter()
            .position(|r| r[PHONE] == key)
            .map(|i| i as u32 + 2)
    }

    /// The open card of a lead key (by its phone field).
    pub(super) fn card_of(&self, key: &str) -> Option<SandboxCard> {
        let phone = self.w.field_id(PAIR, "Phone");
        self.w
            .cards(PAIR)
            .into_iter()
            .find(|c| !c.closed && c.custom_texts.get(&phone).map(String::as_str) == Some(key))
    }

    /// A user edits one field of a random lead's card in the browser.
    pub(super) fn card_edit(
        &mut self,
        only: Option<(String, Field)>,
    ) -> anyhow::Result<Option<()>> {
        let (key, field) = match only {
            Some(k) => k,
            None => match self.pick_row() {
                Some((_, key)) => (key, Field::ALL[self.rng.random_range(0..Field::ALL.len())]),
                None => return Ok(None),
            },
        };
        let Some(card) = self.card_of(&key) else {
            return Ok(None);
        };
        let value = self.value_for(field);
        let saw = self.card_value(&card, field);
        self.note(format!(
            "card {} ({key}) {field:?} {saw:?} -> {value:?}",
            card.id
        ));
        common::edit_card(&self.w, &card, field, &value)?;
        self.history.record(&key, field, Side::Trello, &value, &saw);
        Ok(Some(()))
    }

    /// What a card shows for a field, as its user sees it.
    pub(super) fn card_value(&self, card: &SandboxCard, field: Field) -> String {
        common::card_value(&self.w, card, field)
    }

    /// The same field of one lead edited on both sides at once.
    pub(super) async fn concurrent(&mut self) -> anyhow::Result<()> {
        let Some((_, key)) = self.pick_row() else {
            return Ok(());
        };
        let field = [Field::Name, Field::Status, Field::Notes][self.rng.random_range(0..3)];
        self.note(format!("concurrent edits of {key} {field:?}"));
        self.card_edit(Some((key.clone(), field)))?;
        self.sheet_edit(Some((key, field))).await.map(drop)
    }

    /// A user makes a card in a mapped list and types its phone: it must become one row.
    pub(super) fn user_card(&mut self) -> anyhow::Result<()> {
        self.made += 1;
        let key = format!("+1-{}-{}", self.seed, self.made);
        let name = format!("Card {}", self.word());
        let status = self.status();
        let err = |e| anyhow::anyhow!("{e:?}");
        let list = self.w.list_id(PAIR, &status);
        let id = self
            .w
            .trello
            .user_create_card(&list, &name, "")
            .map_err(err)?;
        let phone = self.w.field_id(PAIR, "Phone");
        self.w
            .trello
            .user_set_custom_field(&id, &phone, &key)
            .map_err(err)?;
        self.note(format!("user card {id} ({key}) {name:?} in {status}"));
        self.history
            .record(&key, Field::Name, Side::Trello, &name, "");
        self.history
            .record(&key, Field::Status, Side::Trello, &status, "");
        Ok(())
    }
}
