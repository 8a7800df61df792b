//! Precedence and validation tests for configuration loading.

use std::collections::HashMap;
use std::io::Write;

use secrecy::ExposeSecret;

use super::*;

const PAIR: &str = r#"
[[pairs]]
name = "default"
spreadsheet_id = "sheet-1"
sheet = "Leads"
board_id = "board-1"
[pairs.status_lists]
New = "New"
Lost = "Lost"
"#;

pub(super) fn file_with(text: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().expect("temp file");
    f.write_all(text.as_bytes()).expect("write");
    f
}

pub(super) fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

pub(super) fn load_with(
    file: Option<&str>,
    dotenv: &[(&str, &str)],
    env: &[(&str, &str)],
) -> Result<Settings, ConfigError> {
    let tmp = file.map(file_with);
    load(&Sources {
        file: tmp.as_ref().map(|f| f.path().to_path_buf()),
        dotenv: vars(dotenv),
        env: vars(env),
    })
}

pub(super) fn error_text(file: &str) -> String {
    load_with(Some(file), &[], &[])
        .expect_err("should be rejected")
        .to_string()
}

#[test]
fn defaults_alone_load_and_match_the_contract() {
    let s = load_with(None, &[], &[]).expect("defaults load");
    assert_eq!(s.server.bind, "0.0.0.0:8080");
    assert_eq!(s.server.max_body_bytes, 1_048_576);
    assert_eq!(s.database.url, "sqlite://data/leadsync.db");
    assert_eq!(s.trello.api_base, "https://api.trello.com/1");
    assert_eq!(s.airtable.api_base, "https://api.airtable.com/v0");
    assert!(s.airtable.token.expose_secret().is_empty());
    assert_eq!(s.sync.debounce_ms, 1500);
    assert_eq!(s.sync.reconcile_interval_secs, 300);
    assert_eq!(
        s.sync.conflict_policy,
        ConflictPolicySetting::LastWriterWins
    );
    assert_eq!(
        s.sync.card_archived_action(),
        Some(OnCardArchived::SetStatus("Lost".into()))
    );
    assert_eq!(s.sync.on_row_deleted, OnRowDeleted::ArchiveCard);
    assert_eq!(s.sync.activity_retention_days, 30);
    assert!(s.pairs.is_empty());
}

#[test]
fn later_layers_win_file_then_dotenv_then_environment() {
    let file = "[server]\npublic_url = \"https://from-file.example\"\nmax_body_bytes = 10\n[sync]\ndebounce_ms = 1\n";
    let s = load_with(
        Some(file),
        &[
            ("LEADSYNC__SERVER__MAX_BODY_BYTES", "20"),
            ("LEADSYNC__SYNC__DEBOUNCE_MS", "2"),
        ],
        &[("LEADSYNC__SYNC__DEBOUNCE_MS", "3")],
    )
    .expect("loads");
    assert_eq!(
        s.server.public_url, "https://from-file.example",
        "file beats default"
    );
    assert_eq!(s.server.max_body_bytes, 20, ".env beats file");
    assert_eq!(s.sync.debounce_ms, 3, "environment beats .env");
}

#[test]
fn secrets_come_from_the_environment_and_are_redacted_in_debug() {
    let s = load_with(None, &[], &[("LEADSYNC__TRELLO__API_TOKEN", "tok-123456")]).expect("loads");
    assert_eq!(s.trello.api_token.expose_secret(), "tok-123456");
    assert!(!format!("{s:?}").contains("tok-123456"));
}

#[test]
fn numeric_looking_secrets_stay_strings() {
    let s = load_with(None, &[], &[("LEADSYNC__TRELLO__API_KEY", "0123456789")]).expect("loads");
    assert_eq!(s.trello.api_key.expose_secret(), "0123456789");
}

#[test]
fn unrelated_environment_variables_are_ignored() {
    let s = load_with(
        None,
        &[],
        &[
            ("LEADSYNC_CONFIG", "x.toml"),
            ("LEADSYNC_LOG_FORMAT", "pretty"),
            ("PATH", "/bin"),
        ],
    );
    assert!(s.is_ok());
}

#[test]
fn a_pair_loads_with_default_columns() {
    let s = load_with(Some(PAIR), &[], &[]).expect("loads");
    assert_eq!(s.pairs.len(), 1);
    assert_eq!(s.pairs[0].columns.id, "Lead ID");
    assert_eq!(s.pairs[0].columns.card.as_deref(), Some("Trello Card"));
    assert_eq!(
        s.pairs[0].status_lists.get("Lost").map(String::as_str),
        Some("Lost")
    );
}

#[test]
fn the_airtable_token_comes_from_the_environment_and_its_base_is_checked() {
    let env = [("LEADSYNC__AIRTABLE__TOKEN", "patSECRET.123")];
    let s = load_with(None, &[], &env).expect("loads");
    assert_eq!(s.airtable.token.expose_secret(), "patSECRET.123");
    assert!(!format!("{s:?}").contains("patSECRET"));
    assert_eq!(
        error_text("[airtable]\napi_base = \"api.airtable.com\""),
        "airtable.api_base: must start with http:// or https://"
    );
}

#[test]
fn apps_script_secret_must_be_a_whsec_key() {
    let how =
        ": use \"whsec_\" + base64 of 32 random bytes (echo \"whsec_$(openssl rand -base64 32)\")";
    assert_eq!(
        error_text("[apps_script]\nsecret = \"abc\""),
        format!("apps_script.secret: must start with whsec_{how}")
    );
    assert_eq!(
        error_text("[apps_script]\nsecret = \"whsec_!!!\""),
        format!("apps_script.secret: the part after whsec_ is not valid base64{how}")
    );
    assert_eq!(
        error_text("[apps_script]\nsecret = \"whsec_replace-with-base64-of-32-random-bytes\""),
        format!("apps_script.secret: is still the example's placeholder{how}")
    );
}

#[test]
fn enum_values_are_named_with_the_allowed_ones_not_a_rust_type() {
    assert_eq!(
        error_text("[sync]\nconflict_policy = \"newest\""),
        "sync.conflict_policy: \"newest\" is not one of last_writer_wins, prefer_sheet, prefer_trello, prefer_tracker"
    );
    let env = load_with(None, &[], &[("LEADSYNC__SYNC__ON_ROW_DELETED", "keep")])
        .expect_err("rejected")
        .to_string();
    assert!(
        env.starts_with("sync.on_row_deleted: \"keep\" is not one of archive_card, ignore"),
        "{env}"
    );
}

#[test]
fn an_environment_value_of_the_wrong_type_names_the_key_without_a_stray_backtick() {
    let err = load_with(None, &[], &[("LEADSYNC__SERVER__MAX_BODY_BYTES", "lots")])
        .expect_err("rejected")
        .to_string();
    assert!(
        err.starts_with("server.max_body_bytes: invalid type"),
        "{err}"
    );
    assert!(!err.contains('`'), "{err}");
    assert!(err.ends_with("(set in the environment)"), "{err}");
}

#[test]
fn the_archive_status_must_be_mapped_in_every_pair() {
    let file = format!("[sync]\non_card_archived = \"status:Dead\"\n{PAIR}");
    assert_eq!(
        error_text(&file),
        "sync.on_card_archived: status \"Dead\" is not in pairs[0].status_lists of pair \
         \"default\" (it maps Lost, New); add it there or choose one of those"
    );
    let mapped = format!("[sync]\non_card_archived = \"status:lost\"\n{PAIR}");
    assert!(
        load_with(Some(&mapped), &[], &[]).is_ok(),
        "case does not matter"
    );
    let ignored = format!("[sync]\non_card_archived = \"ignore\"\n{PAIR}");
    assert!(load_with(Some(&ignored), &[], &[]).is_ok());
}

#[test]
fn on_card_archived_must_be_ignore_or_status() {
    assert!(
        error_text("[sync]\non_card_archived = \"status:\"").starts_with("sync.on_card_archived: ")
    );
    let ok = load_with(Some("[sync]\non_card_archived = \"ignore\""), &[], &[]).expect("loads");
    assert_eq!(ok.sync.card_archived_action(), Some(OnCardArchived::Ignore));
}

#[test]
fn status_lists_must_not_be_empty() {
    let file = PAIR.replace("[pairs.status_lists]\nNew = \"New\"\nLost = \"Lost\"\n", "");
    assert_eq!(error_text(&file), "pairs[0].status_lists: empty");
}

#[test]
fn pair_fields_must_not_be_empty() {
    assert_eq!(
        error_text(&PAIR.replace("board-1", "")),
        "pairs[0].board_id: must not be empty"
    );
}

#[test]
fn pair_names_must_be_unique() {
    let file = format!("{PAIR}{}", PAIR.replace("sheet-1", "sheet-2"));
    assert_eq!(
        error_text(&file),
        "pairs[1].name: \"default\" is used twice"
    );
}

#[test]
fn two_columns_cannot_share_a_header() {
    let file = format!("{PAIR}[pairs.columns]\nemail = \"name\"\n");
    assert_eq!(
        error_text(&file),
        "pairs[0].columns.email: header \"name\" is used by another column"
    );
}

#[test]
fn a_missing_config_file_is_named() {
    let err = load(&Sources {
        file: Some("/nonexistent/leadsync.toml".into()),
        ..Sources::default()
    })
    .expect_err("missing file");
    assert!(
        err.to_string()
            .starts_with("config file /nonexistent/leadsync.toml: ")
    );
}

#[test]
fn a_malformed_config_file_reports_the_line() {
    let text = error_text("[server\nbind = 1");
    assert!(text.contains("line 1"), "{text}");
}

#[test]
fn initial_source_defaults_to_the_sheet_and_takes_only_a_side() {
    let s = load_with(None, &[], &[]).expect("defaults load");
    assert_eq!(s.sync.initial_source, crate::model::Side::Sheet);
    let trello = load_with(Some("[sync]\ninitial_source = \"trello\""), &[], &[]).expect("loads");
    assert_eq!(trello.sync.initial_source, crate::model::Side::Trello);
    let err = error_text("[sync]\ninitial_source = \"both\"");
    assert!(err.starts_with("sync.initial_source: "), "{err}");
}
