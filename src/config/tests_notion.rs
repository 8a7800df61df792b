//! Validation of a Notion pair (CONTRACT §7): `database_id` or `data_source_id` (exactly one, a
//! Notion id), no keys of the other trackers, `notion.token`, and the `[notion]` defaults.

use std::collections::HashMap;
use std::io::Write;

use secrecy::ExposeSecret;

use super::*;
use crate::model::TrackerKind;

const TOKEN: &str = "ntn_0123456789abcdef0123456789";
const DATABASE: &str = "1a2b3c4d-5e6f-7081-92a3-b4c5d6e7f809";

/// A Notion pair; `keys` are its tracker keys (and anything else for the `[[pairs]]` table).
fn notion_pair(keys: &str) -> String {
    format!(
        "[[pairs]]\nname = \"agency\"\nboard_id = \"5f1e00000000000000000001\"\n\
         tracker = \"notion\"\n{keys}[pairs.status_lists]\nNew = \"New\"\nLost = \"Lost\"\n"
    )
}

fn load_text(text: &str, token: &str) -> Result<Settings, ConfigError> {
    let mut f = tempfile::NamedTempFile::new().expect("temp file");
    f.write_all(text.as_bytes()).expect("write");
    let env = HashMap::from([("LEADSYNC__NOTION__TOKEN".to_owned(), token.to_owned())]);
    load(&Sources {
        file: Some(f.path().to_path_buf()),
        dotenv: HashMap::new(),
        env,
    })
}

fn error(text: &str) -> String {
    load_text(text, TOKEN).expect_err("rejected").to_string()
}

#[test]
fn a_notion_pair_loads_with_its_database_or_its_data_source_and_the_defaults() {
    let s = load_text(
        &notion_pair(&format!("database_id = \"{DATABASE}\"\n")),
        TOKEN,
    )
    .expect("loads");
    let pair = &s.pairs[0];
    assert_eq!(pair.tracker, TrackerKind::Notion);
    assert_eq!(pair.database_id.as_deref(), Some(DATABASE));
    assert_eq!(pair.data_source_id, None);
    assert_eq!(s.notion.api_base, "https://api.notion.com/v1");
    assert_eq!(s.notion.poll_interval_secs, 60);
    assert_eq!(s.notion.webhook_verification_token.expose_secret(), "");
    assert_eq!(s.notion.token.expose_secret(), TOKEN);
    let by_source = notion_pair("data_source_id = \"1a2b3c4d5e6f708192a3b4c5d6e7f809\"\n");
    let s = load_text(
        &format!("[notion]\npoll_interval_secs = 0\n{by_source}"),
        TOKEN,
    )
    .expect("loads");
    assert_eq!(s.notion.poll_interval_secs, 0, "0 turns polling off");
    assert!(s.pairs[0].data_source_id.is_some());
}

#[test]
fn a_notion_pair_names_exactly_one_of_database_id_and_data_source_id() {
    assert_eq!(
        error(&notion_pair("")),
        "pairs[0].database_id: must be set for a Notion pair (or data_source_id): the database's \
         id, the 32 hex digits in its URL"
    );
    let both = format!("database_id = \"{DATABASE}\"\ndata_source_id = \"{DATABASE}\"\n");
    assert!(error(&notion_pair(&both)).starts_with(
        "pairs[0].data_source_id: a Notion pair names its database_id or its \
                          data_source_id, not both"
    ));
    assert_eq!(
        error(&notion_pair("database_id = \"Leads\"\n")),
        "pairs[0].database_id: \"Leads\" is not a Notion id: Notion ids are 32 hex digits \
         (dashes allowed)"
    );
}

#[test]
fn keys_of_other_trackers_on_a_notion_pair_are_invalid_naming_the_key() {
    let db = format!("database_id = \"{DATABASE}\"\n");
    assert_eq!(
        error(&notion_pair(&format!("{db}sheet = \"Leads\"\n"))),
        "pairs[0].sheet: belongs to Google Sheets pairs, and this pair's tracker is \"notion\": \
         remove it (a \"notion\" pair uses database_id or data_source_id), or set tracker to the \
         kind it belongs to"
    );
    assert!(
        error(&notion_pair(&format!("{db}table = \"Leads\"\n")))
            .starts_with("pairs[0].table: belongs to Airtable pairs")
    );
    // And a Notion key on a Sheets pair.
    let sheets = format!(
        "[[pairs]]\nname = \"s\"\nspreadsheet_id = \"x\"\nsheet = \"Leads\"\nboard_id = \"b\"\n{db}"
    );
    assert_eq!(
        error(&sheets),
        "pairs[0].database_id: belongs to Notion pairs, and this pair's tracker is \"sheets\": \
         remove it (a \"sheets\" pair uses spreadsheet_id), or set tracker to the kind it belongs to"
    );
}

#[test]
fn a_notion_pair_needs_the_token_and_prefer_tracker_not_prefer_sheet() {
    let pair = notion_pair(&format!("database_id = \"{DATABASE}\"\n"));
    let missing = load_text(&pair, "").expect_err("no token").to_string();
    assert!(
        missing.starts_with("notion.token: must be set: pairs[0] (\"agency\") is a Notion pair"),
        "{missing}"
    );
    let inherited = format!("[sync]\nconflict_policy = \"prefer_sheet\"\n{pair}");
    assert!(
        error(&inherited).contains("pairs[0] (\"agency\") is a Notion pair that inherits it"),
        "{}",
        error(&inherited)
    );
    let bad_base = format!("[notion]\napi_base = \"not a url\"\n{pair}");
    assert!(error(&bad_base).starts_with("notion.api_base:"));
}
