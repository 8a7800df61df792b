//! The mirror chaos driver: from a seed, a random history against two mirrored boards — users'
//! card edits on either board (the edits themselves in `edits`), Trello API faults, held,
//! dropped, duplicated and reordered webhook deliveries, restarts and reconciliations.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use leadsync::connectors::trello::sandbox::{BoardSetup, SandboxCard};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::oracle::{FIELDS, History, Side};
use crate::chaos::common;
use crate::mirror_support::{Mirror, marker};

/// The mirror's lists: board a's name → board b's (`mirror_support`'s map).
pub const LISTS: [(&str, &str); 3] = [
    ("To Do", "Backlog"),
    ("Doing", "In Progress"),
    ("Done", "Done"),
];

const ACTIONS: [(Action, u32); 19] = [
    (Action::NewCard, 10),
    (Action::Rename, 8),
    (Action::Describe, 5),
    (Action::Move, 8),
    (Action::Label, 6),
    (Action::Due, 4),
    (Action::DueComplete, 3),
    (Action::AddItem, 4),
    (Action::CheckItem, 4),
    (Action::Archive, 3),
    (Action::Delete, 1),
    (Action::Concurrent, 6),
    (Action::Faults, 6),
    (Action::HoldTrello, 4),
    (Action::Release, 6),
    (Action::Restart, 2),
    (Action::Reconcile, 4),
    (Action::Pause, 3),
    (Action::Quiet, 1),
];

#[derive(Clone, Copy, Debug)]
enum Action {
    NewCard,
    Rename,
    Describe,
    Move,
    Label,
    Due,
    DueComplete,
    AddItem,
    CheckItem,
    Archive,
    Delete,
    Concurrent,
    Faults,
    HoldTrello,
    Release,
    Restart,
    Reconcile,
    Pause,
    Quiet,
}

pub struct Driver {
    pub m: Mirror,
    pub policy: String,
    pub history: History,
    pub log: Vec<String>,
    pub(super) rng: StdRng,
    pub(super) made: u32,
    /// Each card's key: the driver's name for the card a user made, shared by its twin.
    keys: HashMap<String, String>,
    /// Markers seen on keyed cards: a twin is keyed by the marker it shares.
    markers: HashMap<String, String>,
    /// Keys a user deleted a card of.
    pub deleted: Vec<String>,
}

impl Driver {
    pub fn new(m: Mirror, seed: u64, policy: &str) -> Self {
        Self {
            m,
            policy: policy.to_owned(),
            history: History::default(),
            log: Vec::new(),
            rng: StdRng::seed_from_u64(seed),
            made: 0,
            keys: HashMap::new(),
            markers: HashMap::new(),
            deleted: Vec::new(),
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
        let (rng, log) = (&mut self.rng, &mut self.log);
        match action {
            Action::NewCard => return self.new_card(),
            Action::Rename => self.edit_one("name"),
            Action::Describe => self.edit_one("desc"),
            Action::Move => self.edit_one("list"),
            Action::Label => self.edit_one("labels"),
            Action::Due => self.edit_one("due"),
            Action::DueComplete => self.edit_one("complete"),
            Action::AddItem => self.edit_one("item"),
            Action::CheckItem => self.edit_one("check"),
            Action::Archive => self.edit_one("closed"),
            Action::Delete => self.delete(),
            Action::Concurrent => self.concurrent(),
            Action::Faults => {
                let (rate, unknown) = (common::rate(rng), rng.random_bool(0.5));
                log.push(format!("faults: trello {rate}, unknown outcomes {unknown}"));
                self.m
                    .w
                    .trello
                    .gate()
                    .set_faults(common::faults(rate, unknown));
            }
            Action::HoldTrello => common::hold_trello(rng, &self.m.w, log),
            Action::Release => {
                let dropped = common::release_trello(rng, &self.m.w);
                log.push(format!("release: trello dropped {dropped}"));
            }
            Action::Restart => return common::restart(&mut self.m.w, log).await,
            Action::Reconcile => return self.reconcile().await,
            Action::Pause => common::pause(rng, log).await,
            // The daemon left alone long enough to catch up, faults and all.
            Action::Quiet => {
                log.push("quiet 3 s".into());
                tokio::time::sleep(Duration::from_secs(3)).await;
            }
        }
        Ok(())
    }

    /// A reconciliation at a random moment, as `leadsync reconcile --pair client` runs one
    /// beside the daemon (the daemon's own come every 2 s and after each start). A failed one is
    /// the next one's to repair.
    pub async fn reconcile(&mut self) -> anyhow::Result<()> {
        self.log.push("reconcile".into());
        if let Err(e) = reconcile_once(&self.m).await {
            self.log.push(format!("reconcile failed: {e:#}"));
        }
        Ok(())
    }

    /// Both boards' cards, open and archived, each with its side.
    pub fn all_cards(&self) -> Vec<(Side, SandboxCard)> {
        let a = self.m.cards_a().into_iter().map(|c| (Side::A, c));
        a.chain(self.m.cards_b().into_iter().map(|c| (Side::B, c)))
            .collect()
    }

    /// Keys the twins of known cards by the marker they share.
    pub fn learn(&mut self) {
        let cards = self.all_cards();
        for (_, c) in &cards {
            if let (Some(key), Some(m)) = (self.keys.get(&c.id), marker(c)) {
                self.markers.entry(m).or_insert_with(|| key.clone());
            }
        }
        for (_, c) in &cards {
            if let Some(key) = marker(c).and_then(|m| self.markers.get(&m)) {
                self.keys.entry(c.id.clone()).or_insert_with(|| key.clone());
            }
        }
    }

    pub fn key_of(&self, card_id: &str) -> Option<String> {
        self.keys.get(card_id).cloned()
    }

    pub(super) fn keyed(&mut self, card_id: &str, key: &str) {
        self.keys.insert(card_id.to_owned(), key.to_owned());
    }

    /// A random keyed card (`open`: not archived) whose key was not deleted.
    pub(super) fn pick_card(&mut self, open: bool) -> Option<(Side, SandboxCard, String)> {
        self.learn();
        let cards: Vec<(Side, SandboxCard, String)> = (self.all_cards().into_iter())
            .filter(|(_, c)| !open || !c.closed)
            .filter_map(|(s, c)| self.key_of(&c.id).map(|k| (s, c, k)))
            .filter(|(_, _, k)| !self.deleted.contains(k))
            .collect();
        (!cards.is_empty()).then(|| cards[self.rng.random_range(0..cards.len())].clone())
    }

    /// The card's twin on the other board, if the driver knows it.
    pub(super) fn twin(&self, side: Side, key: &str) -> Option<SandboxCard> {
        (self.all_cards().into_iter())
            .find(|(s, c)| *s != side && self.key_of(&c.id).as_deref() == Some(key))
            .map(|(_, c)| c)
    }

    pub(super) fn board(&self, side: Side) -> &BoardSetup {
        board_of(&self.m, side)
    }

    /// A card's mirrored values as the oracle reads them (its list in board a's names).
    pub fn values(&self, side: Side, card: &SandboxCard) -> BTreeMap<&'static str, String> {
        let t = &self.m.w.trello;
        let list = (self.board(side).lists.iter())
            .find(|(_, id)| **id == card.id_list)
            .map_or_else(|| card.id_list.clone(), |(n, _)| n.clone());
        let list = match side {
            Side::A => list,
            Side::B => {
                (LISTS.iter().find(|(_, b)| *b == list)).map_or(list, |(a, _)| (*a).to_owned())
            }
        };
        let mut labels = t.card_label_names(&card.id);
        labels.sort();
        labels.dedup();
        let checklists: Vec<String> = (t.checklists(&card.id).into_iter())
            .map(|mut l| {
                l.items.sort_by(|x, y| x.pos.total_cmp(&y.pos));
                let items: Vec<String> = (l.items.iter())
                    .map(|i| format!("{}{}", i.name, if i.complete { "+" } else { "" }))
                    .collect();
                format!("{}[{}]", l.name, items.join(","))
            })
            .collect();
        let due = (card.due.as_deref()).map(|d| {
            chrono::DateTime::parse_from_rfc3339(d)
                .map_or(d.to_owned(), |d| d.with_timezone(&chrono::Utc).to_rfc3339())
        });
        let values = [
            card.name.clone(),
            leadsync::sync::mapping::split_description(&card.desc).0,
            list,
            card.closed.to_string(),
            labels.join(","),
            format!("{}|{}", due.as_deref().unwrap_or("-"), card.due_complete),
            checklists.join(";"),
        ];
        FIELDS.into_iter().zip(values).collect()
    }
}

pub fn board_of(m: &Mirror, side: Side) -> &BoardSetup {
    match side {
        Side::A => &m.a,
        Side::B => &m.b,
    }
}

/// One reconciliation of the mirror, by a mirror engine of its own on the daemon's database.
pub async fn reconcile_once(m: &Mirror) -> anyhow::Result<()> {
    let mirrors = crate::mirror_support::one_off_engine(m).await?;
    anyhow::ensure!(mirrors.reconcile_all().await, "a reconciliation failed");
    Ok(())
}
