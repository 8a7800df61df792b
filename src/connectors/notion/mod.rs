//! Notion as a lead tracker (issue 13): the data source's property names as its column names,
//! its pages laid out as the reconciliation grid (`grid`), tracker commands sent a page per call
//! (`send`), and the change feed that reads the pages Notion's events name, and polls (`feed`).
//! Beside it, all of Notion: its client (`client`, with the events' signature check), its
//! emulator (`sandbox`), the pair's data source found and remembered (`source`), and its
//! `check`.

pub mod check;
pub mod client;
mod feed;
mod grid;
pub mod sandbox;
mod send;
pub mod source;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use crate::clients::http::ClientError;
use crate::config::PairSettings;
use crate::connectors::notion::client::NotionClient;
use crate::connectors::notion::source::Sources;
use crate::model::TrackerKind;
use crate::store::pairs::NewPair;
use crate::store::{Db, StoreError};
use crate::sync::connector::{BoxFuture, Budget, ChangeFeed, Claimed, Outcome, TrackerConnector};
use crate::sync::context::PairContext;

pub use feed::Feed;

/// The Notion connector: every Notion pair's data source through one client (one integration).
#[derive(Clone)]
pub struct NotionTracker {
    sources: Sources,
    /// `notion.poll_interval_secs`; `None` when 0 (polling off).
    poll: Option<Duration>,
}

impl NotionTracker {
    pub fn new(client: NotionClient, poll: Option<Duration>) -> Self {
        Self {
            sources: Sources::new(client),
            poll,
        }
    }

    /// A Notion pair as stored: its settings name the database or the data source.
    pub(crate) fn stored_of(pair: &PairSettings) -> NewPair {
        let settings = match (&pair.database_id, &pair.data_source_id) {
            (Some(db), _) => serde_json::json!({ "database_id": db }),
            (None, ds) => serde_json::json!({ "data_source_id": ds }),
        };
        NewPair::notion(&pair.name, settings, &pair.board_id)
    }
}

/// `notion.poll_interval_secs` as the feed's interval; 0 is off.
pub fn poll_interval(secs: u64) -> Option<Duration> {
    (secs > 0).then(|| Duration::from_secs(secs))
}

impl TrackerConnector for NotionTracker {
    fn kind(&self) -> TrackerKind {
        TrackerKind::Notion
    }

    fn place(&self, pair: &PairSettings) -> String {
        match (&pair.database_id, &pair.data_source_id) {
            (Some(db), _) => format!("Notion database \"{db}\""),
            (None, ds) => format!("Notion data source \"{}\"", ds.as_deref().unwrap_or("")),
        }
    }

    fn stored(&self, pair: &PairSettings) -> NewPair {
        Self::stored_of(pair)
    }

    /// Notion counts calls per integration, whatever the database.
    fn budget(&self, _pair: &PairSettings) -> Vec<Budget> {
        (self.sources.client().limiter_stats().into_iter())
            .map(|stats| Budget {
                scope: "per integration".to_owned(),
                stats,
            })
            .collect()
    }

    /// The data source's property names (read now: start-up checks them against the columns).
    fn column_names<'a>(
        &'a self,
        pair: &'a PairSettings,
    ) -> BoxFuture<'a, Result<Vec<String>, ClientError>> {
        Box::pin(async move {
            let ds = self.sources.refresh(pair).await?;
            Ok(ds.properties.keys().cloned().collect())
        })
    }

    /// Every page of the data source, page after page of results, laid out under the pair's
    /// property names.
    fn read_grid<'a>(
        &'a self,
        ctx: &'a PairContext,
        _db: &'a Db,
    ) -> BoxFuture<'a, Result<Vec<Vec<String>>, ClientError>> {
        Box::pin(async move {
            let ds = self.sources.get(&ctx.settings).await?;
            let pages = self
                .sources
                .client()
                .query_data_source(&ds.id, None)
                .await?;
            Ok(grid::pages_grid(ctx, &pages))
        })
    }

    fn send<'a>(
        &'a self,
        ctx: &'a PairContext,
        batch: &'a [Claimed],
        db: &'a Db,
    ) -> BoxFuture<'a, Result<Vec<Outcome>, StoreError>> {
        Box::pin(send::send_batch(&self.sources, ctx, batch, db))
    }

    /// Notion's events only name a page, and are aggregated and may lag: pages are read.
    fn change_feed(
        &self,
        db: Db,
        pairs: HashMap<String, Arc<PairContext>>,
    ) -> Option<Box<dyn ChangeFeed>> {
        let sources = self.sources.clone();
        Some(Box::new(Feed::new(db, sources, pairs, self.poll)))
    }
}
