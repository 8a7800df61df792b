//! The Airtable chaos driver: from a seed, plays a random history of user edits on a record
//! table and a board, API faults on both, disturbed notifications and deliveries, restarts
//! and reconciliations. Each action is one small method; add one by adding a method and a
//! weight.

use std::time::Duration;

use leadsync::connectors::airtable::sandbox::AirtableSandbox;
use leadsync::connectors::trello::sandbox::SandboxCard;
use leadsync::demo::world::World;
use leadsync::demo::world::airtable::TABLE;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::super::common::{self, PAIR};
use super::super::oracle::History;
use super::oracle::Removed;

/// The actions and their weights: how often each is drawn.
const ACTIONS: [(Action, u32); 18] = [
    (Action::NewRecord, 12),
    (Action::NameLater, 4),
    (Action::RecordEdit, 18),
    (Action::CardEdit, 18),
    (Action::Concurrent, 5),
    (Action::UserCard, 4),
    (Action::Faults, 6),
    (Action::HoldTrello, 4),
    (Action::HoldAirtable, 4),
    (Action::DropAirtable, 2),
    (Action::Release, 6),
    (Action::Restart, 2),
    (Action::Reconcile, 5),
    (Action::Pause, 3),
    (Action::ArchiveCard, 2),
    (Action::DeleteCard, 1),
    (Action::DeleteRecord, 2),
    (Action::Burst, 4),
];

#[derive(Clone, Copy, Debug)]
enum Action {
    NewRecord,
    NameLater,
    RecordEdit,
    CardEdit,
    Concurrent,
    UserCard,
    Faults,
    HoldTrello,
    HoldAirtable,
    DropAirtable,
    Release,
    Restart,
    Reconcile,
    Pause,
    ArchiveCard,
    DeleteCard,
    DeleteRecord,
    Burst,
}

/// One lead as its users know it: by the record they made, or by the card they made (whose
/// record leadsync makes; its id becomes the card's marker).
#[derive(Clone, Debug)]
pub struct Lead {
    /// The history's key: stays when every field is edited.
    pub key: String,
    pub record: Option<String>,
    /// The card a user made (leads made in Airtable find their card by its marker).
    pub card: Option<String>,
    /// Made without a name, none typed yet: not a lead for leadsync.
    pub unnamed: bool,
}

pub struct Driver {
    pub w: World,
    pub history: History,
    pub log: Vec<String>,
    pub(super) rng: StdRng,
    pub(super) made: u32,
    pub leads: Vec<Lead>,
    /// Leads a user archived, deleted the card of, or deleted the record of.
    pub removed: Removed,
}

impl Driver {
    pub fn new(w: World, seed: u64) -> Self {
        Self {
            w,
            history: History::default(),
            log: Vec::new(),
            rng: StdRng::seed_from_u64(seed),
            made: 0,
            leads: Vec::new(),
            removed: Removed::default(),
        }
    }

    /// Plays `steps` random actions with short random gaps, and a restart at a random step.
    pub async fn play(&mut self, steps: usize) -> anyhow::Result<()> {
        let restart_at = self.rng.random_range(0..steps.max(1));
        for step in 0..steps {
            let action = common::pick(&mut self.rng, &ACTIONS, Action::Pause);
            self.act(action).await?;
            if step == restart_at {
                self.act(Action::Restart).await?;
            }
            let gap = self.rng.random_range(0..150);
            tokio::time::sleep(Duration::from_millis(gap)).await;
        }
        Ok(())
    }

    async fn act(&mut self, action: Action) -> anyhow::Result<()> {
        self.resolve();
        match action {
            Action::NewRecord => self.new_record(),
            Action::NameLater => self.name_later(),
            Action::RecordEdit => self.record_edit(None).map(drop),
            Action::CardEdit => self.card_edit(None).map(drop),
            Action::Concurrent => self.concurrent(),
            Action::UserCard => self.user_card(),
            Action::Faults => {
                self.faults();
                Ok(())
            }
            Action::HoldTrello => {
                common::hold_trello(&mut self.rng, &self.w, &mut self.log);
                Ok(())
            }
            Action::HoldAirtable => {
                let hold = self.rng.random_bool(0.5);
                self.note(format!("airtable notifications held: {hold}"));
                self.at().hold_notifications(hold);
                Ok(())
            }
            Action::DropAirtable => {
                let drop = self.rng.random_bool(0.4);
                self.note(format!("airtable notifications dropped: {drop}"));
                self.at().drop_notifications(drop);
                Ok(())
            }
            Action::Release => {
                self.release();
                Ok(())
            }
            Action::Restart => common::restart(&mut self.w, &mut self.log).await,
            Action::Reconcile => {
                common::reconcile(&self.w, &mut self.log);
                Ok(())
            }
            Action::Pause => {
                common::pause(&mut self.rng, &mut self.log).await;
                Ok(())
            }
            Action::ArchiveCard => self.archive_card(),
            Action::DeleteCard => self.delete_card(),
            Action::DeleteRecord => self.delete_record(),
            Action::Burst => self.burst(),
        }
    }

    pub fn note(&mut self, line: String) {
        self.log.push(line);
    }

    pub fn at(&self) -> &AirtableSandbox {
        self.w.airtable.as_ref().expect("an Airtable world")
    }

    pub fn base(&self) -> String {
        let table = self.w.pair(PAIR).table.as_ref();
        table.map(|t| t.base_id.clone()).unwrap_or_default()
    }

    /// Each live record's fields by name, as the API answers them (empty cells absent).
    pub fn record_text(&self, record: &str, field: &str) -> String {
        let fields = self.at().record_fields(&self.base(), TABLE, record);
        let value = fields.as_ref().and_then(|f| f.get(field));
        value
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_owned()
    }

    /// Learns the record of each card a user made, once leadsync marked the card with it.
    pub fn resolve(&mut self) {
        let cards = self.w.cards(PAIR);
        let records: Vec<String> = (self.at().records(&self.base(), TABLE).into_iter())
            .map(|r| r.id)
            .collect();
        for lead in self.leads.iter_mut().filter(|l| l.record.is_none()) {
            let card = cards.iter().find(|c| Some(&c.id) == lead.card.as_ref());
            let marker = card.and_then(marker);
            if let Some(m) = marker.filter(|m| records.contains(m)) {
                self.log
                    .push(format!("user card of {} became record {m}", lead.key));
                lead.record = Some(m);
            }
        }
    }

    /// The open card of a lead: the one marked with its record, else the one its user made.
    pub fn card_of(&self, lead: &Lead) -> Option<SandboxCard> {
        let cards = self.w.cards(PAIR).into_iter().filter(|c| !c.closed);
        let mut cards: Vec<SandboxCard> = cards.collect();
        if let Some(rec) = &lead.record
            && let Some(i) = cards.iter().position(|c| marker(c).as_ref() == Some(rec))
        {
            return Some(cards.swap_remove(i));
        }
        let made = lead.card.as_ref()?;
        cards.into_iter().find(|c| &c.id == made)
    }

    /// Leads with a live, named record, not removed by a user: what users go on editing.
    pub fn live(&self) -> Vec<Lead> {
        (self.leads.iter())
            .filter(|l| l.record.is_some() && !l.unnamed)
            .filter(|l| !self.removed.records_deleted.contains(&l.key))
            .cloned()
            .collect()
    }

    pub fn pick_live(&mut self) -> Option<Lead> {
        let live = self.live();
        (!live.is_empty()).then(|| live[self.rng.random_range(0..live.len())].clone())
    }

    /// A few edits on either side with no pause between them: one debounce window, or two.
    fn burst(&mut self) -> anyhow::Result<()> {
        let n = self.rng.random_range(2..6);
        self.note(format!("burst of {n} edits"));
        for _ in 0..n {
            if self.rng.random_bool(0.5) {
                self.record_edit(None)?;
            } else {
                self.card_edit(None)?;
            }
        }
        Ok(())
    }

    fn faults(&mut self) {
        let (t, a) = (common::rate(&mut self.rng), common::rate(&mut self.rng));
        let unknown = self.rng.random_bool(0.5);
        self.note(format!(
            "faults: trello {t}, airtable {a}, unknown outcomes {unknown}"
        ));
        self.w.trello.gate().set_faults(common::faults(t, unknown));
        self.at().gate().set_faults(common::faults(a, unknown));
    }

    /// Held deliveries and notifications go out shuffled: some twice, some never.
    fn release(&mut self) {
        let dropped = common::release_trello(&mut self.rng, &self.w);
        let at = self.w.airtable.as_ref().expect("an Airtable world");
        let held = at.take_held_notifications();
        let n = held.len();
        let lost = common::release_shuffled(&mut self.rng, held, |note| at.renotify(note));
        self.note(format!(
            "release: trello dropped {dropped}; airtable {n} held, {lost} never sent"
        ));
    }
}

/// The lead id a card's description ends with.
pub fn marker(card: &SandboxCard) -> Option<String> {
    leadsync::sync::mapping::split_description(&card.desc)
        .1
        .map(|m| m.to_string())
}
