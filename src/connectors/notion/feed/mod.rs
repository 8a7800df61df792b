//! Notion's change feed. Events only name a page, and Notion aggregates and may delay them, so
//! the door stores each event (`store::notion`) and this task reads the pages they name (several
//! events for one page in a round cost one read) and, every `notion.poll_interval_secs`, the
//! pages edited since the last poll minus a minute (Notion rounds edit times down to the minute).
//! Each page read becomes a record change in the inbox, in the transaction that keeps the page's
//! snapshot and marks its events read (or moves the poll's mark), so a crash re-reads rather
//! than skips; the inbox's dedupe key makes a re-read harmless. The worker then treats the
//! changes like Airtable's. A poll also reads again a few kept pages its query no longer answers
//! (`recheck.rs`): the query never answers a page in the trash.

mod convert;
mod dating;
mod keep;
mod recheck;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use tokio_util::sync::CancellationToken;

use crate::clients::http::ClientError;
use crate::connectors::notion::client::compact_id;
use crate::connectors::notion::send::page_gone;
use crate::connectors::notion::source::{Sources, same_id};
use crate::store::notion::{self as stored, PendingEvent};
use crate::store::{Db, StoreError, links, now_ms};
use crate::sync::connector::{BoxFuture, ChangeFeed};
use crate::sync::context::PairContext;

use dating::Window;
use keep::{PageChange, When, store_change};

/// How often stored events are looked for: the door stores them, it does not signal.
const TICK: Duration = Duration::from_millis(200);
/// Events read per round.
const EVENTS_PER_ROUND: i64 = 50;
/// Reads of an event's page tried before the event is given up (the client has retried each
/// already): a page the integration may not read must not hold the events behind it, nor spend
/// the integration's 3 calls a second. Polling and reconciliation read it again later.
const MAX_ATTEMPTS: i64 = 5;
/// Notion rounds `last_edited_time` down to the minute: a poll looks back this much further.
const ROUNDING: i64 = 60_000;

#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    #[error("reading Notion: {0}")]
    Api(#[from] ClientError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Reads the pages Notion's events name, and polls, into the inbox.
pub struct Feed {
    db: Db,
    sources: Sources,
    pairs: HashMap<String, Arc<PairContext>>,
    /// `None`: polling is off (`poll_interval_secs = 0`).
    poll: Option<Duration>,
    /// Per pair, the last page a poll read again (`recheck.rs`): the next poll goes on after it.
    rechecked: std::sync::Mutex<HashMap<String, String>>,
}

impl ChangeFeed for Feed {
    fn name(&self) -> &'static str {
        "notion change feed"
    }

    fn run(self: Box<Self>, shutdown: CancellationToken) -> BoxFuture<'static, ()> {
        Box::pin(Feed::run(*self, shutdown))
    }
}

impl Feed {
    pub fn new(
        db: Db,
        sources: Sources,
        pairs: HashMap<String, Arc<PairContext>>,
        poll: Option<Duration>,
    ) -> Self {
        Self {
            db,
            sources,
            pairs,
            poll,
            rechecked: std::sync::Mutex::default(),
        }
    }

    /// Reads stored events every tick and polls every interval (the first poll at once), until
    /// `shutdown`.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut next_poll = Instant::now();
        loop {
            let round = async {
                if let Err(err) = self.read_events().await {
                    tracing::warn!(error = %err, "reading the pages of Notion's events failed; retrying");
                }
                if let Some(every) = self.poll
                    && Instant::now() >= next_poll
                {
                    if let Err(err) = self.poll_all().await {
                        tracing::warn!(error = %err, "polling Notion failed; retrying next interval");
                    }
                    next_poll = Instant::now() + every;
                }
            };
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = round => {}
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(TICK) => {}
            }
        }
    }

    /// Reads the pages of the stored events (one read per page); answers the changes stored.
    pub async fn read_events(&self) -> Result<usize, FeedError> {
        let pending = stored::pending_events(&self.db.pool, EVENTS_PER_ROUND).await?;
        let mut by_page: BTreeMap<String, Vec<PendingEvent>> = BTreeMap::new();
        for event in pending {
            if event.attempts >= MAX_ATTEMPTS {
                tracing::warn!(event_id = %event.id, attempts = event.attempts,
                    "giving up reading the page of a Notion event; polling and reconciliation read it later");
                stored::mark_event_done(&self.db.pool, &event.id).await?;
                continue;
            }
            match &event.page_id {
                Some(page) => by_page.entry(compact_id(page)).or_default().push(event),
                // Not about a page (a data source's schema, a comment): nothing to merge.
                None => stored::mark_event_done(&self.db.pool, &event.id).await?,
            }
        }
        let mut stored_changes = 0;
        for (page, events) in by_page {
            match self.read_page_events(&page, &events).await {
                Ok(n) => stored_changes += n,
                Err(FeedError::Api(e)) => {
                    let text = e.to_string();
                    for event in &events {
                        stored::note_event_error(&self.db.pool, &event.id, &text).await?;
                    }
                    tracing::warn!(page_id = %page, error = %text, "reading a page Notion named failed; retrying");
                }
                Err(e) => return Err(e),
            }
        }
        Ok(stored_changes)
    }

    /// The page's events, read as one: a `page.deleted` last is the page gone (no read needed),
    /// anything else is the page as it is now.
    async fn read_page_events(
        &self,
        page_id: &str,
        events: &[PendingEvent],
    ) -> Result<usize, FeedError> {
        let last = &events[events.len() - 1];
        let at = Utc
            .timestamp_millis_opt(events.iter().map(|e| e.at).max().unwrap_or(last.at))
            .single()
            .unwrap_or_else(Utc::now);
        let by_parent = match &last.parent_id {
            Some(parent) => Some(self.pair_of_source(parent).await?),
            None => None,
        };
        if by_parent.as_ref().is_some_and(Option::is_none) {
            // Pages of other databases are ignored (CONTRACT §7).
            return self.done(events, None).await;
        }
        if last.kind == "page.deleted" {
            let pair = match by_parent.flatten() {
                Some(pair) => Some(pair),
                None => self.pair_linking(page_id).await?,
            };
            return self
                .done(events, pair.map(|p| PageChange::gone(p, page_id, at)))
                .await;
        }
        // The snapshot as it was before the read: a write of ours landing (and folded into the
        // snapshot by the sender) while the read is on its way must not make the read's older
        // value of that property look like a new edit.
        let early_pair = by_parent.clone().flatten();
        let early = match &early_pair {
            Some(p) => Some(stored::page_snapshot(&self.db.pool, p, &compact_id(page_id)).await?),
            None => None,
        };
        // Asked before the read (once per start): a failure counts as the read's.
        let bot = self.sources.bot_id().await?;
        let page = match self.sources.client().retrieve_page(page_id).await {
            Ok(page) => page,
            Err(e) if page_gone(&e) => {
                let pair = self.pair_linking(page_id).await?;
                return self
                    .done(events, pair.map(|p| PageChange::gone(p, page_id, at)))
                    .await;
            }
            Err(e) => return Err(e.into()),
        };
        let Some(parent) = page.data_source_id() else {
            return self.done(events, None).await;
        };
        let Some(pair) = self.pair_of_source(parent).await? else {
            return self.done(events, None).await;
        };
        let whole = events.iter().any(|e| e.kind == "page.undeleted");
        let early = early.filter(|_| early_pair.as_deref() == Some(pair.as_str()));
        let when = When::At(at);
        let mut change = PageChange::read(&pair, &page, bot, early.flatten(), whole, when);
        // Keyed by the event: a page restored in the minute it was trashed reads as it did
        // before, yet is a change of its own. A crash re-reads the same events, same key.
        change.key = Some(format!("ev:{}", last.id));
        self.done(events, Some(change)).await
    }

    /// Stores the change (if any) and marks the events read, in one transaction.
    async fn done(
        &self,
        events: &[PendingEvent],
        change: Option<PageChange>,
    ) -> Result<usize, FeedError> {
        let mut tx = self.db.begin_write().await?;
        let n = match &change {
            Some(c) => store_change(&mut tx, self.pairs.get(&c.pair).map(|p| &**p), c).await?,
            None => 0,
        };
        for event in events {
            stored::mark_event_done(&mut *tx, &event.id).await?;
        }
        tx.commit().await.map_err(StoreError::from)?;
        count(n);
        Ok(n)
    }

    /// Every pair's pages edited since its last poll (minus a minute); answers the changes stored.
    pub async fn poll_all(&self) -> Result<usize, FeedError> {
        let mut total = 0;
        for name in self.pairs.keys() {
            total += self.poll_pair(name).await?;
        }
        Ok(total)
    }

    async fn poll_pair(&self, pair: &str) -> Result<usize, FeedError> {
        let ctx = &self.pairs[pair];
        let started = now_ms();
        let Some(mark) = stored::polled_at(&self.db.pool, pair).await? else {
            // The first poll starts the mark: what came before is reconciliation's to read.
            stored::set_polled_at(&self.db.pool, pair, started).await?;
            return Ok(0);
        };
        let since = Utc.timestamp_millis_opt(mark - ROUNDING).single();
        let ds = self.sources.get(&ctx.settings).await?;
        let bot = self.sources.bot_id().await?;
        // Before the query, as an event's read takes its page's (`read_page_events`).
        let mut early = stored::page_snapshots(&self.db.pool, pair).await?;
        let pages = self
            .sources
            .client()
            .query_data_source(&ds.id, since)
            .await?;
        let now = Utc::now();
        // An edit the previous poll did not show was made after it began (`dating.rs`).
        let previous = Utc.timestamp_millis_opt(mark).single();
        let changes: Vec<PageChange> = (pages.iter())
            .map(|page| {
                let edited = page.last_edited_time;
                let when = When::Polled(Window {
                    after: previous.map_or(edited, |p| p.max(edited)),
                    before: polled_change_time(edited, now),
                });
                let early = early.remove(&compact_id(&page.id));
                PageChange::read(pair, page, bot, early, false, when)
            })
            .collect();
        let mut tx = self.db.begin_write().await?;
        let mut n = 0;
        for change in &changes {
            n += store_change(&mut tx, Some(ctx), change).await?;
        }
        stored::set_polled_at(&mut *tx, pair, started).await?;
        tx.commit().await.map_err(StoreError::from)?;
        count(n);
        // What is left of `early`: kept pages the query did not answer (one may be in the trash).
        Ok(n + self.recheck_pages(ctx, bot, early).await?)
    }

    /// The pair whose data source this is; `None` for another database's.
    async fn pair_of_source(&self, data_source_id: &str) -> Result<Option<String>, FeedError> {
        for (name, ctx) in &self.pairs {
            let ds = self.sources.get(&ctx.settings).await?;
            if same_id(&ds.id, data_source_id) {
                return Ok(Some(name.clone()));
            }
        }
        Ok(None)
    }

    /// The pair with a lead linked to this page (a page gone for good names no parent).
    async fn pair_linking(&self, page_id: &str) -> Result<Option<String>, FeedError> {
        for name in self.pairs.keys() {
            if links::get_by_lead(&self.db.pool, name, page_id)
                .await?
                .is_some()
            {
                return Ok(Some(name.clone()));
            }
        }
        Ok(None)
    }
}

/// The latest moment a change a poll found can have been made: Notion rounds the edit time down
/// to the minute, so the end of that minute, never after the read. A poll's edit is dated at
/// the earliest moment of its window (`dating.rs`); a trashed page a re-read found, here.
fn polled_change_time(edited: DateTime<Utc>, now: DateTime<Utc>) -> DateTime<Utc> {
    let latest = edited + chrono::Duration::milliseconds(ROUNDING - 1);
    latest.min(now).max(edited)
}

fn count(n: usize) {
    if n > 0 {
        metrics::counter!("leadsync_events_received_total", "source" => "notion")
            .increment(n as u64);
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_poll;
