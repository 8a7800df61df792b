//! The Notion half of a pair's check: the integration's token and the pair's data source (found
//! from its database as at start-up), each mapped property with its type, `--fix` adding the
//! missing ones (never the title: a database has exactly one, which the API cannot add), and the
//! webhook subscription step the user makes in the integration's settings.

use std::collections::BTreeMap;

use crate::clients::http::ClientError;
use crate::config::{PairSettings, Settings};
use crate::connectors::check::{Account, Finding, Outcome};
use crate::connectors::notion::client::build::notion_client;
use crate::connectors::notion::client::{DataSource, NewProperty, NotionClient, PropertyType};
use crate::connectors::notion::source::{data_source_id, property};

/// The integration's client and where its subscription must point.
pub struct Notion {
    client: NotionClient,
    subscription_url: String,
}

/// Builds the client: Notion has no call that checks a token alone, so the token is judged by
/// the first pair's data source read (a 401 there names `notion.token`).
pub fn account(settings: &Settings) -> Account<Notion> {
    match notion_client(settings) {
        Ok(client) => Account::Usable(
            Notion {
                client,
                subscription_url: format!("{}/webhooks/notion", settings.server.public_url),
            },
            "notion: integration token set".to_owned(),
        ),
        Err(e) => Account::Broken(format!("notion: {e}")),
    }
}

pub async fn check_pair(n: &Notion, pair: &PairSettings, fix: bool, out: &mut Vec<Finding>) {
    let name = pair.name.as_str();
    let mut push = |outcome, what: String| out.push(Finding::new(name, outcome, what));
    let ds = match read(&n.client, pair).await {
        Ok(ds) => ds,
        Err(what) => return push(Outcome::Error, what),
    };
    push(
        Outcome::Ok,
        format!("Notion data source {} reachable", ds.id),
    );
    let missing = properties(&ds, pair, &mut push);
    add_missing(&n.client, &ds, missing, fix, &mut push).await;
    push(
        Outcome::Ok,
        format!(
            "webhook subscription: in the integration's settings (Webhooks), create a \
             subscription with URL {} for page events; Notion then sends its verification \
             token, which `leadsync webhooks notion-token` prints for you to paste back",
            n.subscription_url
        ),
    );
}

/// The pair's data source, or what is wrong (the token, the id, the sharing).
async fn read(client: &NotionClient, pair: &PairSettings) -> Result<DataSource, String> {
    let explain = |e: ClientError| match e {
        ClientError::Auth { .. } => {
            format!("token refused: check notion.token (an internal integration secret) ({e})")
        }
        ClientError::NotFound { .. } => format!(
            "database or data source not found, or not shared with the integration (share it \
             through the database's ••• menu → Connections) ({e})"
        ),
        other => other.to_string(),
    };
    let id = data_source_id(client, pair).await.map_err(explain)?;
    client.retrieve_data_source(&id).await.map_err(explain)
}

/// One mapped property: its config key, its name, and the types that work (the first is the
/// one `--fix` adds).
fn wanted(pair: &PairSettings) -> Vec<(&'static str, &str, Vec<PropertyType>)> {
    use PropertyType::{Email, PhoneNumber, RichText, Select, Status, Title, Url};
    let c = &pair.columns;
    let mut out = vec![
        ("name", c.name.as_str(), vec![Title]),
        ("email", c.email.as_str(), vec![Email, RichText]),
        ("phone", c.phone.as_str(), vec![PhoneNumber, RichText]),
        ("company", c.company.as_str(), vec![RichText]),
        ("status", c.status.as_str(), vec![Select, Status]),
        ("notes", c.notes.as_str(), vec![RichText]),
        ("id", c.id.as_str(), vec![RichText]),
    ];
    if let Some(card) = &c.card {
        out.push(("card", card.as_str(), vec![Url, RichText]));
    }
    out
}

/// Reports each mapped property; answers the missing ones `--fix` may add.
fn properties(
    ds: &DataSource,
    pair: &PairSettings,
    push: &mut impl FnMut(Outcome, String),
) -> BTreeMap<String, NewProperty> {
    let mut missing = BTreeMap::new();
    for (key, name, types) in wanted(pair) {
        let name = name.trim();
        let Some(p) = property(ds, name) else {
            if key == "id" {
                push(
                    Outcome::Ok,
                    format!(
                        "no property \"{name}\" (columns.id is optional: the page id is the lead id)"
                    ),
                );
            } else if key == "name" {
                let title = (ds.properties.values()).find(|p| p.kind == PropertyType::Title);
                let title = title.map_or("none".to_owned(), |t| format!("\"{}\"", t.name));
                push(
                    Outcome::Error,
                    format!(
                        "property \"{name}\" (columns.name) is not the data source's title property ({title}): set columns.name to the title's name"
                    ),
                );
            } else {
                let options =
                    (key == "status").then(|| pair.status_lists.keys().cloned().collect());
                let new = NewProperty {
                    kind: types[0].clone(),
                    options: options.unwrap_or_default(),
                };
                missing.insert(name.to_owned(), new);
            }
            continue;
        };
        let what = format!(
            "property \"{}\" ({}, for columns.{key})",
            p.name,
            p.kind.as_str()
        );
        if !types.contains(&p.kind) {
            let allowed: Vec<&str> = types.iter().map(PropertyType::as_str).collect();
            push(
                Outcome::Error,
                format!("{what} has the wrong type: use {}", allowed.join(" or ")),
            );
            continue;
        }
        let absent: Vec<&String> = (pair.status_lists.keys())
            .filter(|s| key == "status" && !p.options.iter().any(|o| o.trim() == s.trim()))
            .collect();
        match (absent.is_empty(), &p.kind) {
            (true, _) => push(Outcome::Ok, what),
            // A select gains an option the first time a write uses it.
            (false, PropertyType::Select) => push(Outcome::Ok, what),
            (false, _) => push(
                Outcome::Warning,
                format!(
                    "{what} lacks the options {absent:?}: add them in Notion (the API cannot add a status option)"
                ),
            ),
        }
    }
    missing
}

/// Adds the missing properties with `--fix`, else reports them as missing.
async fn add_missing(
    client: &NotionClient,
    ds: &DataSource,
    missing: BTreeMap<String, NewProperty>,
    fix: bool,
    push: &mut impl FnMut(Outcome, String),
) {
    if missing.is_empty() {
        return;
    }
    let names = |outcome| {
        (missing.iter()).map(move |(name, p)| {
            (
                outcome,
                format!("property \"{name}\" ({})", p.kind.as_str()),
            )
        })
    };
    if !fix {
        names(Outcome::Missing).for_each(|(o, w)| push(o, w));
        return;
    }
    match client.update_data_source(&ds.id, &missing).await {
        Ok(_) => names(Outcome::Fixed).for_each(|(o, w)| push(o, w)),
        Err(e) => push(
            Outcome::Error,
            format!("adding the missing properties failed: {e}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use secrecy::SecretString;

    use super::*;
    use crate::clients::http::RetryPolicy;
    use crate::connectors::notion::sandbox::{NotionSandbox, PropertySpec};
    use crate::model::TrackerKind;
    use crate::sync::test_support::settings;

    async fn notion(sandbox: &NotionSandbox, token: &str) -> Notion {
        let token = SecretString::from(token.to_owned());
        let client = NotionClient::new(&sandbox.api_base(), &token, RetryPolicy::default(), 100);
        Notion {
            client: client.expect("client"),
            subscription_url: "https://leads.example/webhooks/notion".into(),
        }
    }

    fn pair(database_id: &str) -> PairSettings {
        let mut pair = settings().pairs[0].clone();
        pair.tracker = TrackerKind::Notion;
        (pair.spreadsheet_id, pair.sheet) = (String::new(), String::new());
        pair.database_id = Some(database_id.to_owned());
        pair
    }

    async fn findings(n: &Notion, pair: &PairSettings, fix: bool) -> Vec<Finding> {
        let mut out = Vec::new();
        check_pair(n, pair, fix, &mut out).await;
        out
    }

    fn with(out: &[Finding], outcome: Outcome) -> Vec<String> {
        (out.iter().filter(|f| f.outcome == outcome))
            .map(|f| f.what.clone())
            .collect()
    }

    #[tokio::test]
    async fn missing_properties_are_reported_then_added_by_fix_and_the_subscription_step_printed() {
        let sandbox = NotionSandbox::start_with(None).await.expect("sandbox");
        let db = sandbox.create_database(
            "Leads",
            &[
                PropertySpec::new("Name", "title"),
                PropertySpec::new("Email", "url"),
            ],
        );
        let n = notion(&sandbox, sandbox.token()).await;
        let p = pair(&db.database_id);
        let out = findings(&n, &p, false).await;
        let missing = with(&out, Outcome::Missing);
        assert!(
            missing.contains(&"property \"Status\" (select)".to_owned()),
            "{missing:?}"
        );
        assert!(missing.contains(&"property \"Notes\" (rich_text)".to_owned()));
        assert!(missing.contains(&"property \"Trello Card\" (url)".to_owned()));
        let errors = with(&out, Outcome::Error);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0].starts_with("property \"Email\" (url, for columns.email) has the wrong type")
        );
        assert!(
            with(&out, Outcome::Ok)
                .iter()
                .any(|w| w.contains("/webhooks/notion"))
        );
        let fixed = findings(&n, &p, true).await;
        assert_eq!(with(&fixed, Outcome::Fixed).len(), missing.len());
        let ds = n
            .client
            .retrieve_data_source(&db.data_source_id)
            .await
            .expect("read");
        let status = &ds.properties["Status"];
        assert_eq!(status.kind, PropertyType::Select);
        assert_eq!(status.options, ["Lost", "New"], "the statuses as options");
        let again = findings(&n, &p, false).await;
        assert!(with(&again, Outcome::Missing).is_empty());
    }

    #[tokio::test]
    async fn a_refused_token_and_an_unshared_database_are_named() {
        let sandbox = NotionSandbox::start_with(None).await.expect("sandbox");
        let db = sandbox.create_database("Leads", &[PropertySpec::new("Name", "title")]);
        let wrong = notion(&sandbox, "ntn_wrong").await;
        let refused = findings(&wrong, &pair(&db.database_id), false).await;
        let errors = with(&refused, Outcome::Error);
        assert!(
            errors[0].starts_with("token refused: check notion.token"),
            "{errors:?}"
        );
        let n = notion(&sandbox, sandbox.token()).await;
        let unknown = findings(&n, &pair("00000000000000000000000000000000"), false).await;
        let errors = with(&unknown, Outcome::Error);
        assert!(
            errors[0].contains("not shared with the integration"),
            "{errors:?}"
        );
    }
}
