//! Google Sheets as a lead tracker: the sheet's header row as its column names, the sheet as
//! read as the reconciliation grid, and tracker commands batched per pair (one read, one
//! `batchUpdate`, one `append`, then a read-back check for rows that moved). Beside it, all of
//! Sheets: its client (`client`), its emulator (`sandbox`), its `check` and the Apps Script that
//! sends its webhooks (`apps_script`).

pub mod apps_script;
mod batch;
pub mod check;
pub mod client;
pub mod sandbox;
mod send;
mod settle;
mod settling;
mod verify;

use crate::clients::http::ClientError;
use crate::config::PairSettings;
use crate::connectors::sheets::client::SheetsClient;
use crate::connectors::sheets::client::a1::quote_sheet;
use crate::model::TrackerKind;
use crate::store::pairs::NewPair;
use crate::store::{Db, StoreError};
use crate::sync::connector::{BoxFuture, Budget, Claimed, Outcome, TrackerConnector};
use crate::sync::context::PairContext;

/// Commands one sheet batch takes: its id and card-URL writes are a cell each, so a first sync
/// of 10 000 leads writes its ids in one `batchUpdate` (about 0.7 MB), read once and read back
/// once; the sender splits a body past 1.5 MB into more calls.
pub const SHEET_BATCH: usize = 10_000;

/// The Sheets connector: every Sheets pair's spreadsheet through one client.
pub struct SheetsTracker {
    client: SheetsClient,
    /// Keeps a reconciliation's read out of a batch's window between its writes and their
    /// check (`settling`).
    settling: settling::Settling,
}

impl SheetsTracker {
    pub fn new(client: SheetsClient) -> Self {
        Self {
            client,
            settling: settling::Settling::default(),
        }
    }

    /// A Sheets pair as stored: its settings are the spreadsheet and the sheet (tab).
    pub(crate) fn stored_of(pair: &PairSettings) -> NewPair {
        NewPair::sheets(
            &pair.name,
            &pair.spreadsheet_id,
            &pair.sheet,
            &pair.board_id,
        )
    }
}

impl TrackerConnector for SheetsTracker {
    fn kind(&self) -> TrackerKind {
        TrackerKind::Sheets
    }

    fn place(&self, pair: &PairSettings) -> String {
        format!("sheet \"{}\"", pair.sheet)
    }

    fn stored(&self, pair: &PairSettings) -> NewPair {
        Self::stored_of(pair)
    }

    /// Google counts a service account's calls per user (one limiter for reads and writes).
    fn budget(&self, _pair: &PairSettings) -> Vec<Budget> {
        let scopes = ["per user"];
        scopes
            .into_iter()
            .zip(self.client.limiter_stats())
            .map(|(scope, stats)| Budget {
                scope: scope.to_owned(),
                stats,
            })
            .collect()
    }

    fn column_names<'a>(
        &'a self,
        pair: &'a PairSettings,
    ) -> BoxFuture<'a, Result<Vec<String>, ClientError>> {
        Box::pin(async move {
            let range = format!("{}!1:1", quote_sheet(&pair.sheet));
            let header = self.client.read_range(&pair.spreadsheet_id, &range).await?;
            Ok(header.values.into_iter().next().unwrap_or_default())
        })
    }

    fn read_grid<'a>(
        &'a self,
        ctx: &'a PairContext,
        db: &'a Db,
    ) -> BoxFuture<'a, Result<Vec<Vec<String>>, ClientError>> {
        let s = &ctx.settings;
        Box::pin(async move {
            let _settled = self.settling.read(db, &s.spreadsheet_id, &s.sheet).await;
            Ok(self
                .client
                .read_sheet(&s.spreadsheet_id, &s.sheet)
                .await?
                .values)
        })
    }

    fn batch_limit(&self) -> Option<usize> {
        Some(SHEET_BATCH)
    }

    fn send<'a>(
        &'a self,
        ctx: &'a PairContext,
        batch: &'a [Claimed],
        db: &'a Db,
    ) -> BoxFuture<'a, Result<Vec<Outcome>, StoreError>> {
        Box::pin(async move { Ok(self.send_batch(ctx, batch, db).await) })
    }
}
