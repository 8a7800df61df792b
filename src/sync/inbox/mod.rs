//! The inbox worker: turns stored webhook events into decisions. A lead's events are applied
//! together once none has arrived for `debounce` (so a burst of edits is one decision set), and
//! the decisions, commands and the events' `done` mark commit in one transaction.

mod decide;
mod gone;
mod group;
mod lead;
mod new_row;
mod own_writes;
mod read;
mod records;
mod write;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::inbound::{InboundEvent, RecordChangeKind, SheetEvent, SheetEventKind, Source};
use crate::model::board::BoardEvent;
use crate::store::inbox_work::{self, InboxEvent};
use crate::store::{Db, StoreError, lead_state, links, now_ms};
use crate::sync::context::PairContext;
use crate::sync::inbox::group::{Group, Item, RecordItem};
use crate::sync::inbox::lead::{Applied, apply_group};
use crate::sync::inbox::new_row::{NewRows, new_rows, tell_blanks};
use crate::sync::observe::{
    CardChange, change_time_limit, clamp_change_time, observe_card_event, observe_event_row,
};

/// Events read per pass; more wait for the next pass. A pass's decisions commit in one write
/// transaction, and webhook acknowledgements wait for the write lock behind it (each event's
/// lead is read and written under the lock, one round trip to SQLite's thread per statement).
/// On a loaded running `serve` the inbox writer waited for a pass of 64 a median 15 ms (up to
/// 65 ms), of 16 13 ms (38 ms), of 8 5-9 ms (25-49 ms): see docs/benchmarks.md. A commit per 8
/// events costs an fsync per 8, well under what deciding them costs.
const BATCH: i64 = 8;
/// An event that keeps failing is parked as `failed` after this many attempts.
const MAX_ATTEMPTS: i64 = 5;

/// How long an event about a card with no link waits for a create in flight to link it.
const UNLINKED_CARD_WAIT_MS: i64 = 10 * 60 * 1000;

/// What an event yields: items per lead key, or "not yet" (it stays pending).
enum Parsed {
    Items(Vec<(String, Item)>),
    Wait,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct WorkerReport {
    pub events_done: usize,
    pub events_waiting: usize,
    pub events_failed: usize,
}

/// Cloned for each run: a replica that leads again starts its loops afresh.
#[derive(Clone)]
pub struct Worker {
    db: Db,
    pairs: HashMap<String, Arc<PairContext>>,
    debounce: Duration,
    /// Pairs whose structure changed (Apps Script "change" events) go to the reconciler.
    reconcile: Option<mpsc::UnboundedSender<String>>,
}

impl Worker {
    pub fn new(
        db: Db,
        pairs: HashMap<String, Arc<PairContext>>,
        debounce: Duration,
        reconcile: Option<mpsc::UnboundedSender<String>>,
    ) -> Self {
        Self {
            db,
            pairs,
            debounce,
            reconcile,
        }
    }

    pub async fn run(self, shutdown: CancellationToken) {
        let idle = Duration::from_millis(200).min(self.debounce.max(Duration::from_millis(20)));
        // A busy inbox skips the pause, so the token is checked on every pass, not only there.
        while !shutdown.is_cancelled() {
            match self.run_once().await {
                Ok(r) if r.events_done > 0 => continue,
                Ok(_) => {}
                Err(err) => tracing::error!(error = %err, "inbox worker pass failed"),
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(idle) => {}
            }
        }
    }

    /// One pass: read due events, apply those whose leads are quiet, leave the rest for later.
    pub async fn run_once(&self) -> Result<WorkerReport, StoreError> {
        let now = now_ms();
        let events = inbox_work::due_events(&self.db.pool, now, BATCH).await?;
        let mut report = WorkerReport::default();
        let mut parsed: Vec<(InboxEvent, Vec<(String, Item)>)> = Vec::new();
        for event in events {
            match self.parse(&event, now).await {
                Ok(Parsed::Items(items)) => parsed.push((event, items)),
                Ok(Parsed::Wait) => report.events_waiting += 1,
                Err(reason) => {
                    report.events_failed += 1;
                    tracing::warn!(event_id = event.id, pair = %event.pair, error = %reason, "inbox event cannot be processed");
                    inbox_work::fail(&self.db.pool, event.id, &reason).await?;
                }
            }
        }
        // A lead is quiet when its newest event is older than the debounce window.
        let mut newest: HashMap<(String, String), i64> = HashMap::new();
        for (event, items) in &parsed {
            for (key, _) in items {
                let slot = newest.entry((event.pair.clone(), key.clone())).or_insert(0);
                *slot = (*slot).max(event.received_at);
            }
        }
        let cutoff = now - i64::try_from(self.debounce.as_millis()).unwrap_or(i64::MAX);
        let mut ready = Vec::new();
        for (event, items) in parsed {
            let quiet = items
                .iter()
                .all(|(key, _)| newest[&(event.pair.clone(), key.clone())] <= cutoff);
            if quiet {
                ready.push((event, items));
            } else {
                report.events_waiting += 1;
            }
        }
        if ready.is_empty() {
            return Ok(report);
        }
        let (done, waiting) = self.apply(ready).await?;
        report.events_done = done;
        report.events_waiting += waiting;
        Ok(report)
    }

    /// Applies the ready events; answers how many were finished and how many were left
    /// pending by their lead's decision ([`Applied::Wait`]).
    async fn apply(
        &self,
        ready: Vec<(InboxEvent, Vec<(String, Item)>)>,
    ) -> Result<(usize, usize), StoreError> {
        let mut groups: BTreeMap<(String, String), Group> = BTreeMap::new();
        let ids: Vec<i64> = ready.iter().map(|(e, _)| e.id).collect();
        for (event, items) in ready {
            for (key, item) in items {
                let group = groups.entry((event.pair.clone(), key)).or_default();
                group.add(event.id, item);
            }
        }
        let now = Utc::now();
        let waiting = match self.apply_groups(groups.clone(), &ids, now).await {
            Ok(waiting) => waiting,
            Err(err) => {
                // One lead's failure must not hold back the others: apply lead by lead, and
                // count a failed attempt on the events of the leads that still fail.
                tracing::warn!(error = %err, "inbox batch failed; applying lead by lead");
                let mut waiting = HashSet::new();
                for (key, group) in groups {
                    let event_ids = group.event_ids.clone();
                    let single = BTreeMap::from([(key.clone(), group)]);
                    match self.apply_groups(single, &event_ids, now).await {
                        Ok(w) => waiting.extend(w),
                        Err(err) => {
                            tracing::error!(pair = %key.0, lead_key = %key.1, error = %err, "lead's events failed");
                            for id in &event_ids {
                                let reason = err.to_string();
                                inbox_work::bump(&self.db.pool, *id, &reason, MAX_ATTEMPTS).await?;
                            }
                        }
                    }
                }
                waiting
            }
        };
        let done = ids.len() - waiting.len();
        metrics::counter!("leadsync_events_processed_total").increment(done as u64);
        Ok((done, waiting.len()))
    }

    /// Applies groups and finishes their events in one transaction; logs after the commit.
    /// Answers the events left pending: those of the leads whose decision is to wait.
    async fn apply_groups(
        &self,
        groups: BTreeMap<(String, String), Group>,
        event_ids: &[i64],
        now: chrono::DateTime<Utc>,
    ) -> Result<HashSet<i64>, StoreError> {
        let mut tx = self.db.begin_write().await?;
        let mut logs = Vec::new();
        let mut waiting = HashSet::new();
        for ((pair, key), group) in groups {
            let Some(ctx) = self.pairs.get(&pair) else {
                continue;
            };
            let group_events = group.event_ids.clone();
            match apply_group(&mut tx, ctx, &key, group, now).await? {
                Applied::Logged(log) => logs.push((Arc::clone(ctx), log)),
                Applied::Nothing => {}
                Applied::Wait => waiting.extend(group_events),
            }
        }
        for id in event_ids.iter().filter(|id| !waiting.contains(id)) {
            inbox_work::finish(&mut *tx, *id).await?;
        }
        tx.commit().await?;
        for (ctx, log) in logs {
            log.emit(&ctx);
        }
        Ok(waiting)
    }

    /// Splits an event into (lead key, item) pairs. Keys: `id:<lead>` for a known lead or a
    /// tracker record, `row:<n>` for a sheet row without an id, `card:<id>` for a card with no
    /// link yet.
    async fn parse(&self, event: &InboxEvent, now: i64) -> Result<Parsed, String> {
        let ctx = self
            .pairs
            .get(&event.pair)
            .ok_or_else(|| format!("pair {} is not configured", event.pair))?;
        // Parsed once here, and passed on: a source this build does not know (a row written by
        // a newer leadsync) is this event's error, never read as some other source.
        let source = Source::from_stored(&event.source)
            .ok_or_else(|| format!("unknown inbox source \"{}\"", event.source))?;
        // The door ran this same parse on these bytes before it stored them.
        let parsed = InboundEvent::parse(source, &event.body);
        // A change time is clamped to when the event reached us, however late it is processed.
        let limit = change_time_limit(event.received_at, event.signed_at);
        match parsed.map_err(|e| e.to_string())? {
            InboundEvent::Sheets(sheet) => {
                if sheet.kind == SheetEventKind::Change {
                    if let Some(tx) = &self.reconcile {
                        let _ = tx.send(event.pair.clone());
                    }
                    return Ok(Parsed::Items(Vec::new()));
                }
                let edited_at = clamp_change_time(&ctx.name, source, sheet.edited_at, limit);
                self.row_items(ctx, event, &sheet, edited_at, now).await
            }
            InboundEvent::Trello(action) => {
                let date = action.meta().date;
                let changed_at = clamp_change_time(&ctx.name, source, date, limit);
                self.card_items(ctx, event, &action, changed_at, now).await
            }
            InboundEvent::Record(change) => {
                // Its lead is the record. Observed with the lead's facts, in the worker's
                // transaction (whether it is our own write coming back depends on them).
                let key = format!("id:{}", change.record_id);
                if change.kind == RecordChangeKind::Destroyed {
                    return Ok(Parsed::Items(vec![(key, Item::RecordGone)]));
                }
                let changed_at = clamp_change_time(&ctx.name, source, change.timestamp, limit);
                let record = RecordItem {
                    change,
                    changed_at,
                    received_at: event.received_at,
                };
                Ok(Parsed::Items(vec![(key, Item::Record(record))]))
            }
        }
    }

    /// The rows of an Apps Script edit, `edited_at` already clamped.
    async fn row_items(
        &self,
        ctx: &PairContext,
        event: &InboxEvent,
        sheet: &SheetEvent,
        edited_at: DateTime<Utc>,
        now: i64,
    ) -> Result<Parsed, String> {
        let mut warnings = Vec::new();
        let items: Vec<(String, Item)> = sheet
            .rows
            .iter()
            .map(|row| observe_event_row(ctx, row, Some(edited_at), &mut warnings))
            .filter(|row| row.lead.is_lead())
            .map(|row| {
                let key = if row.lead.id.is_empty() {
                    format!("row:{}", row.row)
                } else {
                    format!("id:{}", row.lead.id)
                };
                (key, Item::Row(row))
            })
            .collect();
        let edited = edited_at.timestamp_millis();
        let mut conn = self.db.pool.acquire().await.map_err(|e| e.to_string())?;
        let sorted = new_rows(&mut conn, &ctx.name, &items, edited, now).await;
        let mut items = items;
        match sorted.map_err(|e| e.to_string())? {
            NewRows::Take => {}
            NewRows::Wait => return Ok(Parsed::Wait),
            // Without a reconciler the event's picture is all there is: taken as it is.
            NewRows::Stale(_) if self.reconcile.is_none() => {}
            NewRows::Stale(stale) => {
                tracing::info!(pair = %ctx.name, rows = stale.len(), "rows without an id in an event older than an id leadsync gave since: left to a reconciliation, which reads the sheet as it is");
                let set_aside = stale.iter().filter_map(|i| match items.get(*i) {
                    Some((_, Item::Row(row))) => Some(row),
                    _ => None,
                });
                tell_blanks(&mut conn, ctx, set_aside)
                    .await
                    .map_err(|e| e.to_string())?;
                items = drop_indexes(items, &stale);
                if let Some(tx) = &self.reconcile {
                    let _ = tx.send(ctx.name.clone());
                }
            }
        }
        log_warnings(ctx, event, warnings);
        Ok(Parsed::Items(items))
    }

    /// A Trello action's change to its card's lead, `changed_at` already clamped.
    async fn card_items(
        &self,
        ctx: &PairContext,
        event: &InboxEvent,
        action: &BoardEvent,
        changed_at: DateTime<Utc>,
        now: i64,
    ) -> Result<Parsed, String> {
        let mut warnings = Vec::new();
        let change = observe_card_event(ctx, action, changed_at, &mut warnings);
        let card_id = match &change {
            CardChange::Fields { card_id, .. }
            | CardChange::Created { card_id, .. }
            | CardChange::Deleted { card_id } => card_id.clone(),
            CardChange::Ignored => return Ok(Parsed::Items(Vec::new())),
        };
        let key = match links::get_by_card(&self.db.pool, &ctx.name, &card_id)
            .await
            .map_err(|e| e.to_string())?
        {
            Some(link) => format!("id:{}", link.lead_id),
            // A user's edit of a card whose create answer was lost: the card has no
            // link until the retried create adopts it. Applied then, the edit wins over
            // the values the create was planned with; dropped now, it would be lost.
            None if matches!(change, CardChange::Fields { .. })
                && now - event.received_at < UNLINKED_CARD_WAIT_MS
                && lead_state::creates_unfinished(&self.db.pool, &ctx.name)
                    .await
                    .map_err(|e| e.to_string())? =>
            {
                return Ok(Parsed::Wait);
            }
            None => {
                // A card a user made in a mapped list becomes a row; the reconciler
                // reads the whole card first, so its description and fields come too.
                if let CardChange::Created {
                    by_us: false,
                    list_id: Some(list),
                    ..
                } = &change
                    && ctx.create_rows_from_cards
                    && ctx.status_for_list(list).is_some()
                    && let Some(tx) = &self.reconcile
                {
                    let _ = tx.send(event.pair.clone());
                }
                format!("card:{card_id}")
            }
        };
        log_warnings(ctx, event, warnings);
        Ok(Parsed::Items(vec![(key, Item::Card(change))]))
    }
}

fn log_warnings(ctx: &PairContext, event: &InboxEvent, warnings: Vec<String>) {
    for w in warnings {
        tracing::warn!(pair = %ctx.name, event_id = event.id, "{w}");
    }
}

#[cfg(test)]
mod tests;

/// `items` without the ones at `drop` (indexes, ascending).
fn drop_indexes<T>(items: Vec<T>, drop: &[usize]) -> Vec<T> {
    items
        .into_iter()
        .enumerate()
        .filter(|(i, _)| !drop.contains(i))
        .map(|(_, item)| item)
        .collect()
}
