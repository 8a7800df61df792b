//! The chaos driver: from a seed, plays a random history of user edits on both sides, API
//! faults, disturbed webhook deliveries, restarts and reconciliations against the sandbox
//! world. Each action is one small method; add one by adding a method and a weight.

use std::time::Duration;

use leadsync::demo::ops::SheetEventDelivery;
use leadsync::demo::world::{HEADER, SHEET, World};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use super::common;
pub use super::common::PAIR;
use super::oracle::{Field, History};
use super::removals::Removed;
use super::replicas::Cluster;

pub(super) const PHONE: usize = 3;

/// The actions and their weights: how often each is drawn.
const ACTIONS: [(Action, u32); 17] = [
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
    (Action::ArchiveCard, 2),
    (Action::DeleteCard, 1),
    (Action::DeleteRow, 1),
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
    ArchiveCard,
    DeleteCard,
    DeleteRow,
}

pub struct Driver {
    pub w: World,
    pub history: History,
    pub log: Vec<String>,
    pub(super) rng: StdRng,
    pub(super) seed: u64,
    pub(super) made: u32,
    hold_sheets: bool,
    /// Apps Script events not delivered yet: held back, or refused (the script resends them).
    pub unsent: Vec<SheetEventDelivery>,
    /// Ids of Apps Script events the daemon answered 2xx.
    pub acked: Vec<String>,
    /// Leads a user archived, deleted the card of, or deleted the row of.
    pub removed: Removed,
    /// Several replicas on one database: requests and restarts reach either, drawn from the
    /// seed. `None`: the world's one daemon (and no draw, so its seeds replay as they did).
    pub(super) cluster: Option<Cluster>,
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
            removed: Removed::default(),
            cluster: None,
        }
    }

    pub(super) fn with_cluster(mut self, cluster: Cluster) -> Self {
        self.cluster = Some(cluster);
        self
    }

    /// The replica a request goes to (drawn from the seed), as a load balancer would pick.
    pub(super) fn target(&mut self) -> String {
        match &self.cluster {
            Some(c) => c.base_url(&self.w, self.rng.random_range(0..c.len())),
            None => self.w.base_url(),
        }
    }

    /// The daemon, or one replica drawn from the seed, stopped and started again.
    async fn restart(&mut self) -> anyhow::Result<()> {
        match &mut self.cluster {
            Some(c) => {
                let i = self.rng.random_range(0..c.len());
                c.restart(&mut self.w, i, &mut self.log).await
            }
            None => common::restart(&mut self.w, &mut self.log).await,
        }
    }

    /// A reconciliation asked of the daemon, or of one replica drawn from the seed.
    fn reconcile(&mut self) {
        match &self.cluster {
            Some(c) => {
                let i = self.rng.random_range(0..c.len());
                c.reconcile(&self.w, i, &mut self.log);
            }
            None => common::reconcile(&self.w, &mut self.log),
        }
    }

    /// Plays `steps` random actions with short random gaps.
    pub async fn play(&mut self, steps: usize) -> anyhow::Result<()> {
        for _ in 0..steps {
            let action = common::pick(&mut self.rng, &ACTIONS, Action::Pause);
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
                common::hold_trello(&mut self.rng, &self.w, &mut self.log);
                Ok(())
            }
            Action::HoldSheets => {
                self.hold_sheets = self.rng.random_bool(0.5);
                self.note(format!("sheet events held: {}", self.hold_sheets));
                Ok(())
            }
            Action::Release => self.release().await,
            Action::ArchiveCard => self.archive_card(),
            Action::DeleteCard => self.delete_card(),
            Action::DeleteRow => self.delete_row().await,
            Action::Restart => self.restart().await,
            Action::Reconcile => {
                self.reconcile();
                Ok(())
            }
            Action::Pause => {
                common::pause(&mut self.rng, &mut self.log).await;
                Ok(())
            }
        }
    }

    pub fn note(&mut self, line: String) {
        self.log.push(line);
    }

    pub(super) fn word(&mut self) -> String {
        common::word(&mut self.rng)
    }

    pub(super) fn status(&mut self) -> String {
        common::status(&mut self.rng)
    }

    pub(super) fn value_for(&mut self, field: Field) -> String {
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

    /// As [`Self::sheet_event`] for an edit of one cell per row, named as the script names it.
    pub async fn sheet_edit_event(&mut self, rows: &[u32], col: usize) -> anyhow::Result<()> {
        let event = self.w.sheet_edit_event(PAIR, "edit", rows, &[col]);
        if self.hold_sheets {
            self.unsent.push(event);
            return Ok(());
        }
        self.deliver_sheet_event(event).await;
        Ok(())
    }

    /// Posts an event; one that is refused or unanswered waits for the script's resend.
    pub async fn deliver_sheet_event(&mut self, event: SheetEventDelivery) -> bool {
        let target = self.target();
        let ok = self
            .w
            .post_sheet_event_to(&target, &event)
            .await
            .is_ok_and(|s| s.is_success());
        if ok {
            self.acked.push(event.id);
        } else {
            self.unsent.push(event);
        }
        ok
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
        let (t, s) = (common::rate(&mut self.rng), common::rate(&mut self.rng));
        let unknown = self.rng.random_bool(0.5);
        self.note(format!(
            "faults: trello {t}, sheets {s}, unknown outcomes {unknown}"
        ));
        self.w.trello.gate().set_faults(common::faults(t, unknown));
        self.w.google.gate().set_faults(common::faults(s, unknown));
    }

    /// Held deliveries go out shuffled: some twice, some never (Trello gives up on them).
    async fn release(&mut self) -> anyhow::Result<()> {
        let dropped = common::release_trello(&mut self.rng, &self.w);
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
