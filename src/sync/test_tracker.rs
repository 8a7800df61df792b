//! A fake tracker connector for the sync modules' unit tests: a Sheets or Airtable kind with a
//! fixed header and no rows, whose `send` and change feed are the test's closures, so each
//! test writes only the behaviour it is about.

use std::collections::HashMap;
use std::sync::Arc;

use crate::clients::http::ClientError;
use crate::config::PairSettings;
use crate::model::TrackerKind;
use crate::store::pairs::NewPair;
use crate::store::{Db, StoreError};
use crate::sync::connector::{BoxFuture, ChangeFeed, Claimed, Outcome, TrackerConnector};
use crate::sync::context::PairContext;

/// What `send` answers for a batch (the test decides; it may wait).
pub type SendFn =
    Arc<dyn Fn(&[Claimed]) -> BoxFuture<'static, Result<Vec<Outcome>, StoreError>> + Send + Sync>;
/// The change feed made for the pairs of the fake's kind.
pub type FeedFn =
    Arc<dyn Fn(HashMap<String, Arc<PairContext>>) -> Option<Box<dyn ChangeFeed>> + Send + Sync>;

/// A tracker of `kind` whose header is `header`, whose grid is empty, and whose sends and feed
/// are closures (by default: no outcome, no feed).
pub struct FakeTracker {
    pub kind: TrackerKind,
    pub header: Vec<String>,
    pub send: SendFn,
    pub feed: Option<FeedFn>,
}

impl FakeTracker {
    /// A Sheets-kind fake that answers every batch with nothing, and no header.
    pub fn sheets() -> Self {
        Self::of(TrackerKind::Sheets)
    }

    /// A fake of `kind` that answers every batch with nothing, and no header.
    pub fn of(kind: TrackerKind) -> Self {
        Self {
            kind,
            header: Vec::new(),
            send: Arc::new(|_| Box::pin(async { Ok(Vec::new()) })),
            feed: None,
        }
    }

    /// Sends through `send`.
    pub fn sending(
        mut self,
        send: impl Fn(&[Claimed]) -> BoxFuture<'static, Result<Vec<Outcome>, StoreError>>
        + Send
        + Sync
        + 'static,
    ) -> Self {
        self.send = Arc::new(send);
        self
    }
}

impl TrackerConnector for FakeTracker {
    fn kind(&self) -> TrackerKind {
        self.kind
    }

    fn place(&self, pair: &PairSettings) -> String {
        format!("fake {:?} of {}", self.kind, pair.name)
    }

    fn stored(&self, pair: &PairSettings) -> NewPair {
        match self.kind {
            TrackerKind::Airtable => NewPair::airtable(&pair.name, "", "", &pair.board_id),
            _ => NewPair::sheets(&pair.name, "", "", &pair.board_id),
        }
    }

    fn column_names<'a>(
        &'a self,
        _pair: &'a PairSettings,
    ) -> BoxFuture<'a, Result<Vec<String>, ClientError>> {
        Box::pin(async { Ok(self.header.clone()) })
    }

    fn read_grid<'a>(
        &'a self,
        _ctx: &'a PairContext,
        _db: &'a Db,
    ) -> BoxFuture<'a, Result<Vec<Vec<String>>, ClientError>> {
        Box::pin(async { Ok(Vec::new()) })
    }

    fn send<'a>(
        &'a self,
        _ctx: &'a PairContext,
        batch: &'a [Claimed],
        _db: &'a Db,
    ) -> BoxFuture<'a, Result<Vec<Outcome>, StoreError>> {
        (self.send)(batch)
    }

    fn change_feed(
        &self,
        _db: Db,
        pairs: HashMap<String, Arc<PairContext>>,
    ) -> Option<Box<dyn ChangeFeed>> {
        self.feed.as_ref().and_then(|feed| feed(pairs))
    }
}
