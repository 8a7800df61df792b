//! The Airtable side of a sandbox world: a base and a `Leads` table per pair with the contract's
//! field types (CONTRACT §7), and the client the daemon uses on it.

use std::time::Duration;

use crate::clients::http::RetryPolicy;
use crate::connectors::airtable::client::{AirtableClient, AirtableLimits};
use crate::connectors::airtable::sandbox::{
    AirtableOptions, AirtableSandbox, FieldSpec, TableSetup,
};

use super::LISTS;

/// The table every Airtable world pair keeps its leads in.
pub const TABLE: &str = "Leads";

/// The emulator, with Airtable's own 5 requests per second per base unless `limited` is false
/// (tests that make many changes in a burst; the client's pacing is tested on its own).
pub async fn start(limited: bool) -> anyhow::Result<AirtableSandbox> {
    let mut options = AirtableOptions::default();
    if !limited {
        options.rate_limit = None;
        options.per_token = None;
    }
    Ok(AirtableSandbox::start_with(options).await?)
}

/// A base with a table laid out as the contract's defaults name the fields.
pub fn setup_table(sandbox: &AirtableSandbox, pair: &str) -> anyhow::Result<TableSetup> {
    let base = sandbox.create_base(&format!("Leads {pair}"));
    let specs = [
        FieldSpec::new("Name", "singleLineText"),
        FieldSpec::new("Email", "email"),
        FieldSpec::new("Phone", "phoneNumber"),
        FieldSpec::new("Company", "singleLineText"),
        FieldSpec::select("Status", &LISTS),
        FieldSpec::new("Notes", "multilineText"),
        FieldSpec::new("Trello Card", "url"),
        FieldSpec::new("Lead ID", "singleLineText"),
    ];
    sandbox
        .create_table(&base, TABLE, &specs)
        .map_err(|e| anyhow::anyhow!("creating the Airtable table: {e:?}"))
}

/// The daemon's client on the emulator, with retries paced for loopback.
pub fn client(sandbox: &AirtableSandbox, limited: bool) -> anyhow::Result<AirtableClient> {
    let policy = RetryPolicy {
        base_delay: Duration::from_millis(20),
        max_delay: Duration::from_millis(500),
        ..RetryPolicy::default()
    };
    let mut limits = AirtableLimits::default();
    if !limited {
        limits.per_base = (1000, Duration::from_secs(1));
        limits.per_token = (1000, Duration::from_secs(1));
    }
    let token = secrecy::SecretString::from(sandbox.token().to_owned());
    Ok(AirtableClient::new(
        &sandbox.api_base(),
        &token,
        policy,
        limits,
    )?)
}

/// The `[[pairs]]` keys of an Airtable pair.
pub fn pair_keys(table: &TableSetup) -> String {
    format!(
        "tracker = \"airtable\"\nbase_id = \"{}\"\ntable = \"{TABLE}\"\n",
        table.base_id
    )
}
