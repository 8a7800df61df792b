//! Offline findings: the shipped examples' placeholders are all flagged, missing secrets are
//! named with where to find them, and a reachable deployment has no finding at all.

use std::collections::HashMap;

use super::*;
use crate::config::{self, Sources};

const EXAMPLE_TOML: &str = include_str!("../../config/example.toml");
const LOCAL_ENV: &str = include_str!("../../.env.example");
const CONTAINER_ENV: &str = include_str!("../../.env.container.example");

fn dotenv(text: &str) -> HashMap<String, String> {
    dotenvy::from_read_iter(text.as_bytes())
        .collect::<Result<_, _>>()
        .expect("the example parses as a .env file")
}

fn settings(file: &str, env: HashMap<String, String>) -> Settings {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("c.toml");
    std::fs::write(&path, file).expect("write");
    config::load(&Sources {
        file: Some(path),
        dotenv: HashMap::new(),
        env,
    })
    .expect("valid settings")
}

fn keys(s: &Settings) -> Vec<String> {
    placeholders(s).into_iter().map(|(_, p)| p.key).collect()
}

#[test]
fn every_placeholder_of_the_shipped_examples_is_flagged() {
    for example in [LOCAL_ENV, CONTAINER_ENV] {
        let s = settings(EXAMPLE_TOML, dotenv(example));
        let flagged = keys(&s);
        for key in [
            "server.public_url",
            "server.admin_token",
            "trello.api_key",
            "trello.api_token",
            "trello.api_secret",
            "pairs[0].spreadsheet_id",
            "pairs[0].board_id",
        ] {
            assert!(flagged.iter().any(|k| k == key), "{key} not in {flagged:?}");
        }
        // The example leaves the Apps Script secret empty, to be generated.
        let missing: Vec<String> = missing_secrets(&s).into_iter().map(|p| p.key).collect();
        assert_eq!(missing, ["apps_script.secret"]);
    }
    // config/example.toml's own public_url, and default.toml's commented ids.
    let s = settings(EXAMPLE_TOML, HashMap::new());
    assert!(keys(&s).contains(&"server.public_url".to_owned()));
    assert!(is_placeholder("1AbC...") && is_placeholder("5f1e\u{2026}"));
}

#[test]
fn a_loopback_public_url_is_flagged_and_a_public_one_is_not() {
    for url in [
        "http://localhost:8080",
        "http://127.0.0.1:8080",
        "http://[::1]:8080",
        "https://sync.example.com",
    ] {
        let env = HashMap::from([("LEADSYNC__SERVER__PUBLIC_URL".to_owned(), url.to_owned())]);
        let problem = public_url_problem(&settings("", env)).expect("flagged");
        assert_eq!(problem.key, "server.public_url");
        assert!(problem.why.contains("cannot reach it"), "{}", problem.why);
    }
    let env = HashMap::from([(
        "LEADSYNC__SERVER__PUBLIC_URL".to_owned(),
        "https://leads.acme.test".to_owned(),
    )]);
    assert_eq!(public_url_problem(&settings("", env)), None);
}

#[test]
fn missing_secrets_are_named_with_where_to_find_them_once_a_pair_exists() {
    assert!(missing_secrets(&settings("", HashMap::new())).is_empty());
    let s = settings(EXAMPLE_TOML, HashMap::new());
    let found = findings(&s);
    let trello = found
        .iter()
        .find(|f| f.what.starts_with("trello.api_secret: is empty"))
        .expect("trello.api_secret reported");
    assert_eq!(trello.outcome, Outcome::Error);
    assert!(
        trello.what.contains("trello.com/power-ups/admin"),
        "{}",
        trello.what
    );
    let apps = found
        .iter()
        .find(|f| f.what.starts_with("apps_script.secret: is empty"))
        .expect("apps_script.secret reported");
    assert!(
        apps.what.contains("openssl rand -base64 32"),
        "{}",
        apps.what
    );
}

#[test]
fn secret_values_are_never_quoted() {
    let env = HashMap::from([(
        "LEADSYNC__TRELLO__API_TOKEN".to_owned(),
        "your-trello-token-abc123".to_owned(),
    )]);
    let found = findings(&settings("", env));
    let token = found
        .iter()
        .find(|f| f.what.starts_with("trello.api_token"))
        .expect("flagged");
    assert!(!token.what.contains("abc123"), "{}", token.what);
}

#[test]
fn an_airtable_pair_needs_no_apps_script_secret_and_its_table_placeholder_is_flagged() {
    let file = "[[pairs]]\nname = \"agency\"\nboard_id = \"5f1e00000000000000000001\"\n\
                tracker = \"airtable\"\nbase_id = \"appA1b2C3d4E5f6G7\"\ntable = \"Leads…\"\n\
                [pairs.status_lists]\nNew = \"New\"\nLost = \"Lost\"\n";
    let env = HashMap::from([(
        "LEADSYNC__AIRTABLE__TOKEN".to_owned(),
        "patAbc.123".to_owned(),
    )]);
    let s = settings(file, env);
    let missing: Vec<String> = missing_secrets(&s).into_iter().map(|p| p.key).collect();
    assert_eq!(missing, ["trello.api_secret"]);
    assert!(
        keys(&s).contains(&"pairs[0].table".to_owned()),
        "{:?}",
        keys(&s)
    );
}

#[test]
fn a_mirrors_only_config_needs_the_trello_secret_and_no_apps_script_secret() {
    let file = "[[mirrors]]\nname = \"client\"\nboard_a = \"5f1e00000000000000000001\"\n\
                board_b = \"5f1e00000000000000000002\"\n[mirrors.lists]\n\"To Do\" = \"Backlog\"\n";
    let s = settings(file, HashMap::new());
    assert!(s.pairs.is_empty());
    let missing: Vec<String> = missing_secrets(&s).into_iter().map(|p| p.key).collect();
    assert_eq!(missing, ["trello.api_secret"]);
}
