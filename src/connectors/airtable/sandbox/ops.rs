//! Every change to the emulated records, shared by the REST handlers and the `user_*` methods:
//! validation with Airtable's error types, the change itself (a whole batch or nothing), and the
//! payload it appends to each matching webhook, followed by a notification.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::Utc;
use serde_json::{Map, Value, json};

use super::cells;
use super::change::{Actor, Txn};
use super::error::ApiError;
use super::model::{Model, SandboxField, SandboxRecord, SandboxTable, airtable_time, new_id};
use super::notify::Notifier;
use super::payload;

/// The emulator's state and its notification queue, shared by the server and the sandbox handle.
pub struct Core {
    pub model: Mutex<Model>,
    pub notifier: Notifier,
    /// How long a webhook lives after creation, a refresh or a payload listing (Airtable: 7 days).
    pub webhook_lifetime: Mutex<Duration>,
}

impl Core {
    pub fn new(notifier: Notifier, webhook_lifetime: Duration) -> Arc<Self> {
        Arc::new(Self {
            model: Mutex::default(),
            notifier,
            webhook_lifetime: Mutex::new(webhook_lifetime),
        })
    }

    pub fn lock(&self) -> MutexGuard<'_, Model> {
        self.model.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn lifetime(&self) -> chrono::Duration {
        let d = *self
            .webhook_lifetime
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        chrono::Duration::from_std(d).unwrap_or(chrono::Duration::days(7))
    }

    /// Runs one change under the lock; a change that changed something becomes one base
    /// transaction, one payload per matching live webhook, and one notification per payload.
    pub fn change<T>(
        &self,
        base_id: &str,
        actor: &Actor,
        op: impl FnOnce(&mut Model) -> Result<(T, Txn), ApiError>,
    ) -> Result<T, ApiError> {
        let mut m = self.lock();
        let (out, txn) = op(&mut m)?;
        if !txn.is_empty() {
            self.append_payloads(&mut m, base_id, actor, &txn);
        }
        Ok(out)
    }

    fn append_payloads(&self, m: &mut Model, base_id: &str, actor: &Actor, txn: &Txn) {
        let now = Utc::now();
        let Some(base) = m.base_mut(base_id) else {
            return;
        };
        base.transaction += 1;
        let number = base.transaction;
        let Some(table) = base.table(&txn.table_id).cloned() else {
            return;
        };
        for hook in m.webhooks.iter_mut() {
            if hook.base_id != base_id || !hook.is_enabled(now) {
                continue;
            }
            let Some(p) = payload::build(&table, hook, txn, number, now, actor) else {
                continue;
            };
            hook.payloads.push(p);
            if let Some(url) = &hook.notification_url {
                let body = json!({"base": {"id": base_id}, "webhook": {"id": hook.id},
                    "timestamp": airtable_time(now)});
                let body = serde_json::to_vec(&body).unwrap_or_default();
                self.notifier
                    .enqueue(url, body, &hook.id, hook.mac_secret.clone());
            }
        }
    }
}

/// The table a request names, or the 403 Airtable answers for an unknown base or table.
pub fn table_mut<'a>(
    m: &'a mut Model,
    base_id: &str,
    table: &str,
) -> Result<&'a mut SandboxTable, ApiError> {
    m.base_mut(base_id)
        .and_then(|b| b.table_mut(table))
        .ok_or_else(ApiError::no_access)
}

/// Parses `{"Field name or id": value}` into stored values by field id (`None` clears).
fn parse_fields(
    fields: &mut [SandboxField],
    input: &Map<String, Value>,
    typecast: bool,
) -> Result<BTreeMap<String, Option<String>>, ApiError> {
    let mut out = BTreeMap::new();
    for (key, value) in input {
        let field = fields
            .iter_mut()
            .find(|f| f.name == *key || f.id == *key)
            .ok_or_else(|| {
                ApiError::invalid(
                    "UNKNOWN_FIELD_NAME",
                    format!("Unknown field name: \"{key}\""),
                )
            })?;
        out.insert(field.id.clone(), cells::parse(field, value, typecast)?);
    }
    Ok(out)
}

pub fn create_records(
    m: &mut Model,
    base_id: &str,
    table: &str,
    inputs: &[Map<String, Value>],
    typecast: bool,
) -> Result<(Vec<SandboxRecord>, Txn), ApiError> {
    let t = table_mut(m, base_id, table)?;
    let mut fields = t.fields.clone();
    let mut created = Vec::new();
    for input in inputs {
        let parsed = parse_fields(&mut fields, input, typecast)?;
        let cells = parsed.into_iter().filter_map(|(k, v)| Some((k, v?)));
        created.push(SandboxRecord {
            id: new_id("rec"),
            created_time: Utc::now(),
            cells: cells.collect(),
        });
    }
    t.fields = fields;
    t.records.extend(created.iter().cloned());
    let txn = Txn {
        table_id: t.id.clone(),
        created: created.iter().map(|r| r.id.clone()).collect(),
        ..Txn::default()
    };
    Ok((created, txn))
}

/// PATCH merges the given fields into each record; PUT (`replace`) clears every other field.
pub fn update_records(
    m: &mut Model,
    base_id: &str,
    table: &str,
    updates: &[(String, Map<String, Value>)],
    replace: bool,
    typecast: bool,
) -> Result<(Vec<SandboxRecord>, Txn), ApiError> {
    let t = table_mut(m, base_id, table)?;
    let mut work = t.clone();
    let mut previous: Vec<(String, BTreeMap<String, Option<String>>)> = Vec::new();
    let mut answered = Vec::new();
    for (id, input) in updates {
        let parsed = parse_fields(&mut work.fields, input, typecast)?;
        let record = work
            .records
            .iter_mut()
            .find(|r| r.id == *id)
            .ok_or_else(|| {
                ApiError::invalid(
                    "ROW_DOES_NOT_EXIST",
                    format!("Record ID {id} does not exist in this table"),
                )
            })?;
        let before = record.cells.clone();
        if replace {
            record.cells.clear();
        }
        for (field, value) in parsed {
            match value {
                Some(v) => record.cells.insert(field, v),
                None => record.cells.remove(&field),
            };
        }
        let mut changed: BTreeMap<String, Option<String>> = BTreeMap::new();
        for field in before.keys().chain(record.cells.keys()) {
            if before.get(field) != record.cells.get(field) {
                changed.insert(field.clone(), before.get(field).cloned());
            }
        }
        answered.push(record.clone());
        // Two updates of one record in a batch are one change in the payload.
        match previous.iter_mut().find(|(r, _)| r == id) {
            Some((_, p)) => changed.into_iter().for_each(|(f, v)| {
                p.entry(f).or_insert(v);
            }),
            None => previous.push((id.clone(), changed)),
        }
    }
    *t = work;
    let changed = previous
        .into_iter()
        .filter(|(id, p)| {
            let now = t.record(id).map(|r| &r.cells);
            p.iter()
                .any(|(f, old)| now.and_then(|c| c.get(f)) != old.as_ref())
        })
        .collect();
    let txn = Txn {
        table_id: t.id.clone(),
        changed,
        ..Txn::default()
    };
    Ok((answered, txn))
}

pub fn delete_records(
    m: &mut Model,
    base_id: &str,
    table: &str,
    ids: &[String],
) -> Result<(Vec<String>, Txn), ApiError> {
    let t = table_mut(m, base_id, table)?;
    if let Some(missing) = ids.iter().find(|id| t.record(id).is_none()) {
        return Err(ApiError::record_not_found(missing));
    }
    let mut unique: Vec<String> = Vec::new();
    for id in ids {
        if !unique.contains(id) {
            unique.push(id.clone());
        }
    }
    t.records.retain(|r| !unique.contains(&r.id));
    let txn = Txn {
        table_id: t.id.clone(),
        destroyed: unique.clone(),
        ..Txn::default()
    };
    Ok((unique, txn))
}
