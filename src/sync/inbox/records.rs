//! A lead's tracker record changes as the merge sees them, decided from the lead's facts with
//! no I/O: whether one is leadsync's own write coming back (the echo test), whether it must wait
//! for a create in flight to be adopted, and which are no lead at all.

use chrono::{DateTime, Utc};

use crate::inbound::RecordChangeKind;
use crate::sync::context::PairContext;
use crate::sync::inbox::group::{Group, LeadFacts};
use crate::sync::observe::{OwnWrites, observe_record};

/// How long a record change no lead holds waits for a create in flight to link its record.
pub const UNLINKED_RECORD_WAIT_MS: i64 = 10 * 60 * 1000;

/// True when the group's events stay pending: a record no lead holds changed through the API
/// while a record create leadsync asked for is unfinished. It may be that create's record, which
/// its lead adopts when the create's answer is recorded; read before that, it would look like a
/// new lead (and get a second card).
pub fn must_wait(facts: &LeadFacts, group: &Group, now: DateTime<Utc>) -> bool {
    let now_ms = now.timestamp_millis();
    facts.link.is_none()
        && facts.tombstone.is_none()
        && facts.appends_unfinished
        && (group.records.iter())
            .any(|r| r.change.by_api() && now_ms - r.received_at < UNLINKED_RECORD_WAIT_MS)
}

/// The group with its record changes observed as rows, in arrival order. A record no lead is
/// linked to is observed whole (its card is made from every field), a linked one by the cells
/// its change set; a cell changed through the API that shows a value leadsync wrote (agreed, or
/// one of its recent writes) is an echo. A record without a name is no lead yet (CONTRACT §3):
/// dropped unless a lead is linked to it.
pub fn observe_records(
    ctx: &PairContext,
    facts: &LeadFacts,
    mut group: Group,
    warnings: &mut Vec<String>,
) -> Group {
    if group.records.is_empty() {
        return group;
    }
    let ours = OwnWrites {
        agreed: facts.state.clone(),
        cells: facts.own_cells.clone(),
    };
    let linked = facts.link.is_some();
    for record in std::mem::take(&mut group.records) {
        let whole = !linked || record.change.kind == RecordChangeKind::Created;
        let row = observe_record(
            ctx,
            &record.change,
            record.changed_at,
            whole,
            &ours,
            warnings,
        );
        if linked || row.lead.is_lead() {
            group.rows.push(row);
        }
    }
    group
}

#[cfg(test)]
mod tests;
