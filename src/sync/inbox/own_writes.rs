//! What leadsync wrote to a lead's tracker record, to tell its own writes coming back (whose
//! notices may arrive late and out of order) from users' changes.

use sqlx::SqlitePool;

use crate::store::{StoreError, lead_state};
use crate::sync::context::PairContext;
use crate::sync::merge::state::lead_state as merge_state;
use crate::sync::observe::OwnWrites;
use crate::sync::plan::commands::Command;

/// How far back leadsync's own tracker writes are remembered.
const OWN_WRITES_WINDOW_MS: i64 = 15 * 60 * 1000;

/// The lead's agreed values and the cells of its tracker writes of the last
/// [`OWN_WRITES_WINDOW_MS`].
pub async fn own_writes(
    pool: &SqlitePool,
    ctx: &PairContext,
    lead: &str,
    now_ms: i64,
) -> Result<OwnWrites, StoreError> {
    let agreed = merge_state(&lead_state::load_lead(pool, &ctx.name, lead).await?);
    let since = now_ms - OWN_WRITES_WINDOW_MS;
    let payloads = lead_state::recent_tracker_writes(pool, &ctx.name, lead, since).await?;
    let cells = (payloads.iter())
        .filter_map(|p| serde_json::from_str::<Command>(p).ok())
        .flat_map(|cmd| match cmd {
            Command::WriteRow { cells, .. } | Command::AppendRow { cells, .. } => cells,
            _ => Default::default(),
        })
        .collect();
    Ok(OwnWrites { agreed, cells })
}
