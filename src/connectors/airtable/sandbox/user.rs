//! The sandbox handle's test-side API: set up bases and tables silently, act as a user in the
//! browser (changes with source `client`, which webhooks record and notify like any change),
//! inspect the state, and steer webhooks and their notifications.

use std::time::Duration;

use chrono::Utc;
use serde_json::{Map, Value, json};

use super::cells::record_json;
use super::model::{SandboxBase, SandboxRecord, SandboxTable, SandboxWebhook, new_id};
use super::notify::{Job, NotificationRecord};
use super::{AirtableSandbox, ApiError, FieldSpec, TableSetup, meta, ops};

/// `[("Name", "Ada"), ("Email", "")]` as a fields object; an empty text clears the cell.
fn fields(values: &[(&str, &str)]) -> Map<String, Value> {
    let pairs = values.iter().map(|(k, v)| {
        let v = if v.is_empty() { Value::Null } else { json!(v) };
        ((*k).to_owned(), v)
    });
    pairs.collect()
}

impl AirtableSandbox {
    /// A new base the token may use.
    pub fn create_base(&self, name: &str) -> String {
        let id = new_id("app");
        self.core.lock().bases.push(SandboxBase {
            id: id.clone(),
            name: name.to_owned(),
            tables: Vec::new(),
            token_access: true,
            transaction: 0,
        });
        id
    }

    /// Grants or withdraws the token's access to a base (withdrawn: 403 on every call).
    pub fn set_base_access(&self, base_id: &str, granted: bool) {
        if let Some(b) = self.core.lock().base_mut(base_id) {
            b.token_access = granted;
        }
    }

    /// Creates a table with these fields (the first is the primary field), silently.
    pub fn create_table(
        &self,
        base_id: &str,
        name: &str,
        specs: &[FieldSpec],
    ) -> Result<TableSetup, ApiError> {
        let mut table = SandboxTable {
            id: new_id("tbl"),
            name: name.to_owned(),
            fields: Vec::new(),
            records: Vec::new(),
        };
        for spec in specs {
            let field = meta::new_field(&table.fields, &spec.body())?;
            table.fields.push(field);
        }
        let mut m = self.core.lock();
        let base = m.base_mut(base_id).ok_or_else(ApiError::no_access)?;
        let setup = TableSetup {
            base_id: base_id.to_owned(),
            table_id: table.id.clone(),
            table_name: name.to_owned(),
            fields: (table.fields.iter())
                .map(|f| (f.name.clone(), f.id.clone()))
                .collect(),
        };
        base.tables.push(table);
        Ok(setup)
    }

    /// Adds a field as a user would in the browser; returns its id.
    pub fn user_create_field(
        &self,
        base_id: &str,
        table: &str,
        spec: &FieldSpec,
    ) -> Result<String, ApiError> {
        let mut m = self.core.lock();
        let t = ops::table_mut(&mut m, base_id, table)?;
        let field = meta::new_field(&t.fields, &spec.body())?;
        let id = field.id.clone();
        t.fields.push(field);
        Ok(id)
    }

    /// Creates a record "in the browser" (a new select choice is added, as the UI allows).
    pub fn user_create_record(
        &self,
        base_id: &str,
        table: &str,
        values: &[(&str, &str)],
    ) -> Result<String, ApiError> {
        let inputs = [fields(values)];
        let created = self.core.change(base_id, &self.client_actor, |m| {
            ops::create_records(m, base_id, table, &inputs, true)
        })?;
        Ok(created.first().map(|r| r.id.clone()).unwrap_or_default())
    }

    /// Edits cells of a record "in the browser"; an empty text clears a cell.
    pub fn user_update_record(
        &self,
        base_id: &str,
        table: &str,
        record_id: &str,
        values: &[(&str, &str)],
    ) -> Result<(), ApiError> {
        let updates = [(record_id.to_owned(), fields(values))];
        self.core
            .change(base_id, &self.client_actor, |m| {
                ops::update_records(m, base_id, table, &updates, false, true)
            })
            .map(drop)
    }

    pub fn user_delete_record(
        &self,
        base_id: &str,
        table: &str,
        record_id: &str,
    ) -> Result<(), ApiError> {
        let ids = [record_id.to_owned()];
        self.core
            .change(base_id, &self.client_actor, |m| {
                ops::delete_records(m, base_id, table, &ids)
            })
            .map(drop)
    }

    pub fn tables(&self, base_id: &str) -> Vec<SandboxTable> {
        let m = self.core.lock();
        m.base(base_id)
            .map(|b| b.tables.clone())
            .unwrap_or_default()
    }

    /// The table's records in creation order.
    pub fn records(&self, base_id: &str, table: &str) -> Vec<SandboxRecord> {
        let m = self.core.lock();
        let t = m.base(base_id).and_then(|b| b.table(table));
        t.map(|t| t.records.clone()).unwrap_or_default()
    }

    /// A record's `fields` as the API answers them (by field name; empty cells absent).
    pub fn record_fields(&self, base_id: &str, table: &str, record_id: &str) -> Option<Value> {
        let m = self.core.lock();
        let t = m.base(base_id)?.table(table)?;
        let mut json = record_json(t, t.record(record_id)?, false);
        Some(json["fields"].take())
    }

    pub fn webhooks(&self, base_id: &str) -> Vec<SandboxWebhook> {
        let m = self.core.lock();
        (m.webhooks.iter())
            .filter(|w| w.base_id == base_id)
            .cloned()
            .collect()
    }

    /// Makes a webhook expire now: it stops recording payloads and notifying.
    pub fn expire_webhook(&self, base_id: &str, webhook_id: &str) -> bool {
        let mut m = self.core.lock();
        let hook = m.webhook_mut(base_id, webhook_id);
        hook.map(|w| w.expiration_time = Utc::now()).is_some()
    }

    /// Forgets every list-records iterator, as Airtable does after a while: a later `offset`
    /// answers 422 LIST_RECORDS_ITERATOR_NOT_AVAILABLE.
    pub fn expire_list_iterators(&self) {
        self.core.lock().iterators.clear();
    }

    /// Makes the next list-records iterator expire as soon as its first page is served: the
    /// listing's next `offset` answers 422 LIST_RECORDS_ITERATOR_NOT_AVAILABLE.
    pub fn expire_next_list_iterator(&self) {
        self.core.lock().expire_next_iterators += 1;
    }

    /// While true, notifications are kept aside, to be sent late, twice or never by the test.
    pub fn hold_notifications(&self, hold: bool) {
        self.core.notifier.set_holding(hold);
    }

    /// The held notifications, oldest first (no longer held).
    pub fn take_held_notifications(&self) -> Vec<Job> {
        self.core.notifier.take_held()
    }

    /// Sends a held notification now (again, if it was sent before).
    pub fn renotify(&self, notification: Job) {
        self.core.notifier.send(notification);
    }

    /// While true, notifications are recorded as dropped instead of sent (missed pings).
    pub fn drop_notifications(&self, drop: bool) {
        self.core.notifier.set_dropping(drop);
    }

    /// Waits, at most `timeout`, until every queued notification was sent, held or dropped.
    pub async fn wait_notifications(&self, timeout: Duration) -> bool {
        self.core.notifier.drained(timeout).await
    }

    pub fn notifications(&self) -> Vec<NotificationRecord> {
        self.core.notifier.records()
    }
}
