//! The record trackers' chaos driver (Airtable's, and Notion's: `Tracker`): from a seed, plays a
//! random history of user edits on a record table and a board, API faults on both, disturbed
//! notifications and deliveries, restarts and reconciliations. Each action is one small method;
//! add one by adding a method and a weight.

use std::time::Duration;

use leadsync::connectors::trello::sandbox::SandboxCard;
use leadsync::demo::world::World;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::super::common::{self, PAIR};
use super::super::oracle::History;
use super::oracle::Removed;
use super::tracker::Tracker;

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

/// Notion's: Airtable's (whose seeds keep their histories), and pages restored from the trash
/// and events aggregated.
const NOTION_ACTIONS: [(Action, u32); 20] = [
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
    (Action::DeleteRecord, 3),
    (Action::Burst, 4),
    (Action::RestoreRecord, 3),
    (Action::Aggregate, 2),
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
    RestoreRecord,
    Aggregate,
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
    pub tracker: Tracker,
    pub history: History,
    pub log: Vec<String>,
    pub(super) rng: StdRng,
    pub(super) made: u32,
    pub leads: Vec<Lead>,
    /// Leads a user archived, deleted the card of, or deleted the record of.
    pub removed: Removed,
}

impl Driver {
    pub fn new(w: World, seed: u64, tracker: Tracker) -> Self {
        Self {
            w,
            tracker,
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
            let actions: &[(Action, u32)] = match self.tracker {
                Tracker::Airtable => &ACTIONS,
                Tracker::Notion => &NOTION_ACTIONS,
            };
            let action = common::pick(&mut self.rng, actions, Action::Pause);
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
                let name = self.tracker.name();
                self.note(format!("{name} notifications held: {hold}"));
                self.tracker.hold(&self.w, hold);
                Ok(())
            }
            Action::DropAirtable => {
                let drop = self.rng.random_bool(0.4);
                let name = self.tracker.name();
                self.note(format!("{name} notifications dropped: {drop}"));
                self.tracker.drop_notes(&self.w, drop);
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
            Action::RestoreRecord => self.restore_record(),
            Action::Aggregate => {
                self.aggregate();
                Ok(())
            }
        }
    }

    pub fn note(&mut self, line: String) {
        self.log.push(line);
    }

    /// A live record's field as plain text, as the API answers it (empty: "").
    pub fn record_text(&self, record: &str, field: &str) -> String {
        self.tracker.text(&self.w, record, field)
    }

    /// Learns the record of each card a user made, once leadsync marked the card with it.
    pub fn resolve(&mut self) {
        let cards = self.w.cards(PAIR);
        let records = self.tracker.ids(&self.w);
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
        let name = self.tracker.name();
        self.note(format!(
            "faults: trello {t}, {name} {a}, unknown outcomes {unknown}"
        ));
        self.w.trello.gate().set_faults(common::faults(t, unknown));
        (self.tracker.gate(&self.w)).set_faults(common::faults(a, unknown));
    }

    /// Held deliveries and notifications go out shuffled: some twice, some never.
    fn release(&mut self) {
        let dropped = common::release_trello(&mut self.rng, &self.w);
        let (n, lost) = self.tracker.release(&self.w, &mut self.rng);
        let name = self.tracker.name();
        self.note(format!(
            "release: trello dropped {dropped}; {name} {n} held, {lost} never sent"
        ));
    }

    /// Notion sends a page's property updates within a window as one event (or stops).
    fn aggregate(&mut self) {
        let window = self.rng.random_range(0..800u64);
        self.note(format!("notion events aggregated over {window} ms"));
        let nt = self.w.notion.as_ref().expect("a Notion world");
        nt.aggregate_events((window > 0).then(|| Duration::from_millis(window)));
    }
}

/// The lead id a card's description ends with.
pub fn marker(card: &SandboxCard) -> Option<String> {
    leadsync::sync::mapping::split_description(&card.desc)
        .1
        .map(|m| m.to_string())
}
