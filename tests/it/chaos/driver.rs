//! The chaos driver: from a seed, plays a random history of user edits on both sides, API
//! faults, disturbed webhook deliveries, restarts and reconciliations against the sandbox
//! world. Each action is one small method; add one by adding a method and a weight.

use std::time::Duration;

use leadsync::demo::ops::SheetEventDelivery;
use leadsync::demo::world::{HEADER, LISTS, SHEET, World};
use leadsync::sandbox::common::Faults;
use leadsync::sandbox::trello::{SandboxCard, UserCardChange};
use leadsync::sync::mapping::{compose_description, split_description};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use super::oracle::{Field, History, Side};

pub const PAIR: &str = "default";
const PHONE: usize = 3;

/// The actions and their weights: how often each is drawn.
const ACTIONS: [(Action, u32); 14] = [
    (Action::NewRow, 12),
    (Action::SheetEdit, 18),
    (Action::CardEdit, 18),
    (Action::Concurrent, 5),
    (Action::UserCard, 4),
    (Action::Sort, 3),
    (Action::InsertBlank, 3),
    (Action::Faults, 6),
    (Action::HoldTrello, 4),
    (Action::HoldSheets, 4),
    (Action::Release, 6),
    (Action::Restart, 2),
    (Action::Reconcile, 5),
    (Action::Pause, 3),
];

#[derive(Clone, Copy, Debug)]
enum Action {
    NewRow,
    SheetEdit,
    CardEdit,
    Concurrent,
    UserCard,
    Sort,
    InsertBlank,
    Faults,
    HoldTrello,
    HoldSheets,
    Release,
    Restart,
    Reconcile,
    Pause,
}

pub struct Driver {
    pub w: World,
    pub history: History,
    pub log: Vec<String>,
    rng: StdRng,
    seed: u64,
    made: u32,
    hold_sheets: bool,
    /// Apps Script events not delivered yet: held back, or refused (the script resends them).
    pub unsent: Vec<SheetEventDelivery>,
    /// Ids of Apps Script events the daemon answered 2xx.
    pub acked: Vec<String>,
}

impl Driver {
    pub fn new(w: World, seed: u64) -> Self {
        Self {
            w,
            history: History::default(),
            log: Vec::new(),
            rng: StdRng::seed_from_u64(seed),
            seed,
            made: 0,
            hold_sheets: false,
            unsent: Vec::new(),
            acked: Vec::new(),
        }
    }

    /// Plays `steps` random actions with short random gaps.
    pub async fn play(&mut self, steps: usize) -> anyhow::Result<()> {
        let total: u32 = ACTIONS.iter().map(|(_, w)| w).sum();
        for _ in 0..steps {
            let mut pick = self.rng.random_range(0..total);
            let action = ACTIONS
                .iter()
                .find(|(_, w)| {
                    let hit = pick < *w;
                    pick = pick.saturating_sub(*w);
                    hit
                })
                .map_or(Action::Pause, |(a, _)| *a);
            self.act(action).await?;
            let gap = self.rng.random_range(0..150);
            tokio::time::sleep(Duration::from_millis(gap)).await;
        }
        Ok(())
    }

    async fn act(&mut self, action: Action) -> anyhow::Result<()> {
        match action {
            Action::NewRow => self.new_row().await,
            Action::SheetEdit => self.sheet_edit(None).await.map(drop),
            Action::CardEdit => self.card_edit(None).map(drop),
            Action::Concurrent => self.concurrent().await,
            Action::UserCard => self.user_card(),
            Action::Sort => self.sort().await,
            Action::InsertBlank => self.insert_blank().await,
            Action::Faults => {
                self.faults();
                Ok(())
            }
            Action::HoldTrello => {
                let hold = self.rng.random_bool(0.5);
                self.note(format!("trello deliveries held: {hold}"));
                self.w.trello.hold_deliveries(hold);
                Ok(())
            }
            Action::HoldSheets => {
                self.hold_sheets = self.rng.random_bool(0.5);
                self.note(format!("sheet events held: {}", self.hold_sheets));
                Ok(())
            }
            Action::Release => self.release().await,
            Action::Restart => {
                self.note("restart the daemon".into());
                self.w.stop_app().await?;
                self.start().await
            }
            Action::Reconcile => {
                self.note("reconcile".into());
                if let Some(engine) = self.w.state().and_then(|s| s.engine.as_ref()) {
                    engine.request_reconcile(None);
                }
                Ok(())
            }
            Action::Pause => {
                let ms = self.rng.random_range(200..1500);
                self.note(format!("pause {ms} ms"));
                tokio::time::sleep(Duration::from_millis(ms)).await;
                Ok(())
            }
        }
    }

    /// Starts the daemon as a supervisor would: it resolves its pair against the APIs at
    /// start-up, which may fail while they inject faults, so it is started again (bounded).
    async fn start(&mut self) -> anyhow::Result<()> {
        let mut last = None;
        for _ in 0..20 {
            match self.w.start_app().await {
                Ok(()) => return Ok(()),
                Err(e) => {
                    self.note(format!("start failed: {e:#}"));
                    last = Some(e);
                }
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        Err(last.unwrap_or_else(|| anyhow::anyhow!("the daemon did not start")))
    }

    pub fn note(&mut self, line: String) {
        self.log.push(line);
    }

    fn word(&mut self) -> String {
        const WORDS: [&str; 8] = ["ada", "bob", "cy", "dee", "eve", "fay", "gus", "hal"];
        let w = WORDS[self.rng.random_range(0..WORDS.len())];
        format!("{w}{}", self.rng.random_range(0..1000))
    }

    fn status(&mut self) -> String {
        LISTS[self.rng.random_range(0..LISTS.len())].to_owned()
    }

    fn value_for(&mut self, field: Field) -> String {
        match field {
            Field::Status => self.status(),
            Field::Name => format!("Lead {}", self.word()),
            Field::Email => format!("{}@example.com", self.word()),
            _ => self.word(),
        }
    }

    /// Sends (or holds) the event the Apps Script makes for these rows now.
    pub async fn sheet_event(&mut self, kind: &str, rows: &[u32]) -> anyhow::Result<()> {
        let event = self.w.sheet_event(PAIR, kind, rows);
        if self.hold_sheets {
            self.unsent.push(event);
            return Ok(());
        }
        self.deliver_sheet_event(event).await;
        Ok(())
    }

    /// Posts an event; one that is refused or unanswered waits for the script's resend.
    pub async fn deliver_sheet_event(&mut self, event: SheetEventDelivery) -> bool {
        let ok = self
            .w
            .post_sheet_event(&event)
            .await
            .is_ok_and(|s| s.is_success());
        if ok {
            self.acked.push(event.id);
        } else {
            self.unsent.push(event);
        }
        ok
    }

    async fn new_row(&mut self) -> anyhow::Result<()> {
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
        let row = if insert {
            let at = self.rng.random_range(2..=rows + 1);
            self.google_insert(at)?;
            self.sheet_event("change", &[]).await?;
            at
        } else {
            rows + 2
        };
        self.note(format!("new row {row}: {cells:?}"));
        let refs: Vec<&str> = cells.iter().map(String::as_str).collect();
        self.w
            .google
            .set_rows(&self.spreadsheet(), SHEET, row, &[refs.as_slice()])
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        self.sheet_event("edit", &[row]).await
    }

    fn spreadsheet(&self) -> String {
        self.w.pair(PAIR).spreadsheet_id.clone()
    }

    fn google_insert(&self, at: u32) -> anyhow::Result<()> {
        self.w
            .google
            .insert_row(&self.spreadsheet(), SHEET, at)
            .map_err(|e| anyhow::anyhow!("{e:?}"))
    }

    /// A random lead row with a phone: (1-based row, key).
    fn pick_row(&mut self) -> Option<(u32, String)> {
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
    async fn sheet_edit(&mut self, only: Option<(String, Field)>) -> anyhow::Result<Option<()>> {
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
        self.w
            .google
            .set_cell(
                &self.spreadsheet(),
                SHEET,
                row,
                col(field) as u32 + 1,
                &value,
            )
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        self.history.record(&key, field, Side::Sheet, &value, &saw);
        self.sheet_event("edit", &[row]).await?;
        Ok(Some(()))
    }

    fn row_of(&self, key: &str) -> Option<u32> {
        self.w
            .rows(PAIR)
            .iter()
            .position(|r| r[PHONE] == key)
            .map(|i| i as u32 + 2)
    }

    /// The open card of a lead key (by its phone field).
    fn card_of(&self, key: &str) -> Option<SandboxCard> {
        let phone = self.w.field_id(PAIR, "Phone");
        self.w
            .cards(PAIR)
            .into_iter()
            .find(|c| !c.closed && c.custom_texts.get(&phone).map(String::as_str) == Some(key))
    }

    /// A user edits one field of a random lead's card in the browser.
    fn card_edit(&mut self, only: Option<(String, Field)>) -> anyhow::Result<Option<()>> {
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
        let (notes, marker) = split_description(&card.desc);
        let saw = match field {
            Field::Name => card.name.clone(),
            Field::Status => self.w.list_name(PAIR, &card.id_list),
            Field::Notes => notes,
            Field::Email | Field::Company => self.card_text(&card, field.header()),
        };
        self.note(format!(
            "card {} ({key}) {field:?} {saw:?} -> {value:?}",
            card.id
        ));
        let err = |e| anyhow::anyhow!("{e:?}");
        let mut change = UserCardChange::default();
        match field {
            Field::Name => change.name = Some(value.clone()),
            Field::Status => change.id_list = Some(self.w.list_id(PAIR, &value)),
            Field::Notes => {
                change.desc = Some(match &marker {
                    Some(id) => compose_description(&value, id),
                    None => value.clone(),
                })
            }
            Field::Email | Field::Company => {
                let fid = self.w.field_id(PAIR, field.header());
                self.w
                    .trello
                    .user_set_custom_field(&card.id, &fid, &value)
                    .map_err(err)?;
            }
        }
        if field != Field::Email && field != Field::Company {
            self.w
                .trello
                .user_update_card(&card.id, &change)
                .map_err(err)?;
        }
        self.history.record(&key, field, Side::Trello, &value, &saw);
        Ok(Some(()))
    }

    fn card_text(&self, card: &SandboxCard, field: &str) -> String {
        let id = self.w.field_id(PAIR, field);
        card.custom_texts.get(&id).cloned().unwrap_or_default()
    }

    /// The same field of one lead edited on both sides at once.
    async fn concurrent(&mut self) -> anyhow::Result<()> {
        let Some((_, key)) = self.pick_row() else {
            return Ok(());
        };
        let field = [Field::Name, Field::Status, Field::Notes][self.rng.random_range(0..3)];
        self.note(format!("concurrent edits of {key} {field:?}"));
        self.card_edit(Some((key.clone(), field)))?;
        self.sheet_edit(Some((key, field))).await.map(drop)
    }

    /// A user makes a card in a mapped list and types its phone: it must become one row.
    fn user_card(&mut self) -> anyhow::Result<()> {
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

    async fn sort(&mut self) -> anyhow::Result<()> {
        let by = [col(Field::Name), col(Field::Status), PHONE][self.rng.random_range(0..3)];
        let asc = self.rng.random_bool(0.5);
        self.note(format!("sort rows by column {} ascending {asc}", by + 1));
        self.w
            .google
            .sort_rows(&self.spreadsheet(), SHEET, 2, by as u32 + 1, asc)
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        self.sheet_event("change", &[]).await
    }

    async fn insert_blank(&mut self) -> anyhow::Result<()> {
        let rows = self.w.rows(PAIR).len() as u32;
        if rows == 0 {
            return Ok(());
        }
        let at = self.rng.random_range(2..=rows + 1);
        self.note(format!("insert a blank row at {at}"));
        self.google_insert(at)?;
        self.sheet_event("change", &[]).await
    }

    fn faults(&mut self) {
        let mut rate = || f64::from(self.rng.random_range(0..=4u8)) / 10.0;
        let (t, s) = (rate(), rate());
        let unknown = self.rng.random_bool(0.5);
        self.note(format!(
            "faults: trello {t}, sheets {s}, unknown outcomes {unknown}"
        ));
        let faults = |r: f64| Faults {
            error_rate: r,
            status_429_share: 0.3,
            reset_rate: r / 4.0,
            hang_rate: r / 10.0,
            hang_for: Duration::from_millis(300),
            after_handler: unknown,
            ..Faults::default()
        };
        self.w.trello.gate().set_faults(faults(t));
        self.w.google.gate().set_faults(faults(s));
    }

    /// Held deliveries go out shuffled: some twice, some never (Trello gives up on them).
    async fn release(&mut self) -> anyhow::Result<()> {
        let mut held = self.w.trello.take_held_deliveries();
        held.shuffle(&mut self.rng);
        let mut dropped = 0;
        for d in held {
            match self.rng.random_range(0..10) {
                0 | 1 => dropped += 1,
                2 => {
                    self.w.trello.redeliver(d.clone());
                    self.w.trello.redeliver(d);
                }
                _ => self.w.trello.redeliver(d),
            }
        }
        let mut events = std::mem::take(&mut self.unsent);
        events.shuffle(&mut self.rng);
        self.note(format!(
            "release: trello dropped {dropped}; {} sheet events",
            events.len()
        ));
        for e in events {
            if self.rng.random_bool(0.15) {
                self.deliver_sheet_event(e.clone()).await;
            }
            self.deliver_sheet_event(e).await;
        }
        Ok(())
    }
}

/// The 0-based column of a field in the world's header.
pub fn col(field: Field) -> usize {
    HEADER
        .iter()
        .position(|h| *h == field.header())
        .unwrap_or_default()
}
