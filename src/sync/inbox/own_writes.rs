//! What leadsync wrote to a lead's tracker record, to tell its own writes coming back (whose
//! notices may arrive late and out of order) from users' changes.

use crate::store::Conn;

use crate::store::{StoreError, lead_state};
use crate::sync::plan::commands::Command;

/// How far back leadsync's own tracker writes are remembered.
const OWN_WRITES_WINDOW_MS: i64 = 15 * 60 * 1000;

/// The cells (header, value) of the lead's tracker writes of the last
/// [`OWN_WRITES_WINDOW_MS`] before `now_ms`, made or queued.
pub async fn own_cells(
    conn: &mut Conn,
    pair: &str,
    lead: &str,
    now_ms: i64,
) -> Result<Vec<(String, String)>, StoreError> {
    let since = now_ms - OWN_WRITES_WINDOW_MS;
    let payloads = lead_state::recent_tracker_writes(&mut *conn, pair, lead, since).await?;
    Ok((payloads.iter())
        .filter_map(|p| serde_json::from_str::<Command>(p).ok())
        .flat_map(|cmd| match cmd {
            Command::WriteRow { cells, .. } | Command::AppendRow { cells, .. } => cells,
            _ => Default::default(),
        })
        .collect())
}
