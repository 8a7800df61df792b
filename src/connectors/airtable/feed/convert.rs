//! Airtable payloads as inbox events: one per record change, cells named by field name (what a
//! pair's columns say) and read as text, an absent cell read as empty.

use std::collections::BTreeMap;

use crate::connectors::airtable::client::{Change, Fields, Payload, Table};
use crate::inbound::{RecordChangeEvent, RecordChangeKind};
use crate::sync::context::PairContext;

/// (dedupe key, body) of each change the payloads make to the pair's table, in order. The key
/// is the webhook, the base transaction and the record: the same change read twice (a page
/// re-read after a crash) is stored once.
pub fn record_events(
    ctx: &PairContext,
    table: &Table,
    hook_id: &str,
    payloads: &[Payload],
) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for payload in payloads {
        for change in payload.record_changes() {
            if change.table_id != table.id {
                continue;
            }
            let (kind, changed, unchanged) = match &change.change {
                Change::Created { cells } => (
                    RecordChangeKind::Created,
                    whole(table, cells),
                    BTreeMap::new(),
                ),
                Change::Changed {
                    current, unchanged, ..
                } => {
                    let others = (unchanged.as_ref())
                        .map(|u| others(table, current, u))
                        .unwrap_or_default();
                    (RecordChangeKind::Changed, texts(table, current), others)
                }
                Change::Destroyed => (
                    RecordChangeKind::Destroyed,
                    BTreeMap::new(),
                    BTreeMap::new(),
                ),
            };
            let event = RecordChangeEvent {
                record_id: change.record_id.clone(),
                kind,
                source: change.source.clone(),
                timestamp: change.timestamp,
                changed,
                unchanged,
            };
            let key = format!("{hook_id}:{}:{}", change.transaction, change.record_id);
            match serde_json::to_vec(&event) {
                Ok(body) => out.push((key, body)),
                Err(err) => {
                    tracing::error!(pair = %ctx.name, error = %err, "a record change could not be stored");
                }
            }
        }
    }
    out
}

/// The field ids the payloads name, to tell whether a table read is still current.
pub fn field_ids(payloads: &[Payload], table_id: &str) -> Vec<String> {
    let mut out = Vec::new();
    for change in payloads.iter().flat_map(Payload::record_changes) {
        if change.table_id != table_id {
            continue;
        }
        match change.change {
            Change::Created { cells } => out.extend(cells.into_keys()),
            Change::Changed {
                current, unchanged, ..
            } => {
                out.extend(current.into_keys());
                out.extend(unchanged.into_iter().flat_map(|u| u.into_keys()));
            }
            Change::Destroyed => {}
        }
    }
    out
}

/// Cells by field name as text; values leadsync maps to nothing (numbers, lists) are left out.
fn texts(table: &Table, cells: &Fields) -> BTreeMap<String, String> {
    cells
        .iter()
        .filter_map(|(id, cell)| {
            let field = table.fields.iter().find(|f| &f.id == id)?;
            Some((field.name.clone(), cell.text()?.to_owned()))
        })
        .collect()
}

/// A created record's cells: every field of the table, empty where the payload has no cell.
fn whole(table: &Table, cells: &Fields) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = (table.fields.iter())
        .map(|f| (f.name.clone(), String::new()))
        .collect();
    out.extend(texts(table, cells));
    out
}

/// The cells a change did not touch: as the payload lists them, empty where it lists none.
fn others(table: &Table, current: &Fields, unchanged: &Fields) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = (table.fields.iter())
        .filter(|f| !current.contains_key(&f.id))
        .map(|f| (f.name.clone(), String::new()))
        .collect();
    out.extend(texts(table, unchanged));
    out
}
