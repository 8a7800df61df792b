//! What the engine knows of a lead tracker: the [`TrackerConnector`] trait, the types it speaks
//! (a claimed command, the outcome of sending it) and [`Trackers`], the connectors of a run by
//! kind. The stages ask a pair's connector for its column names (`resolve`), the whole tracker as
//! a grid (`reconcile`), a batch of tracker commands sent (`outbox`) and, for a tracker whose
//! notifications carry no changes, a change feed to pull (`engine`). The connectors themselves
//! live above the engine (`src/connectors/`); the engine never names one.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::clients::http::ClientError;
use crate::config::PairSettings;
use crate::model::TrackerKind;
use crate::store::outbox::{Command as Stored, NewCommand};
use crate::store::{Db, StoreError, pairs::NewPair};
use crate::sync::context::PairContext;
use crate::sync::plan::commands::Command;

/// A future a connector returns: boxed, so the trait stays object safe (`dyn TrackerConnector`).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One kind of lead tracker (Google Sheets, Airtable, …), serving every pair of that kind: each
/// call is given the pair it is about.
pub trait TrackerConnector: Send + Sync {
    /// The kind of tracker this connector serves.
    fn kind(&self) -> TrackerKind;

    /// Where a pair's leads live, as errors and logs name it (`sheet "Leads"`).
    fn place(&self, pair: &PairSettings) -> String;

    /// The pair as stored in `pairs`, with what locates its leads in `tracker_settings`.
    fn stored(&self, pair: &PairSettings) -> NewPair;

    /// The tracker's column (field) names, read at start-up and checked against the pair's
    /// columns: what a sheet's header row is.
    fn column_names<'a>(
        &'a self,
        pair: &'a PairSettings,
    ) -> BoxFuture<'a, Result<Vec<String>, ClientError>>;

    /// The whole tracker as one grid for reconciliation: row 1 = the column names, then one
    /// row per record with its lead id in the pair's id column. `db` is for what the read
    /// must wait for (a sheet batch's settling lease, held by any process on the database).
    fn read_grid<'a>(
        &'a self,
        ctx: &'a PairContext,
        db: &'a Db,
    ) -> BoxFuture<'a, Result<Vec<Vec<String>>, ClientError>>;

    /// Sends one pair's batch of tracker commands (`WriteRow`, `AppendRow`); answers one
    /// outcome per command, in order. The dispatcher claimed them and records the outcomes
    /// (retries, dead letters); `db` is for what a send must note or look up on the way (an
    /// outcome that becomes unknown, the lead's link). A store error abandons the batch: its
    /// claims lapse and it is sent again.
    fn send<'a>(
        &'a self,
        ctx: &'a PairContext,
        batch: &'a [Claimed],
        db: &'a Db,
    ) -> BoxFuture<'a, Result<Vec<Outcome>, StoreError>>;

    /// How many of a pair's due commands one [`TrackerConnector::send`] may take, for a tracker
    /// whose calls carry far more than a dispatch round's batch (a sheet's `batchUpdate`):
    /// the dispatcher then claims them apart from the Trello commands and lets them gather
    /// while Trello work is queued. `None`: they go with each round's other commands.
    fn batch_limit(&self) -> Option<usize> {
        None
    }

    /// The tracker's API budget that `pair`'s calls spend, one entry per limit they pass
    /// (the console's overview shows it). Empty: no limit is kept.
    fn budget(&self, _pair: &PairSettings) -> Vec<Budget> {
        Vec::new()
    }

    /// The change feed the engine runs as a task, for a tracker whose notifications only say
    /// that something changed; `pairs` are the pairs of this kind (never empty). `None`: the
    /// tracker's changes reach the inbox by its webhooks alone.
    fn change_feed(
        &self,
        _db: Db,
        _pairs: HashMap<String, Arc<PairContext>>,
    ) -> Option<Box<dyn ChangeFeed>> {
        None
    }
}

/// One API limit a tracker's calls pass: what it counts (`"per user"`, `"per base appX"` …)
/// and its budget and use.
#[derive(Debug, Clone)]
pub struct Budget {
    pub scope: String,
    pub stats: crate::clients::http::LimiterStats,
}

/// A tracker's change feed: pulls what changed into the inbox until `shutdown`.
pub trait ChangeFeed: Send {
    /// The task's name, as a shutdown warning says it.
    fn name(&self) -> &'static str;

    fn run(self: Box<Self>, shutdown: CancellationToken) -> BoxFuture<'static, ()>;
}

/// The tracker connectors of a run, one per kind. Cheap to clone.
#[derive(Clone, Default)]
pub struct Trackers {
    by_kind: HashMap<TrackerKind, Arc<dyn TrackerConnector>>,
}

impl Trackers {
    /// Adds (or replaces) the connector of its kind.
    pub fn with(mut self, connector: Arc<dyn TrackerConnector>) -> Self {
        self.by_kind.insert(connector.kind(), connector);
        self
    }

    /// The connector of a pair's tracker; an error saying which is missing when none was built.
    pub fn of(&self, ctx: &PairContext) -> Result<&dyn TrackerConnector, String> {
        self.get(ctx.tracker)
    }

    /// The connector of a tracker kind; an error saying which is missing when none was built.
    pub fn get(&self, kind: TrackerKind) -> Result<&dyn TrackerConnector, String> {
        self.by_kind.get(&kind).map(Arc::as_ref).ok_or_else(|| {
            format!(
                "its leads are kept in {kind}, but no {kind} connector was built \
                 (are the {kind} credentials configured?)"
            )
        })
    }

    /// The tracker kinds whose commands are claimed in their own large batches, with the
    /// batch's bound ([`TrackerConnector::batch_limit`]).
    pub fn batching(&self) -> Vec<(TrackerKind, usize)> {
        let mut kinds: Vec<(TrackerKind, usize)> = (self.by_kind.iter())
            .filter_map(|(kind, c)| Some((*kind, c.batch_limit()?)))
            .collect();
        kinds.sort_by_key(|(kind, _)| kind.as_str());
        kinds
    }

    /// The change feeds of the connectors that have one and pairs to read it for.
    pub fn feeds(
        &self,
        db: &Db,
        contexts: &HashMap<String, Arc<PairContext>>,
    ) -> Vec<Box<dyn ChangeFeed>> {
        let mut feeds = Vec::new();
        for (kind, connector) in &self.by_kind {
            let pairs: HashMap<String, Arc<PairContext>> = (contexts.iter())
                .filter(|(_, ctx)| ctx.tracker == *kind)
                .map(|(name, ctx)| (name.clone(), Arc::clone(ctx)))
                .collect();
            if !pairs.is_empty() {
                feeds.extend(connector.change_feed(db.clone(), pairs));
            }
        }
        feeds
    }
}

/// A claimed command with its parsed payload.
pub struct Claimed {
    pub row: Stored,
    pub cmd: Command,
}

/// Store changes that belong to a command's success and commit with its completion.
#[derive(Debug, Default)]
pub struct FollowUp {
    /// The card made (or adopted) for the lead: id and short URL.
    pub card: Option<(String, String)>,
    /// The card is gone from Trello: the link keeps the lead but loses the card.
    pub card_deleted: bool,
    pub closed: Option<bool>,
    pub row_hint: Option<i64>,
    /// The lead's new id reached its row.
    pub id_landed: bool,
    /// The row a new id was made for is gone: the lead is forgotten if nothing else needs it.
    pub abandon: bool,
    /// The lead's id becomes this one (an Airtable pair's lead is keyed by its record id, known
    /// once the record is made); done after the other changes, before `enqueue`.
    pub renamed: Option<String>,
    pub enqueue: Vec<NewCommand>,
    /// Cells of other rows this write landed on by mistake whose earlier value is unknown.
    pub reassert: Reassert,
}

/// Cells of other rows a write landed on by mistake, in rows typed since the write was planned:
/// what the person typed there is unknown to the check, which could only empty them.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Reassert {
    /// In rows with a lead's id, as (lead id, header): each gets its lead's agreed value
    /// written again.
    pub cells: Vec<(String, String)>,
    /// In rows without an id: kept until the lead made from that row's event, which holds
    /// what the person typed, writes it back.
    pub blanked: Vec<Blanked>,
    /// In rows with a lead's id, put back to what the read before the write showed, as (lead
    /// id, header, value put back): a person may have typed there after that read, and only
    /// that row's event knows it (seed 298), so the cell waits for it.
    pub stale: Vec<(String, String, String)>,
}

impl Reassert {
    pub fn is_empty(&self) -> bool {
        self.cells.is_empty() && self.blanked.is_empty() && self.stale.is_empty()
    }
}

/// A cell emptied in a row typed since without an id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blanked {
    /// The row's other non-empty cells by header, as read after the write (the cells the
    /// batch's writes took left out): the row's identity until its id lands.
    pub row: BTreeMap<String, String>,
    pub header: String,
    /// What the misplaced write had put there.
    pub written: String,
}

pub enum Outcome {
    /// Finished; `skipped` says why nothing (or not everything) was sent.
    Done {
        follow: FollowUp,
        skipped: Option<String>,
    },
    /// The call failed; `retryable` failures are tried again until the attempts run out. A
    /// write that landed on the wrong row may have cells to `reassert` (see [`FollowUp`]).
    Failed {
        retryable: bool,
        error: String,
        reassert: Reassert,
    },
    /// The command can never succeed as it is (bad payload, missing column …).
    Invalid(String),
}

impl Outcome {
    pub fn sent(follow: FollowUp) -> Self {
        Self::Done {
            follow,
            skipped: None,
        }
    }

    pub fn skipped(why: impl Into<String>) -> Self {
        Self::Done {
            follow: FollowUp::default(),
            skipped: Some(why.into()),
        }
    }

    pub fn failed(e: &ClientError) -> Self {
        Self::Failed {
            retryable: e.is_retryable(),
            error: e.to_string(),
            reassert: Reassert::default(),
        }
    }
}

#[cfg(test)]
mod tests;
