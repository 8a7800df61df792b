//! Full reconciliation: read the whole tracker (through its connector, as one grid) and the whole
//! board (through the board connector, in as few calls as the board allows), plan with the same merge as webhooks, and apply a chunk
//! of rows per transaction, so a large sheet's plan is never held whole.

pub mod action;
mod apply;
mod pass;
pub mod plan;
mod read;
mod rows;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::clients::http::ClientError;
use crate::config::OnRowDeleted;
use crate::model::board::Card;
use crate::store::links::Link;
use crate::store::{
    Db, StoreError, absences, id_landing, lead_state, links, outbox, pairs, sheet_blanks,
    tombstones, tracker_webhooks,
};
use crate::sync::board::BoardConnector;
use crate::sync::connector::Trackers;
use crate::sync::context::PairContext;
use crate::sync::mapping::ColumnMap;
use crate::sync::merge::LeadState;
use crate::sync::merge::state::lead_state as merge_state;
use crate::sync::reconcile::plan::{Action, Known, Planner, sheet_ids};

#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error("pair {0} is not configured")]
    UnknownPair(String),
    #[error("reading {system}: {source}")]
    Read {
        system: &'static str,
        #[source]
        source: ClientError,
    },
    #[error("sheet header: {0}")]
    Header(#[from] crate::sync::mapping::MissingColumns),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Rows planned and applied per write transaction. A lead's plan holds a few kilobytes
/// (decisions with their next states and records, commands), so a chunk stays near a couple of
/// megabytes however long the sheet, and each transaction holds SQLite's write lock briefly.
const CHUNK_ROWS: usize = 500;

/// What a reconciliation planned (and, unless a dry run, applied).
#[derive(Debug)]
pub struct ReconcileOutcome {
    pub pair: String,
    /// The whole plan of a dry run; empty once applied (each chunk is dropped once committed).
    pub actions: Vec<Action>,
    /// The outbox commands planned.
    pub commands: usize,
}

fn commands_in(actions: &[Action]) -> usize {
    actions
        .iter()
        .map(|a| match a {
            Action::Lead { commands, .. } => commands.len(),
            _ => 0,
        })
        .sum()
}

#[derive(Clone)]
pub struct Reconciler {
    db: Db,
    board: Arc<dyn BoardConnector>,
    trackers: Trackers,
    pairs: HashMap<String, Arc<PairContext>>,
    on_row_deleted: OnRowDeleted,
    retention_days: u32,
}

impl Reconciler {
    pub fn new(
        db: Db,
        board: Arc<dyn BoardConnector>,
        trackers: Trackers,
        pairs: HashMap<String, Arc<PairContext>>,
        on_row_deleted: OnRowDeleted,
        retention_days: u32,
    ) -> Self {
        Self {
            db,
            board,
            trackers,
            pairs,
            on_row_deleted,
            retention_days,
        }
    }

    /// A pair as the engine runs it (the console plans an operator's edit with it).
    pub fn context(&self, pair: &str) -> Option<Arc<PairContext>> {
        self.pairs.get(pair).cloned()
    }

    /// The tracker connectors it reads with (their clients' budgets are the overview's).
    pub fn trackers(&self) -> &Trackers {
        &self.trackers
    }

    pub fn pair_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.pairs.keys().cloned().collect();
        names.sort();
        names
    }

    /// Reconciles one pair. A failed read changes nothing (a partial read never deletes).
    pub async fn reconcile(
        &self,
        pair: &str,
        dry_run: bool,
    ) -> Result<ReconcileOutcome, ReconcileError> {
        let ctx = self
            .pairs
            .get(pair)
            .ok_or_else(|| ReconcileError::UnknownPair(pair.to_owned()))?;
        let started = Instant::now();
        let result = self.reconcile_ctx(ctx, dry_run).await;
        metrics::histogram!("leadsync_reconcile_duration_seconds", "pair" => pair.to_owned())
            .record(started.elapsed().as_secs_f64());
        if !dry_run && let Err(err) = &result {
            let _ = pairs::record_error(&self.db.pool, pair, &err.to_string()).await;
            tracing::error!(pair, error = %err, "reconciliation failed");
        }
        result
    }

    async fn reconcile_ctx(
        &self,
        ctx: &PairContext,
        dry_run: bool,
    ) -> Result<ReconcileOutcome, ReconcileError> {
        if !dry_run {
            // A tracker whose notifications only say "something changed" keeps its changes in
            // a feed; a lost notification would leave them unread until the next one. Each
            // reconciliation has the pair's feeds read too: a deletion, which full reads alone
            // believe only after two reads a minute apart, then arrives within one interval.
            tracker_webhooks::ping_pair(&self.db.pool, &ctx.name).await?;
        }
        // Leads the worker or dispatcher touch while we read are left to them (see `apply`).
        let started_ms = crate::store::now_ms();
        let (grid, cards) = self.read_sides(ctx).await?;
        let header = grid.first().map(Vec::as_slice).unwrap_or_default();
        let shown = sheet_ids(&ColumnMap::from_header(header, &ctx.columns)?, &grid);
        let mut known = self.known(&ctx.name, &shown).await?;
        let board = self.board.as_ref();
        let fetch = |card: String| async move { board.archived_at(&card).await };
        known.archived_at = read::archive_times(&cards, &known, fetch).await;
        let now = Utc::now();
        // What the reads show was so when they began, not when the plan is made: a change a
        // user made after the board was read (its event on the way) is the newer one.
        let read_at = DateTime::from_timestamp_millis(started_ms).unwrap_or(now);
        let deleted = self.on_row_deleted;
        let mut planner = Planner::new(ctx, deleted, &grid, &cards, &known, read_at, shown)?;
        let now_ms = now.timestamp_millis();
        let run = apply::Run {
            ctx,
            key: &format!("rc{now_ms}"),
            now_ms,
            started_ms,
            retention_days: self.retention_days,
        };
        let (mut applied, mut commands, mut planned) = (apply::Applied::default(), 0, Vec::new());
        let mut last = false;
        while !last {
            let actions = if planner.rows_left() {
                let states = self
                    .states(&ctx.name, &planner.next_ids(CHUNK_ROWS))
                    .await?;
                planner.rows(CHUNK_ROWS, states)
            } else {
                last = true;
                planner.finish()
            };
            commands += commands_in(&actions);
            if dry_run {
                planned.extend(actions);
            } else {
                let shown = planner.shown();
                apply::apply_chunk(&self.db, &run, shown, &actions, &mut applied, last).await?;
            }
        }
        if !dry_run {
            tracing::info!(pair = %ctx.name, rows = grid.len().saturating_sub(1), cards = cards.len(), commands, "reconciliation done");
        }
        Ok(ReconcileOutcome {
            pair: ctx.name.clone(),
            actions: planned,
            commands,
        })
    }

    /// The whole tracker (its connector's grid) and the whole board.
    async fn read_sides(
        &self,
        ctx: &PairContext,
    ) -> Result<(Vec<Vec<String>>, Vec<Card>), ReconcileError> {
        let read = |source| ReconcileError::Read {
            system: ctx.tracker.as_str(),
            source,
        };
        let tracker = self
            .trackers
            .of(ctx)
            .map_err(|e| read(ClientError::Config(e)))?;
        let grid = tracker.read_grid(ctx, &self.db).await.map_err(read)?;
        let cards = (self.board.cards(&ctx.settings.board_id).await).map_err(|source| {
            ReconcileError::Read {
                system: self.board.system(),
                source,
            }
        })?;
        Ok((grid, cards))
    }

    /// The agreed states of `leads`, asked a chunk at a time.
    async fn states(
        &self,
        pair: &str,
        leads: &[String],
    ) -> Result<HashMap<String, LeadState>, StoreError> {
        let mut states = HashMap::new();
        for chunk in leads.chunks(CHUNK_ROWS) {
            let ids: Vec<&str> = chunk.iter().map(String::as_str).collect();
            let rows = lead_state::load_leads(&self.db.pool, pair, &ids).await?;
            states.extend((rows.into_iter()).map(|(lead, rows)| (lead, merge_state(&rows))));
        }
        Ok(states)
    }

    /// What the database knows of a pair; of the agreed states, only those of the leads the
    /// sheet's read does not show (`shown`): the planner gets the others chunk by chunk.
    async fn known(&self, pair: &str, shown: &HashSet<String>) -> Result<Known, StoreError> {
        let pool = &self.db.pool;
        let since = crate::store::now_ms() - id_landing::NEW_ROW_WINDOW_MS;
        let links: HashMap<String, Link> = (links::list(pool, pair).await?.into_iter())
            .map(|l| (l.lead_id.clone(), l))
            .collect();
        let unseen: Vec<String> = (links.keys())
            .filter(|l| !shown.contains(*l))
            .cloned()
            .collect();
        let sending: HashSet<String> = outbox::leads_with_unsent(pool, pair)
            .await?
            .into_iter()
            .collect();
        Ok(Known {
            states: self.states(pair, &unseen).await?,
            links,
            // Leads with commands on their way or dead-lettered are left alone until those
            // commands are sent (dead letters: after `POST /admin/reconcile` requeues them).
            unsent: (sending.iter().cloned())
                .chain(lead_state::leads_with_dead_letters(pool, pair).await?)
                .collect(),
            sending,
            ids_unlanded: lead_state::ids_on_their_way(pool, pair).await?,
            unplaced: id_landing::unplaced_leads(pool, pair, since)
                .await?
                .into_iter()
                .collect(),
            deleted_cards: lead_state::deleted_cards(pool, pair)
                .await?
                .into_iter()
                .collect(),
            absences: absences::list(pool, pair).await?.into_iter().collect(),
            archived_by_deletion: tombstones::archived_leads(pool, pair)
                .await?
                .into_iter()
                .collect(),
            // Filled in by `read::archive_times` once the board is read.
            archived_at: HashMap::new(),
            blanks: (sheet_blanks::of_pair(pool, pair).await?.into_iter())
                .filter(|b| b.typed.is_some())
                .collect(),
        })
    }

    /// Reconciles every pair each `interval` (never, if zero) and whenever a pair name arrives
    /// on `requests`; pairs run one after another so one pair's failure never stops the others.
    pub async fn run(
        self,
        interval: Duration,
        requests: &mut mpsc::UnboundedReceiver<String>,
        shutdown: CancellationToken,
    ) {
        let mut ticker = (!interval.is_zero()).then(|| tokio::time::interval(interval));
        loop {
            // Requests first: a new leader queues a pass of every pair before its loops start,
            // and the ticker's first tick, due at once too, is then not a second such pass.
            let wanted: Vec<String> = tokio::select! {
                biased;
                () = shutdown.cancelled() => return,
                Some(pair) = requests.recv() => {
                    let mut wanted = vec![pair];
                    while let Ok(more) = requests.try_recv() {
                        if !wanted.contains(&more) { wanted.push(more); }
                    }
                    let every_pair = wanted.iter().any(|p| !self.pairs.contains_key(p));
                    if let Some(ticker) = ticker.as_mut().filter(|_| every_pair) {
                        // A requested pass of every pair is the periodic one too.
                        ticker.reset();
                    }
                    wanted
                }
                _ = async { match ticker.as_mut() { Some(t) => { t.tick().await; } None => std::future::pending::<()>().await } } => self.pair_names(),
            };
            for pair in wanted {
                let known = self.pairs.contains_key(&pair);
                let names = if known { vec![pair] } else { self.pair_names() };
                for name in names {
                    // Reads can wait minutes on rate limits and retries; a stop drops the
                    // reconciliation, which is safe: it writes only after its reads, a chunk of
                    // whole leads per transaction, and the next pass plans what is left.
                    tokio::select! {
                        () = shutdown.cancelled() => return,
                        _ = self.reconcile(&name, false) => {}
                    }
                }
            }
        }
    }
}
