//! Start-up resolution: for each configured pair, find its lists and custom fields by name, the
//! token's member, and the tracker's columns (asked of its connector); a missing one is a clear
//! error naming it.

use std::collections::HashMap;
use std::sync::Arc;

use crate::clients::http::ClientError;
use crate::config::Settings;
use crate::store::{Db, StoreError, pairs};
use crate::sync::board::BoardConnector;
use crate::sync::connector::Trackers;
use crate::sync::context::{PairContext, Unresolved};
use crate::sync::mapping::{ColumnMap, MissingColumns};

#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error("no [[pairs]] configured: add one to the config file (see config/example.toml)")]
    NoPairs,
    #[error("pair {pair}: {source}")]
    Api {
        pair: String,
        #[source]
        source: ClientError,
    },
    #[error("{0}; run `leadsync check --fix` to create what is missing")]
    Board(#[from] Unresolved),
    #[error("pair {pair}: {sheet}: {source}; run `leadsync check --fix` to add what is missing")]
    Columns {
        pair: String,
        sheet: String,
        #[source]
        source: MissingColumns,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Resolves every pair and records them (and the member id) in the database.
pub async fn resolve_pairs(
    settings: &Settings,
    db: &Db,
    board: &dyn BoardConnector,
    trackers: &Trackers,
) -> Result<HashMap<String, Arc<PairContext>>, ResolveError> {
    let out = resolve_contexts(settings, board, trackers).await?;
    record_pairs(settings, db, trackers, &out).await?;
    Ok(out)
}

/// Upserts the configured pairs and their member id (what `--dry-run` must not do).
/// Each pair is stored as its tracker's connector describes it; resolution has checked that
/// every pair's connector exists.
pub async fn record_pairs(
    settings: &Settings,
    db: &Db,
    trackers: &Trackers,
    contexts: &HashMap<String, Arc<PairContext>>,
) -> Result<(), StoreError> {
    let records: Vec<pairs::NewPair> = (settings.pairs.iter())
        .filter_map(|p| Some(trackers.get(p.tracker).ok()?.stored(p)))
        .collect();
    pairs::upsert_all(db, &records).await?;
    for (name, ctx) in contexts {
        pairs::set_member_id(&db.pool, name, &ctx.member_id).await?;
    }
    Ok(())
}

/// Resolves every pair against the APIs without touching the database.
pub async fn resolve_contexts(
    settings: &Settings,
    board: &dyn BoardConnector,
    trackers: &Trackers,
) -> Result<HashMap<String, Arc<PairContext>>, ResolveError> {
    if settings.pairs.is_empty() {
        return Err(ResolveError::NoPairs);
    }
    let api = |pair: &str| {
        let pair = pair.to_owned();
        move |source| ResolveError::Api { pair, source }
    };
    let first = &settings.pairs[0].name;
    let member = board.member_id().await.map_err(api(first))?;
    let mut out = HashMap::new();
    for pair in &settings.pairs {
        let layout = (board.layout(&pair.board_id).await).map_err(api(&pair.name))?;
        let ctx = PairContext::new(settings, pair, &layout, &member)?;
        let tracker =
            (trackers.get(pair.tracker)).map_err(|e| api(&pair.name)(ClientError::Config(e)))?;
        let row1 = tracker.column_names(pair).await.map_err(api(&pair.name))?;
        let place = tracker.place(pair);
        ColumnMap::from_header(&row1, &ctx.columns).map_err(|source| ResolveError::Columns {
            pair: pair.name.clone(),
            sheet: place.clone(),
            source,
        })?;
        tracing::info!(pair = %pair.name, board = %pair.board_id, tracker = %pair.tracker, %place, "pair resolved");
        out.insert(pair.name.clone(), Arc::new(ctx));
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
