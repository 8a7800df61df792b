//! The Notion side of a sandbox world: a database `Leads` per pair with the contract's property
//! types (CONTRACT §7), the subscription the daemon verifies, and the client the daemon uses.

use std::time::Duration;

use crate::clients::http::RetryPolicy;
use crate::connectors::notion::client::NotionClient;
use crate::connectors::notion::sandbox::{DatabaseSetup, NotionSandbox, PropertySpec};

use super::LISTS;

/// The emulator, without Notion's 3 calls per second (tests make changes in bursts; the
/// client's pacing is tested on its own).
pub async fn start() -> anyhow::Result<NotionSandbox> {
    Ok(NotionSandbox::start_with(None).await?)
}

/// A database laid out as the contract's defaults name the properties.
pub fn setup_database(sandbox: &NotionSandbox, pair: &str) -> DatabaseSetup {
    let specs = [
        PropertySpec::new("Name", "title"),
        PropertySpec::new("Email", "email"),
        PropertySpec::new("Phone", "phone_number"),
        PropertySpec::new("Company", "rich_text"),
        PropertySpec::with_options("Status", "select", &LISTS),
        PropertySpec::new("Notes", "rich_text"),
        PropertySpec::new("Trello Card", "url"),
        PropertySpec::new("Lead ID", "rich_text"),
    ];
    sandbox.create_database(&format!("Leads {pair}"), &specs)
}

/// The daemon's client on the emulator, with retries paced for loopback and no pacing of its
/// own to speak of.
pub fn client(sandbox: &NotionSandbox) -> anyhow::Result<NotionClient> {
    let policy = RetryPolicy {
        base_delay: Duration::from_millis(20),
        max_delay: Duration::from_millis(500),
        ..RetryPolicy::default()
    };
    let token = secrecy::SecretString::from(sandbox.token().to_owned());
    Ok(NotionClient::new(
        &sandbox.api_base(),
        &token,
        policy,
        1000,
    )?)
}

/// The `[[pairs]]` keys of a Notion pair.
pub fn pair_keys(db: &DatabaseSetup) -> String {
    format!(
        "tracker = \"notion\"\ndatabase_id = \"{}\"\n",
        db.database_id
    )
}

/// The `[notion]` table: the emulator, its token, polling every `poll_secs`.
pub fn config_text(sandbox: &NotionSandbox, poll_secs: u64) -> String {
    format!(
        "\n[notion]\napi_base = \"{}\"\ntoken = \"{}\"\npoll_interval_secs = {poll_secs}\n",
        sandbox.api_base(),
        sandbox.token()
    )
}

/// Creates the subscription on the daemon's door (Notion's verification request reaches it at
/// once) and waits, bounded, for the request to be delivered.
pub async fn subscribe(sandbox: &NotionSandbox, base_url: &str) -> anyhow::Result<()> {
    sandbox.subscribe(&format!("{base_url}/webhooks/notion"));
    if !sandbox.deliveries_drained(Duration::from_secs(10)).await {
        anyhow::bail!("Notion's verification request was not delivered");
    }
    Ok(())
}
