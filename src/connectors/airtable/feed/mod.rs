//! Airtable's change feed: its notifications only say "something changed", so the webhooks'
//! payloads are read here. Each page of changes becomes inbox events in the same transaction that moves the
//! feed's cursor past them, so a crash re-reads a page rather than skipping it, and the inbox's
//! dedupe key makes the re-read harmless. The worker then treats them like any other event.

mod convert;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;

use crate::clients::http::ClientError;
use crate::connectors::airtable::client::{AirtableClient, PayloadPage, RecordChange, Table};
use crate::inbound::Source;
use crate::store::tracker_webhooks::{self, TrackerWebhook};
use crate::store::{Db, StoreError, inbox};
use crate::sync::connector::{BoxFuture, ChangeFeed};
use crate::sync::context::PairContext;

use convert::{field_ids, record_changes, record_events};

/// How often the fetcher looks for notified feeds: a notification is stored, not signalled.
const POLL: Duration = Duration::from_millis(200);
/// The connector name of Airtable's feeds in `tracker_webhooks`.
pub const AIRTABLE: &str = "airtable";

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("reading {what}: {source}")]
    Api {
        what: &'static str,
        #[source]
        source: ClientError,
    },
    #[error("table \"{0}\" is not in the base")]
    NoTable(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Reads notified feeds into the inbox.
#[derive(Clone)]
pub struct Fetcher {
    db: Db,
    airtable: AirtableClient,
    pairs: HashMap<String, Arc<PairContext>>,
    /// Each pair's table as last read: payloads name fields by id, leads by name.
    tables: Arc<Mutex<HashMap<String, Table>>>,
    /// Feeds whose last read failed: when to try again, and the wait after that. A feed that
    /// keeps failing (a webhook Airtable deleted) must not spend the base's 5 calls a second.
    backoff: Arc<std::sync::Mutex<HashMap<String, (Instant, Duration)>>>,
}

/// The first wait after a failed read, doubled per failure up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(60);

impl ChangeFeed for Fetcher {
    fn name(&self) -> &'static str {
        "change feed fetcher"
    }

    fn run(self: Box<Self>, shutdown: CancellationToken) -> BoxFuture<'static, ()> {
        Box::pin(Fetcher::run(*self, shutdown))
    }
}

impl Fetcher {
    /// `pairs`: the Airtable pairs, whose feeds it reads.
    pub fn new(db: Db, airtable: AirtableClient, pairs: HashMap<String, Arc<PairContext>>) -> Self {
        Self {
            db,
            airtable,
            pairs,
            tables: Arc::default(),
            backoff: Arc::default(),
        }
    }

    /// Reads every feed once (a notification may have been missed while the daemon was down,
    /// or acknowledged just before a crash), then whatever is notified, until `shutdown`.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut first = true;
        loop {
            let round = async {
                match first {
                    true => self.fetch_all().await,
                    false => self.fetch_due().await,
                }
            };
            tokio::select! {
                () = shutdown.cancelled() => return,
                result = round => if let Err(err) = result {
                    tracing::warn!(error = %err, "reading the change feeds failed; retrying");
                } else {
                    first = false;
                },
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(POLL) => {}
            }
        }
    }

    /// Reads the feeds notified since their last read; answers the events stored.
    pub async fn fetch_due(&self) -> Result<usize, FetchError> {
        let due = tracker_webhooks::due(&self.db.pool).await?;
        self.fetch_each(due).await
    }

    /// Reads every feed of a configured pair, notified or not.
    pub async fn fetch_all(&self) -> Result<usize, FetchError> {
        let all = tracker_webhooks::list(&self.db.pool).await?;
        self.fetch_each(all).await
    }

    async fn fetch_each(&self, hooks: Vec<TrackerWebhook>) -> Result<usize, FetchError> {
        let mut stored = 0;
        let mut first_error = None;
        for hook in hooks {
            if hook.connector != AIRTABLE || !self.pairs.contains_key(&hook.pair) {
                continue;
            }
            if self.waiting(&hook.id) {
                continue;
            }
            // One feed's failure is recorded on it and does not hold back the others.
            let result = self.fetch(&hook).await;
            self.note_result(&hook.id, result.is_ok());
            match result {
                Ok(n) => stored += n,
                Err(err) => {
                    let text = err.to_string();
                    tracker_webhooks::record_error(&self.db.pool, AIRTABLE, &hook.id, Some(&text))
                        .await?;
                    first_error.get_or_insert(err);
                }
            }
        }
        match first_error {
            Some(err) => Err(err),
            None => Ok(stored),
        }
    }

    /// True while a feed waits after a failed read.
    fn waiting(&self, hook: &str) -> bool {
        let backoff = self.backoff.lock().unwrap_or_else(|p| p.into_inner());
        backoff
            .get(hook)
            .is_some_and(|(next, _)| Instant::now() < *next)
    }

    /// A success clears the feed's wait; a failure doubles it.
    fn note_result(&self, hook: &str, ok: bool) {
        let mut backoff = self.backoff.lock().unwrap_or_else(|p| p.into_inner());
        if ok {
            backoff.remove(hook);
            return;
        }
        let wait = backoff
            .get(hook)
            .map_or(FIRST_BACKOFF, |(_, w)| (*w * 2).min(MAX_BACKOFF));
        backoff.insert(hook.to_owned(), (Instant::now() + wait, wait));
    }

    /// Reads one feed from its cursor until Airtable says there is no more.
    async fn fetch(&self, hook: &TrackerWebhook) -> Result<usize, FetchError> {
        let ctx = &self.pairs[&hook.pair];
        // Notifications counted before this read began are answered by it; one arriving
        // during the read may announce a change the read missed, so it stays due.
        let upto = hook.pinged;
        let mut cursor = u64::try_from(hook.cursor).unwrap_or(1);
        let mut stored = 0;
        loop {
            let page = (self
                .airtable
                .payloads(&hook.base_id, &hook.id, cursor)
                .await)
                .map_err(|source| FetchError::Api {
                    what: "the webhook's payloads",
                    source,
                })?;
            stored += self.store_page(ctx, hook, &page, upto).await?;
            if !page.might_have_more {
                return Ok(stored);
            }
            cursor = page.cursor;
        }
    }

    /// One page's events and the cursor after it, in one transaction.
    async fn store_page(
        &self,
        ctx: &PairContext,
        hook: &TrackerWebhook,
        page: &PayloadPage,
        upto: i64,
    ) -> Result<usize, FetchError> {
        let changes = record_changes(&page.payloads);
        let table = self.table(ctx, &changes).await?;
        let events = record_events(ctx, &table, &hook.id, &changes);
        let mut tx = self.db.begin_write().await?;
        let mut stored = 0;
        for (key, body) in &events {
            let new =
                inbox::insert_fetched(&mut *tx, Source::Airtable, key, &ctx.name, body).await?;
            stored += usize::from(new.is_some());
        }
        let cursor = i64::try_from(page.cursor).unwrap_or(i64::MAX);
        tracker_webhooks::advance_cursor(&mut *tx, AIRTABLE, &hook.id, cursor).await?;
        if !page.might_have_more {
            tracker_webhooks::mark_fetched(&mut *tx, AIRTABLE, &hook.id, upto).await?;
            tracker_webhooks::record_error(&mut *tx, AIRTABLE, &hook.id, None).await?;
        }
        tx.commit().await.map_err(StoreError::from)?;
        if stored > 0 {
            metrics::counter!("leadsync_events_received_total", "source" => "airtable")
                .increment(stored as u64);
        }
        Ok(stored)
    }

    /// The pair's table, read again when a payload names a field it does not know (a field
    /// added or renamed since).
    async fn table(
        &self,
        ctx: &PairContext,
        changes: &[RecordChange],
    ) -> Result<Table, FetchError> {
        let mut tables = self.tables.lock().await;
        let known = tables.get(&ctx.name).filter(|t| {
            (field_ids(changes, &t.id).into_iter()).all(|f| t.fields.iter().any(|k| k.id == f))
        });
        if let Some(table) = known {
            return Ok(table.clone());
        }
        let s = &ctx.settings;
        let (base, name) = (s.base_id.as_deref().unwrap_or_default(), s.table.as_deref());
        let name = name.unwrap_or_default();
        let table = (self.airtable.table(base, name).await)
            .map_err(|source| FetchError::Api {
                what: "the table's fields",
                source,
            })?
            .ok_or_else(|| FetchError::NoTable(name.to_owned()))?;
        tables.insert(ctx.name.clone(), table.clone());
        Ok(table)
    }
}

#[cfg(test)]
mod tests;
