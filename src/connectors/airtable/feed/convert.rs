//! Airtable payloads as inbox events: one per record change, cells named by field name (what a
//! pair's columns say) and read as text, an absent cell read as empty. A page's payloads are
//! flattened into record changes once ([`record_changes`]); both the table check and the events
//! read that one list.

use std::collections::BTreeMap;

use crate::connectors::airtable::client::{Change, Fields, Payload, RecordChange, Table};
use crate::inbound::{RecordChangeEvent, RecordChangeKind};
use crate::sync::context::PairContext;

/// Every record change of a page's payloads, in order, whatever table it is in.
pub fn record_changes(payloads: &[Payload]) -> Vec<RecordChange> {
    payloads.iter().flat_map(Payload::record_changes).collect()
}

/// (dedupe key, body) of each change to the pair's table, in order. The key is the webhook,
/// the base transaction and the record: the same change read twice (a page re-read after a
/// crash) is stored once.
pub fn record_events(
    ctx: &PairContext,
    table: &Table,
    hook_id: &str,
    changes: &[RecordChange],
) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for change in changes.iter().filter(|c| c.table_id == table.id) {
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
    out
}

/// The field ids the changes to a table name, to tell whether a table read is still current.
pub fn field_ids<'a>(changes: &'a [RecordChange], table_id: &str) -> Vec<&'a str> {
    let mut out = Vec::new();
    for change in changes.iter().filter(|c| c.table_id == table_id) {
        match &change.change {
            Change::Created { cells } => out.extend(cells.keys()),
            Change::Changed {
                current, unchanged, ..
            } => {
                out.extend(current.keys());
                out.extend(unchanged.iter().flat_map(|u| u.keys()));
            }
            Change::Destroyed => {}
        }
    }
    out.into_iter().map(String::as_str).collect()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::airtable::client::Cell;

    fn change(table: &str, change: Change) -> RecordChange {
        RecordChange {
            table_id: table.into(),
            record_id: "rec1".into(),
            change,
            source: "client".into(),
            timestamp: chrono::DateTime::UNIX_EPOCH,
            transaction: 1,
        }
    }

    fn cells(ids: &[&str]) -> Fields {
        (ids.iter())
            .map(|id| ((*id).to_owned(), Cell::Text("x".into())))
            .collect()
    }

    #[test]
    fn the_field_ids_are_those_the_tables_changes_name_whatever_their_kind() {
        let changes = [
            change(
                "tblA",
                Change::Created {
                    cells: cells(&["fA"]),
                },
            ),
            change(
                "tblA",
                Change::Changed {
                    current: cells(&["fB"]),
                    previous: Some(cells(&["fP"])),
                    unchanged: Some(cells(&["fC"])),
                },
            ),
            change("tblA", Change::Destroyed),
            change(
                "tblZ",
                Change::Created {
                    cells: cells(&["fZ"]),
                },
            ),
        ];
        // `previous` names the same fields as `current`; another table's fields are not ours.
        assert_eq!(field_ids(&changes, "tblA"), ["fA", "fB", "fC"]);
    }
}
