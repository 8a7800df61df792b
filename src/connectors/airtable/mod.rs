//! Airtable as a lead tracker: the table's field names as its column names, its records laid
//! out as the reconciliation grid (`grid`), tracker commands batched ≤ 10 records per request
//! (`send`, `batch`), and the change feed that reads webhook payloads into the inbox (`feed`).
//! Beside it, all of Airtable: its client (`client`, with the notifications' MAC check), its
//! emulator (`sandbox`), its `check`, and its webhooks' registration and upkeep (`webhooks`).

mod batch;
pub mod check;
pub mod client;
mod feed;
mod grid;
pub mod sandbox;
mod send;
pub mod webhooks;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::clients::http::ClientError;
use crate::config::PairSettings;
use crate::connectors::airtable::client::{AirtableClient, Table};
use crate::model::TrackerKind;
use crate::store::pairs::NewPair;
use crate::store::{Db, StoreError};
use crate::sync::connector::{BoxFuture, Budget, ChangeFeed, Claimed, Outcome, TrackerConnector};
use crate::sync::context::PairContext;

/// The Airtable connector: every Airtable pair's table through one client.
#[derive(Clone)]
pub struct AirtableTracker {
    client: AirtableClient,
    /// Pair -> its table: every batch matches headers to field names, and a table's fields
    /// rarely change. Read again when a write names a field the table (as known) lacks.
    tables: Arc<Mutex<HashMap<String, Arc<Table>>>>,
}

/// A pair's base and table (name or id) as configured; empty when unset (config refuses that).
fn base_and_table(pair: &PairSettings) -> (&str, &str) {
    let (base, table) = (pair.base_id.as_deref(), pair.table.as_deref());
    (base.unwrap_or_default(), table.unwrap_or_default())
}

impl AirtableTracker {
    pub fn new(client: AirtableClient) -> Self {
        Self {
            client,
            tables: Arc::default(),
        }
    }

    /// An Airtable pair as stored: its settings are the base and the table (name or id).
    pub(crate) fn stored_of(pair: &PairSettings) -> NewPair {
        let (base, table) = base_and_table(pair);
        NewPair::airtable(&pair.name, base, table, &pair.board_id)
    }

    /// The pair's table as last read, if it was.
    fn cached(&self, pair: &str) -> Option<Arc<Table>> {
        self.tables().get(pair).cloned()
    }

    /// Reads the pair's table and remembers it; `None` when the base has no such table.
    async fn read(
        &self,
        ctx: &PairContext,
        (base, table): (&str, &str),
    ) -> Result<Option<Arc<Table>>, ClientError> {
        let read = self.client.table(base, table).await?.map(Arc::new);
        let mut tables = self.tables();
        match &read {
            Some(t) => tables.insert(ctx.name.clone(), t.clone()),
            None => tables.remove(&ctx.name),
        };
        Ok(read)
    }

    fn forget(&self, pair: &str) {
        self.tables().remove(pair);
    }

    fn tables(&self) -> MutexGuard<'_, HashMap<String, Arc<Table>>> {
        self.tables.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl TrackerConnector for AirtableTracker {
    fn kind(&self) -> TrackerKind {
        TrackerKind::Airtable
    }

    fn place(&self, pair: &PairSettings) -> String {
        let (base, table) = base_and_table(pair);
        format!("Airtable table \"{table}\" of base {base}")
    }

    fn stored(&self, pair: &PairSettings) -> NewPair {
        Self::stored_of(pair)
    }

    /// Airtable counts calls per token (all bases) and per base.
    fn budget(&self, pair: &PairSettings) -> Vec<Budget> {
        let (base, _) = base_and_table(pair);
        let scopes = ["per token".to_owned(), format!("per base {base}")];
        let stats = self.client.limiter_stats(base).unwrap_or_default();
        scopes
            .into_iter()
            .zip(stats)
            .map(|(scope, stats)| Budget { scope, stats })
            .collect()
    }

    /// The field names of the pair's table: what a sheet's header row is to a Sheets pair.
    fn column_names<'a>(
        &'a self,
        pair: &'a PairSettings,
    ) -> BoxFuture<'a, Result<Vec<String>, ClientError>> {
        Box::pin(async move {
            let (base, table) = base_and_table(pair);
            match self.client.table(base, table).await? {
                Some(t) => Ok(t.fields.into_iter().map(|f| f.name).collect()),
                None => Err(ClientError::Config(format!(
                    "table \"{table}\" is not in base {base}"
                ))),
            }
        })
    }

    /// Every record, page after page, laid out under the pair's field names.
    fn read_grid<'a>(
        &'a self,
        ctx: &'a PairContext,
        _db: &'a Db,
    ) -> BoxFuture<'a, Result<Vec<Vec<String>>, ClientError>> {
        Box::pin(async move {
            let (base, table) = base_and_table(&ctx.settings);
            let records = self.client.list_records(base, table).await?;
            Ok(grid::records_grid(ctx, &records))
        })
    }

    fn send<'a>(
        &'a self,
        ctx: &'a PairContext,
        batch: &'a [Claimed],
        db: &'a Db,
    ) -> BoxFuture<'a, Result<Vec<Outcome>, StoreError>> {
        Box::pin(self.send_batch(ctx, batch, db))
    }

    /// Airtable's notifications only say that a base changed: the payloads are pulled.
    fn change_feed(
        &self,
        db: Db,
        pairs: HashMap<String, Arc<PairContext>>,
    ) -> Option<Box<dyn ChangeFeed>> {
        Some(Box::new(feed::Fetcher::new(db, self.client.clone(), pairs)))
    }
}
