//! A sheet write carries the agreed value it was planned from, and lands whatever was decided
//! since: Sheets has no conditional write, and a write queued or in flight is not withdrawn.
//! When a person's newer edit (typed in the sheet, or made on the card, and read after the
//! write was planned) changed the agreed value meanwhile, the write puts the older value over
//! it (seed 53: a status typed in the sheet overwritten by the copy of an earlier card move,
//! which the next reconciliation then read as the sheet's edit and copied to the card). A
//! card's write comes back as an echo the merge can tell stale (`merge::stale_echo`); a sheet
//! gives none. So recording a sheet write's landing compares each field it wrote with the
//! lead's agreed value now, and one that differs gets that agreed value written again.

use std::collections::BTreeMap;

use crate::model::TrackerKind;
use crate::store::outbox::Command as Stored;
use crate::store::{Conn, StoreError, dispatch_support, lead_state};
use crate::sync::context::PairContext;
use crate::sync::merge::state::lead_state as merge_state;
use crate::sync::plan::commands::Command;

/// The write of the agreed value of each field that `cmd`, a sheet write that landed, wrote
/// with another value (the agreed value changed after the write was planned), if any; read in
/// the caller's transaction, which enqueues it.
pub(super) async fn superseded_again(
    tx: &mut Conn,
    ctx: &PairContext,
    lead: &str,
    row: &Stored,
    cmd: &Command,
) -> Result<Option<Command>, StoreError> {
    let cells = match cmd {
        Command::WriteRow { cells, .. } | Command::AppendRow { cells, .. } => cells,
        _ => return Ok(None),
    };
    if ctx.tracker != TrackerKind::Sheets {
        return Ok(None);
    }
    let state = merge_state(&lead_state::load_lead(&mut *tx, &ctx.name, lead).await?);
    // A write queued after this one that carries the agreed value lands after it anyway
    // (the decision that changed it saw this one on its way, `plan::overwrite_in_flight`).
    let later = dispatch_support::queued_after(&mut *tx, &ctx.name, lead, row.id).await?;
    let later: Vec<BTreeMap<String, String>> = (later.iter())
        .filter_map(|p| match serde_json::from_str::<Command>(p) {
            Ok(Command::WriteRow { cells, .. }) => Some(cells),
            _ => None,
        })
        .collect();
    let mut again = BTreeMap::new();
    for (header, written) in cells {
        let Some(field) = ctx.field_of_header(header) else {
            continue;
        };
        let agreed = state.get(&field).and_then(|f| f.agreed.as_ref());
        let Some(agreed) = agreed.filter(|a| a.value.trim() != written.trim()) else {
            continue;
        };
        let carried = |c: &BTreeMap<String, String>| {
            (c.iter()).any(|(h, v)| {
                ctx.field_of_header(h) == Some(field) && v.trim() == agreed.value.trim()
            })
        };
        if !later.iter().any(carried) {
            again.insert(header.clone(), agreed.value.clone());
        }
    }
    if again.is_empty() {
        return Ok(None);
    }
    let fields: Vec<&str> = again.keys().map(String::as_str).collect();
    tracing::warn!(pair = %ctx.name, lead_id = %lead, ?fields,
        "a sheet write landed after a newer edit of its fields was agreed; the agreed values are written again");
    Ok(Some(Command::WriteRow {
        lead_id: lead.to_owned(),
        row_hint: None,
        expect_name: None,
        cells: again,
    }))
}
