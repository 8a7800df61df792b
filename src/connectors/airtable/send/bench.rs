//! Test bench of the dispatcher's Airtable path: the Sheets/Trello bench's pair `a` turned into
//! an Airtable pair, over the Airtable emulator (no per-base rate limit unless a test sets one)
//! with a table laid out as the contract's example.

use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use serde_json::Value;

use crate::clients::http::RetryPolicy;
use crate::connectors::airtable::AirtableTracker;
use crate::connectors::airtable::client::{AirtableClient, AirtableLimits};
use crate::connectors::airtable::sandbox::{
    AirtableOptions, AirtableSandbox, FieldSpec, TableSetup,
};
use crate::connectors::bench::Bench;
use crate::model::TrackerKind;
use crate::store::outbox::{self, NewCommand};
use crate::sync::connector::Trackers;
use crate::sync::outbox::Dispatcher;
use crate::sync::plan::commands::Command;

pub const TABLE: &str = "Leads";
/// The client's lock-out after a 429 without `Retry-After` (Airtable's is 30 s).
pub const LOCKOUT: Duration = Duration::from_millis(300);

/// A write of these cells to the lead's record.
pub fn write(lead: &str, cells: &[(&str, &str)]) -> Command {
    Command::WriteRow {
        lead_id: lead.into(),
        row_hint: None,
        expect_name: None,
        cells: cells
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    }
}

pub struct AirtableBench {
    /// The board, the database and the Sheets pieces (unused here).
    pub base: Bench,
    pub airtable: AirtableSandbox,
    pub table: TableSetup,
    pub dispatcher: Dispatcher,
}

/// The example's fields; `with_id`: whether the table has the optional id field.
pub fn fields(with_id: bool) -> Vec<FieldSpec> {
    let mut specs = vec![
        FieldSpec::new("Name", "singleLineText"),
        FieldSpec::new("Email", "email"),
        FieldSpec::new("Phone", "phoneNumber"),
        FieldSpec::new("Company", "singleLineText"),
        FieldSpec::select("Status", &["New", "Contacted", "Won"]),
        FieldSpec::new("Notes", "multilineText"),
        FieldSpec::new("Trello Card", "url"),
    ];
    if with_id {
        specs.push(FieldSpec::new("Lead ID", "singleLineText"));
    }
    specs
}

/// One try per call, as the Sheets bench: the dispatcher's own retries are what tests look at.
fn policy() -> RetryPolicy {
    RetryPolicy {
        connect_timeout: Duration::from_secs(5),
        total_timeout: Duration::from_secs(10),
        max_attempts: 1,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
        max_elapsed: Duration::from_secs(20),
    }
}

impl AirtableBench {
    pub async fn start() -> Self {
        Self::start_with(&fields(true)).await
    }

    pub async fn start_with(specs: &[FieldSpec]) -> Self {
        let base = Bench::start().await;
        let airtable = AirtableSandbox::start_with(AirtableOptions {
            rate_limit: None,
            ..AirtableOptions::default()
        })
        .await
        .expect("airtable sandbox");
        let base_id = airtable.create_base("Sales");
        let table = airtable
            .create_table(&base_id, TABLE, specs)
            .expect("table");
        let mut ctx = base.dispatcher.pair("a").expect("pair a").as_ref().clone();
        ctx.tracker = TrackerKind::Airtable;
        ctx.settings.tracker = TrackerKind::Airtable;
        ctx.settings.base_id = Some(base_id);
        ctx.settings.table = Some(TABLE.into());
        let limits = AirtableLimits {
            per_base: (50, Duration::from_secs(1)),
            lockout: LOCKOUT,
            ..AirtableLimits::default()
        };
        let token = SecretString::from(airtable.token().to_owned());
        let client = AirtableClient::new(&airtable.api_base(), &token, policy(), limits)
            .expect("airtable client");
        let d = &base.dispatcher;
        let trackers = Trackers::default().with(Arc::new(AirtableTracker::new(client)));
        let dispatcher = Dispatcher::new(d.db.clone(), d.board.clone(), trackers, [Arc::new(ctx)]);
        Self {
            base,
            airtable,
            table,
            dispatcher,
        }
    }

    pub fn base_id(&self) -> &str {
        &self.table.base_id
    }

    /// A record made "in the browser"; returns its id.
    pub fn record(&self, values: &[(&str, &str)]) -> String {
        (self.airtable)
            .user_create_record(self.base_id(), TABLE, values)
            .expect("record")
    }

    /// A record's cells as the API answers them (empty cells absent).
    pub fn fields_of(&self, record_id: &str) -> Value {
        (self.airtable)
            .record_fields(self.base_id(), TABLE, record_id)
            .expect("record exists")
    }

    pub fn record_count(&self) -> usize {
        self.airtable.records(self.base_id(), TABLE).len()
    }

    /// Calls with this method on the table's records.
    pub fn calls(&self, method: &str) -> usize {
        let path = format!("/v0/{}/{}", self.base_id(), self.table.table_id);
        self.airtable.gate().calls().count(method, &path)
    }

    /// Enqueues as the engine does for an Airtable pair, under a fresh key; returns the id.
    pub async fn enqueue(&self, cmd: &Command) -> i64 {
        let key = uuid::Uuid::new_v4().to_string();
        let new = NewCommand {
            pair: "a".into(),
            lead_id: Some(cmd.lead_id().into()),
            target: cmd.target(TrackerKind::Airtable).into(),
            kind: cmd.kind().into(),
            payload: serde_json::to_value(cmd).expect("json"),
            idempotency_key: key.clone(),
        };
        assert!(
            outbox::enqueue(&self.base.db.pool, &new)
                .await
                .expect("enqueue")
        );
        sqlx::query_scalar("SELECT id FROM outbox WHERE idempotency_key = $1")
            .bind(key)
            .fetch_one(&self.base.db.pool)
            .await
            .expect("id")
    }

    /// Every command of the outbox as (lead, target, kind, status), oldest first.
    pub async fn outbox(&self) -> Vec<(String, String, String, String)> {
        sqlx::query_as("SELECT coalesce(lead_id, ''), target, kind, status FROM outbox ORDER BY id")
            .fetch_all(&self.base.db.pool)
            .await
            .expect("outbox")
    }
}
