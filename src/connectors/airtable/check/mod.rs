//! The Airtable half of a pair's check: the token (once, with a meta call), the base and the
//! table; the fields are `fields`'. Nothing of Google Sheets is checked for such a pair.

mod fields;

use crate::clients::http::ClientError;
use crate::config::{PairSettings, Settings};
use crate::connectors::airtable::client::build::airtable_client;
use crate::connectors::airtable::client::{AirtableClient, Base, Table};
use crate::connectors::check::{Account, Finding, Outcome};

/// The token's client and the bases it was granted (their names make the findings readable).
pub struct Airtable {
    client: AirtableClient,
    bases: Vec<Base>,
}

/// The token's scopes, said wherever the token is refused.
const TOKEN_HELP: &str = "a personal access token with the scopes data.records:read/write, \
     schema.bases:read/write and webhook:manage, granted the pairs' bases";

/// One meta call (`GET /v0/meta/bases`): 401 is a token Airtable does not know, 403 one without
/// `schema.bases:read`. The token itself is never part of a finding.
pub async fn account(settings: &Settings) -> Account<Airtable> {
    let client = match airtable_client(settings) {
        Ok(c) => c,
        Err(e) => return Account::Broken(format!("airtable: {e}")),
    };
    match client.bases().await {
        Ok(bases) => {
            let who = format!("airtable: token accepted, granted {} base(s)", bases.len());
            Account::Usable(Airtable { client, bases }, who)
        }
        Err(e @ ClientError::Auth { .. }) => Account::Broken(format!(
            "airtable: token refused, check airtable.token: it must be {TOKEN_HELP} ({e})"
        )),
        Err(e) => Account::Broken(format!("airtable: cannot reach the API ({e})")),
    }
}

pub async fn check_pair(at: &Airtable, pair: &PairSettings, fix: bool, out: &mut Vec<Finding>) {
    let name = pair.name.as_str();
    let mut push = |outcome, what: String| out.push(Finding::new(name, outcome, what));
    let Some(table) = table(at, pair, &mut push).await else {
        return;
    };
    let base_id = pair.base_id.as_deref().unwrap_or_default().trim();
    fields::check(&at.client, base_id, &table, pair, fix, &mut push).await;
}

/// The pair's table, found like the client finds it (its id, else its name ignoring case).
async fn table(
    at: &Airtable,
    pair: &PairSettings,
    push: &mut impl FnMut(Outcome, String),
) -> Option<Table> {
    let base_id = pair.base_id.as_deref().unwrap_or_default().trim();
    let wanted = pair.table.as_deref().unwrap_or_default().trim();
    let tables = match at.client.tables(base_id).await {
        Ok(tables) => tables,
        // Airtable answers 403 alike for a base that does not exist and one not granted.
        Err(ClientError::Auth { status: 403, .. } | ClientError::NotFound { .. }) => {
            push(
                Outcome::Error,
                format!(
                    "base {base_id} not found or not shared with the token (base_id; grant the \
                     token access to the base in Airtable's token settings)"
                ),
            );
            return None;
        }
        Err(e) => {
            push(Outcome::Error, format!("base {base_id}: {e}"));
            return None;
        }
    };
    let lower = wanted.to_lowercase();
    let found = (tables.iter().find(|t| t.id == wanted))
        .or_else(|| (tables.iter()).find(|t| t.name.trim().to_lowercase() == lower));
    let base = match at.bases.iter().find(|b| b.id == base_id) {
        Some(b) => format!("base \"{}\" ({base_id})", b.name),
        None => format!("base {base_id}"),
    };
    let Some(table) = found else {
        let names: Vec<String> = tables.iter().map(|t| format!("\"{}\"", t.name)).collect();
        // Not fixed: a missing table more likely means a typo in `table` than one to create.
        push(
            Outcome::Error,
            format!(
                "table \"{wanted}\" not found in {base} (it has {}; table)",
                if names.is_empty() {
                    "no tables".to_owned()
                } else {
                    names.join(", ")
                }
            ),
        );
        return None;
    };
    push(
        Outcome::Ok,
        format!("{base}, table \"{}\" reachable", table.name),
    );
    Some(table.clone())
}
