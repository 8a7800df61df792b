//! Validation of a pair's tracker: the keys of each kind, `airtable.token`, per-pair conflict
//! policies, and the messages for a tracker this build does not have.

use std::collections::HashMap;
use std::io::Write;

use super::*;
use crate::model::TrackerKind;

const TOKEN: &str = "patAbc123.0123456789abcdef";

/// An Airtable pair as the contract shows it; `extra` lines are added to the `[[pairs]]` table.
fn airtable_pair(extra: &str) -> String {
    format!(
        "[[pairs]]\nname = \"agency\"\nboard_id = \"5f1e00000000000000000001\"\n\
         tracker = \"airtable\"\nbase_id = \"appA1b2C3d4E5f6G7\"\ntable = \"Leads\"\n{extra}\
         [pairs.status_lists]\nNew = \"New\"\nLost = \"Lost\"\n"
    )
}

fn sheets_pair(extra: &str) -> String {
    format!(
        "[[pairs]]\nname = \"default\"\nspreadsheet_id = \"sheet-1\"\nsheet = \"Leads\"\n\
         board_id = \"board-1\"\n{extra}[pairs.status_lists]\nNew = \"New\"\nLost = \"Lost\"\n"
    )
}

fn load_text(text: &str, token: &str) -> Result<Settings, ConfigError> {
    let mut f = tempfile::NamedTempFile::new().expect("temp file");
    f.write_all(text.as_bytes()).expect("write");
    let env = HashMap::from([("LEADSYNC__AIRTABLE__TOKEN".to_owned(), token.to_owned())]);
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
fn an_airtable_pair_loads_with_its_base_table_and_policy() {
    let text = format!(
        "{}{}",
        sheets_pair(""),
        airtable_pair("conflict_policy = \"prefer_tracker\"\n")
    );
    let s = load_text(&text, TOKEN).expect("loads");
    let (sheets, airtable) = (&s.pairs[0], &s.pairs[1]);
    assert_eq!(sheets.tracker, TrackerKind::Sheets);
    assert_eq!(airtable.tracker, TrackerKind::Airtable);
    assert_eq!(airtable.base_id.as_deref(), Some("appA1b2C3d4E5f6G7"));
    assert_eq!(airtable.table.as_deref(), Some("Leads"));
    assert!(airtable.spreadsheet_id.is_empty() && airtable.sheet.is_empty());
    assert_eq!(
        airtable.conflict_policy,
        Some(ConflictPolicySetting::PreferTracker)
    );
    // The id column keeps its default: written when the field exists.
    assert_eq!(airtable.columns.id, "Lead ID");
}

#[test]
fn an_unknown_tracker_names_the_key_and_the_three_kinds() {
    let excel = format!(
        "{}{}",
        sheets_pair(""),
        airtable_pair("").replace("airtable\"", "excel\"")
    );
    assert_eq!(
        error(&excel),
        "pairs[1].tracker: \"excel\" is not a tracker: use \"sheets\" (the default), \
         \"airtable\" or \"notion\""
    );
}

#[test]
fn a_key_of_the_other_tracker_is_named() {
    assert_eq!(
        error(&airtable_pair("sheet = \"Leads\"\n")),
        "pairs[0].sheet: belongs to Google Sheets pairs, and this pair's tracker is \"airtable\": \
         remove it (a \"airtable\" pair uses table), or set tracker to the kind it belongs to"
    );
    assert!(
        error(&airtable_pair("spreadsheet_id = \"1AbC\"\n"))
            .starts_with("pairs[0].spreadsheet_id: belongs to Google Sheets pairs")
    );
    assert_eq!(
        error(&sheets_pair("base_id = \"appA1b2C3d4E5f6G7\"\n")),
        "pairs[0].base_id: belongs to Airtable pairs, and this pair's tracker is \"sheets\": \
         remove it (a \"sheets\" pair uses spreadsheet_id), or set tracker to the kind it belongs to"
    );
    assert!(
        error(&sheets_pair("table = \"Leads\"\n"))
            .starts_with("pairs[0].table: belongs to Airtable pairs")
    );
    // Empty keys of the other kind are as good as absent.
    assert!(load_text(&airtable_pair("sheet = \"\"\n"), TOKEN).is_ok());
}

#[test]
fn an_airtable_pair_needs_a_base_id_starting_with_app_and_a_table() {
    let no_base = airtable_pair("").replace("base_id = \"appA1b2C3d4E5f6G7\"\n", "");
    assert_eq!(
        error(&no_base),
        "pairs[0].base_id: must be set for an Airtable pair: the base's id (\"app…\", the part of \
         the base's URL after airtable.com/)"
    );
    let wrong = airtable_pair("").replace("appA1b2C3d4E5f6G7", "tblA1b2C3d4E5f6G7");
    assert_eq!(
        error(&wrong),
        "pairs[0].base_id: \"tblA1b2C3d4E5f6G7\" is not an Airtable base id: base ids start with \
         \"app\" (the part of the base's URL after airtable.com/)"
    );
    let placeholder = airtable_pair("").replace("appA1b2C3d4E5f6G7", "app…");
    assert_eq!(
        error(&placeholder),
        "pairs[0].base_id: \"app…\" is not an Airtable base id: base ids are letters and digits only"
    );
    let no_table = airtable_pair("").replace("table = \"Leads\"\n", "table = \" \"\n");
    assert_eq!(
        error(&no_table),
        "pairs[0].table: must be set for an Airtable pair: the table's name or id (\"tbl…\")"
    );
}

#[test]
fn a_sheets_pair_still_needs_its_spreadsheet_and_sheet() {
    let file = sheets_pair("").replace("sheet = \"Leads\"\n", "");
    assert_eq!(error(&file), "pairs[0].sheet: must not be empty");
}

#[test]
fn the_airtable_token_is_required_by_an_airtable_pair_and_not_a_placeholder() {
    let empty = load_text(&airtable_pair(""), " ").expect_err("rejected");
    assert_eq!(
        empty.to_string(),
        "airtable.token: must be set: pairs[0] (\"agency\") is an Airtable pair; use a personal \
         access token with the scopes data.records:read/write, schema.bases:read/write and \
         webhook:manage, granted that pair's base"
    );
    let placeholder = load_text(&airtable_pair(""), "change-me").expect_err("rejected");
    assert_eq!(
        placeholder.to_string(),
        "airtable.token: is still the example's placeholder: set the real personal access token"
    );
    // Sheets pairs alone need no Airtable token.
    assert!(load_text(&sheets_pair(""), "").is_ok());
}

#[test]
fn prefer_sheet_is_refused_for_an_airtable_pair_at_either_level() {
    assert_eq!(
        error(&airtable_pair("conflict_policy = \"prefer_sheet\"\n")),
        "pairs[0].conflict_policy: prefer_sheet is for Google Sheets pairs and this pair's \
         tracker is \"airtable\": use prefer_tracker"
    );
    let inherited = format!(
        "[sync]\nconflict_policy = \"prefer_sheet\"\n{}{}",
        sheets_pair(""),
        airtable_pair("")
    );
    assert_eq!(
        error(&inherited),
        "sync.conflict_policy: prefer_sheet is for Google Sheets pairs, and pairs[1] (\"agency\") \
         is an Airtable pair that inherits it: use prefer_tracker, or set pairs[1].conflict_policy"
    );
    // Overridden by the Airtable pair, the default still serves the Sheets pair.
    let overridden = format!(
        "[sync]\nconflict_policy = \"prefer_sheet\"\n{}{}",
        sheets_pair(""),
        airtable_pair("conflict_policy = \"last_writer_wins\"\n")
    );
    assert!(load_text(&overridden, TOKEN).is_ok());
}

#[test]
fn prefer_tracker_is_valid_for_every_kind_and_prefer_sheet_for_sheets() {
    let text = format!(
        "[sync]\nconflict_policy = \"prefer_tracker\"\n{}{}",
        sheets_pair("conflict_policy = \"prefer_sheet\"\n"),
        airtable_pair("")
    );
    let s = load_text(&text, TOKEN).expect("loads");
    assert_eq!(s.sync.conflict_policy, ConflictPolicySetting::PreferTracker);
    assert_eq!(
        s.pairs[0].conflict_policy,
        Some(ConflictPolicySetting::PreferSheet)
    );
    assert!(
        error(&sheets_pair("conflict_policy = \"newest\"\n")).starts_with(
            "pairs[0].conflict_policy: \"newest\" is not one of last_writer_wins, prefer_sheet, \
             prefer_trello, prefer_tracker"
        )
    );
}
