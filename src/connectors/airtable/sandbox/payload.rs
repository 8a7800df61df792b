//! Webhook payloads as Airtable documents them (`payloadFormat` v0, cells in the v2 format):
//! which webhooks a change concerns (its specification's filters) and what each payload holds
//! (its `includes`).

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::cells;
use super::change::{Actor, Txn};
use super::model::{SandboxTable, SandboxWebhook, airtable_time};

/// Whether the specification's filters let this change through. Honoured: `dataTypes`
/// (`tableData`), `recordChangeScope` (the table or its view), `fromSources`, `changeTypes`.
fn wants(spec: &Value, table: &SandboxTable, txn: &Txn, source: &str) -> bool {
    let filters = &spec["options"]["filters"];
    let listed = |key: &str, value: &str| match filters[key].as_array() {
        None => true,
        Some(items) => items.iter().any(|v| v == value),
    };
    let data = filters["dataTypes"]
        .as_array()
        .is_some_and(|d| d.iter().any(|v| v == "tableData"));
    let view = format!("viw{}", &table.id[3..]);
    let scoped = filters["recordChangeScope"]
        .as_str()
        .is_none_or(|s| s == table.id || s == view);
    let kinds = (!txn.created.is_empty() && listed("changeTypes", "add"))
        || (!txn.changed.is_empty() && listed("changeTypes", "update"))
        || (!txn.destroyed.is_empty() && listed("changeTypes", "remove"));
    data && scoped && kinds && listed("fromSources", source)
}

fn cells_of<'a>(
    table: &SandboxTable,
    fields: impl Iterator<Item = &'a String>,
    value: impl Fn(&str) -> Option<&'a str>,
) -> Value {
    let mut out = Map::new();
    for id in fields {
        if let Some(field) = table.field(id) {
            out.insert(id.clone(), cells::v2(field, value(id)));
        }
    }
    json!({ "cellValuesByFieldId": out })
}

/// The payload a webhook records for this change, or `None` when its filters leave it out.
pub fn build(
    table: &SandboxTable,
    hook: &SandboxWebhook,
    txn: &Txn,
    number: u64,
    at: DateTime<Utc>,
    actor: &Actor,
) -> Option<Value> {
    let spec = &hook.specification;
    if !wants(spec, table, txn, actor.source) {
        return None;
    }
    let includes = &spec["options"]["includes"];
    let with_previous = includes["includePreviousCellValues"] == json!(true);
    let unchanged_wanted = |field: &str| match &includes["includeCellValuesInFieldIds"] {
        Value::String(s) => s == "all",
        Value::Array(ids) => ids.iter().any(|i| i == field),
        _ => false,
    };
    let mut change = Map::new();
    let mut created = Map::new();
    for r in txn.created.iter().filter_map(|id| table.record(id)) {
        let mut c = cells_of(table, r.cells.keys(), |f| {
            r.cells.get(f).map(String::as_str)
        });
        c["createdTime"] = json!(airtable_time(r.created_time));
        created.insert(r.id.clone(), c);
    }
    let mut changed = Map::new();
    for (id, previous) in &txn.changed {
        let Some(r) = table.record(id) else { continue };
        let now = |f: &str| r.cells.get(f).map(String::as_str);
        let mut c = json!({"current": cells_of(table, previous.keys(), now)});
        if with_previous {
            let before = |f: &str| previous.get(f).and_then(|v| v.as_deref());
            c["previous"] = cells_of(table, previous.keys(), before);
        }
        let unchanged: Vec<&String> = (r.cells.keys())
            .filter(|f| !previous.contains_key(*f) && unchanged_wanted(f))
            .collect();
        if !unchanged.is_empty() {
            c["unchanged"] = cells_of(table, unchanged.into_iter(), now);
        }
        changed.insert(id.clone(), c);
    }
    if !created.is_empty() {
        change.insert("createdRecordsById".into(), Value::Object(created));
    }
    if !changed.is_empty() {
        change.insert("changedRecordsById".into(), Value::Object(changed));
    }
    if !txn.destroyed.is_empty() {
        change.insert("destroyedRecordIds".into(), json!(txn.destroyed));
    }
    Some(json!({
        "timestamp": airtable_time(at),
        "baseTransactionNumber": number,
        "actionMetadata": {"source": actor.source, "sourceMetadata": {"user": actor.user}},
        "payloadFormat": "v0",
        "changedTablesById": { table.id.clone(): change },
    }))
}
