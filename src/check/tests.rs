//! Check against the emulators: a well set-up pair, broken credentials, a missing sheet, and the
//! report's format. The fixture is shared with `tests_fix`.

use std::collections::HashMap;

use super::*;
use crate::config::{self, Sources};
use crate::connectors::sheets::sandbox::{GoogleSandbox, SERVICE_ACCOUNT_EMAIL};
use crate::connectors::trello::sandbox::{BoardSetup, TrelloSandbox};

pub(super) const LISTS: [&str; 4] = ["New", "Contacted", "Qualified", "Lost"];
pub(super) const FIELDS: [&str; 3] = ["Email", "Phone", "Company"];
pub(super) const HEADER: [&str; 8] = [
    "Lead ID",
    "Name",
    "Email",
    "Phone",
    "Company",
    "Status",
    "Notes",
    "Trello Card",
];
pub(super) const SPREADSHEET: &str = "1SandboxSpreadsheet";
const APPS_SCRIPT_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
/// Never contacted by check; a host Trello could reach, unlike the default localhost.
const PUBLIC_URL: &str = "https://leads.acme.test";

/// Both emulators, a board and a spreadsheet shaped by the arguments, and a config file for them.
pub(super) struct Fixture {
    pub trello: TrelloSandbox,
    pub google: GoogleSandbox,
    pub board: BoardSetup,
    pub dir: tempfile::TempDir,
}

impl Fixture {
    pub async fn start(lists: &[&str], fields: &[&str], header: &[&str]) -> Self {
        let trello = TrelloSandbox::start().await.expect("trello sandbox");
        let google = GoogleSandbox::start().await.expect("google sandbox");
        let board = trello.setup_board("Sales", lists, fields);
        google.create_spreadsheet(SPREADSHEET);
        google.add_sheet(SPREADSHEET, "Leads").expect("sheet");
        google
            .set_rows(SPREADSHEET, "Leads", 1, &[header])
            .expect("header");
        let dir = tempfile::tempdir().expect("tempdir");
        google
            .write_service_account_key(&dir.path().join("sa.json"))
            .expect("key file");
        Self {
            trello,
            google,
            board,
            dir,
        }
    }

    pub async fn standard() -> Self {
        Self::start(&LISTS, &FIELDS, &HEADER).await
    }

    /// Settings as a deployment would load them: a config file with the pair, plus `LEADSYNC__…`
    /// overrides pointing at the emulators (`extra` last, so a test can break one).
    pub fn settings(&self, sheet: &str, extra: &[(&str, &str)]) -> Settings {
        let file = self.dir.path().join("leadsync.toml");
        let toml = format!(
            "[[pairs]]\nname = \"default\"\nspreadsheet_id = \"{SPREADSHEET}\"\nsheet = \"{sheet}\"\n\
             board_id = \"{}\"\n[pairs.status_lists]\nNew = \"New\"\nContacted = \"Contacted\"\n\
             Qualified = \"Qualified\"\nLost = \"Lost\"\n",
            self.board.board_id
        );
        std::fs::write(&file, toml).expect("config file");
        let key = self.dir.path().join("sa.json");
        let mut env: HashMap<String, String> = [
            ("LEADSYNC__TRELLO__API_BASE", self.trello.api_base()),
            (
                "LEADSYNC__TRELLO__API_KEY",
                self.trello.api_key().to_owned(),
            ),
            (
                "LEADSYNC__TRELLO__API_TOKEN",
                self.trello.api_token().to_owned(),
            ),
            (
                "LEADSYNC__GOOGLE__SHEETS_API_BASE",
                self.google.sheets_api_base(),
            ),
            (
                "LEADSYNC__GOOGLE__CREDENTIALS_FILE",
                key.display().to_string(),
            ),
            // What webhooks need: without them check reports the deployment unusable.
            (
                "LEADSYNC__TRELLO__API_SECRET",
                self.trello.api_secret().to_owned(),
            ),
            ("LEADSYNC__APPS_SCRIPT__SECRET", APPS_SCRIPT_SECRET.into()),
            ("LEADSYNC__SERVER__PUBLIC_URL", PUBLIC_URL.into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        env.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        config::load(&Sources {
            file: Some(file),
            dotenv: HashMap::new(),
            env,
        })
        .expect("valid settings")
    }
}

pub(super) fn with(findings: &[Finding], outcome: Outcome) -> Vec<String> {
    findings
        .iter()
        .filter(|f| f.outcome == outcome)
        .map(|f| f.what.clone())
        .collect()
}

pub(super) fn assert_all_ok(findings: &[Finding]) {
    let bad: Vec<String> = findings
        .iter()
        .filter(|f| f.outcome != Outcome::Ok)
        .map(ToString::to_string)
        .collect();
    assert!(bad.is_empty(), "expected all ok, got: {bad:#?}");
    assert!(usable(findings));
}

#[tokio::test]
async fn a_well_set_up_pair_is_all_ok() {
    let fx = Fixture::standard().await;
    let findings = run(&fx.settings("Leads", &[]), false).await;
    assert_all_ok(&findings);
    let lines: Vec<String> = findings.iter().map(ToString::to_string).collect();
    let expected = [
        "[default] ok: config valid".to_owned(),
        "[default] ok: trello: token of Leadsync Bot (@leadsyncbot)".to_owned(),
        format!(
            "[default] ok: board \"Sales\" ({}) reachable",
            fx.board.board_id
        ),
        "[default] ok: list \"Qualified\" (status Qualified)".to_owned(),
        "[default] ok: custom field \"Phone\" (text, for columns.phone)".to_owned(),
        format!("[default] ok: google: token obtained for service account {SERVICE_ACCOUNT_EMAIL}"),
        format!("[default] ok: spreadsheet {SPREADSHEET}, sheet \"Leads\" reachable"),
        "[default] ok: header row of sheet \"Leads\" has every configured column (8)".to_owned(),
    ];
    for line in expected {
        assert!(lines.contains(&line), "{line:?} not in {lines:#?}");
    }
    // 1 config + 2 accounts + board + 4 lists + 3 fields + sheet + header.
    assert_eq!(findings.len(), 13, "{lines:#?}");
}

#[tokio::test]
async fn lists_fields_and_headers_match_ignoring_case_and_spaces() {
    let header = HEADER.map(|h| format!(" {} ", h.to_uppercase()));
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    let fx = Fixture::start(
        &["new", "CONTACTED", " Qualified ", "lost"],
        &["email", "PHONE", "Company "],
        &header,
    )
    .await;
    assert_all_ok(&run(&fx.settings("leads", &[]), false).await);
}

#[tokio::test]
async fn a_bad_token_is_an_error_finding_that_names_no_secret() {
    let fx = Fixture::standard().await;
    let bad_token = "ATTAbadtoken0123456789abcdef0123456789";
    let settings = fx.settings("Leads", &[("LEADSYNC__TRELLO__API_TOKEN", bad_token)]);
    let findings = run(&settings, true).await;
    assert!(!usable(&findings));
    let errors = with(&findings, Outcome::Error);
    assert_eq!(errors.len(), 1, "{findings:#?}");
    assert!(
        errors[0].starts_with("trello: key or token refused"),
        "{}",
        errors[0]
    );
    assert!(errors[0].contains("HTTP 401"), "{}", errors[0]);
    // The Google side is checked all the same.
    assert!(
        with(&findings, Outcome::Ok)
            .iter()
            .any(|w| w.contains("header row"))
    );
    let text: String = findings
        .iter()
        .map(|f| format!("{f}\n"))
        .collect::<String>()
        + &summary(&findings);
    for secret in [bad_token, fx.trello.api_key(), fx.trello.api_secret()] {
        assert!(!text.contains(secret), "a secret leaked into: {text}");
    }
    assert!(!text.contains("PRIVATE KEY"), "{text}");
}

#[tokio::test]
async fn empty_trello_credentials_are_an_error_naming_the_key() {
    let fx = Fixture::standard().await;
    let settings = fx.settings("Leads", &[("LEADSYNC__TRELLO__API_KEY", "")]);
    let errors = with(&run(&settings, false).await, Outcome::Error);
    assert_eq!(errors, vec!["trello: trello.api_key is empty".to_owned()]);
}

#[tokio::test]
async fn an_unreadable_key_file_is_an_error_naming_google_credentials_file() {
    let fx = Fixture::standard().await;
    let settings = fx.settings(
        "Leads",
        &[("LEADSYNC__GOOGLE__CREDENTIALS_FILE", "/nonexistent/sa.json")],
    );
    let errors = with(&run(&settings, false).await, Outcome::Error);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(
        errors[0].starts_with("google: google.credentials_file /nonexistent/sa.json: cannot read"),
        "{}",
        errors[0]
    );
}

#[tokio::test]
async fn a_missing_sheet_is_an_error_that_fix_does_not_create() {
    let fx = Fixture::standard().await;
    let findings = run(&fx.settings("Prospects", &[]), true).await;
    let errors = with(&findings, Outcome::Error);
    assert_eq!(
        errors,
        vec![format!(
            "sheet \"Prospects\" not found in spreadsheet {SPREADSHEET} (it has \"Leads\")"
        )]
    );
    assert!(!usable(&findings));
    assert!(
        fx.google.grid(SPREADSHEET, "Prospects").is_err(),
        "no sheet was created"
    );
}

#[tokio::test]
async fn a_spreadsheet_not_shared_with_the_service_account_names_its_email() {
    let fx = Fixture::standard().await;
    fx.google
        .revoke_access(SPREADSHEET, SERVICE_ACCOUNT_EMAIL)
        .expect("revoke");
    let errors = with(
        &run(&fx.settings("Leads", &[]), false).await,
        Outcome::Error,
    );
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(
        errors[0].contains(&format!("not shared with {SERVICE_ACCOUNT_EMAIL}")),
        "{}",
        errors[0]
    );
}

#[tokio::test]
async fn a_board_that_does_not_exist_is_an_error_and_its_lists_are_not_checked() {
    let fx = Fixture::standard().await;
    let other = "5f0000000000000000000000";
    let mut settings = fx.settings("Leads", &[]);
    settings.pairs[0].board_id = other.to_owned();
    let findings = run(&settings, true).await;
    let errors = with(&findings, Outcome::Error);
    assert_eq!(errors.len(), 1, "{findings:#?}");
    assert!(
        errors[0].starts_with(&format!("board {other} not found")),
        "{}",
        errors[0]
    );
    assert!(!findings.iter().any(|f| f.what.starts_with("list ")));
}

#[tokio::test]
async fn zero_pairs_is_one_error_finding() {
    let fx = Fixture::standard().await;
    let mut settings = fx.settings("Leads", &[]);
    settings.pairs.clear();
    let findings = run(&settings, false).await;
    assert_eq!(findings.len(), 1, "{findings:#?}");
    assert_eq!(findings[0].pair, NO_PAIR);
    assert_eq!(findings[0].outcome, Outcome::Error);
    let what = &findings[0].what;
    assert!(what.starts_with("no [[pairs]] configured: add one to the config file given by --config FILE or LEADSYNC_CONFIG"), "{what}");
    assert!(
        what.contains("\n    [[pairs]]\n    name = \"default\""),
        "{what}"
    );
    assert!(!usable(&findings));
}

#[test]
fn findings_print_as_pair_outcome_and_what_and_the_summary_counts_them() {
    let findings = vec![
        Finding::new("default", Outcome::Ok, "config valid"),
        Finding::new(
            "default",
            Outcome::Fixed,
            "list \"New\" (status New) created",
        ),
        Finding::new(
            "default",
            Outcome::Missing,
            "list \"Qualified\" (status Qualified)",
        ),
    ];
    assert_eq!(
        findings[2].to_string(),
        "[default] missing: list \"Qualified\" (status Qualified)"
    );
    assert_eq!(
        summary(&findings),
        "check: 1 ok, 1 fixed, 1 missing, 0 error(s): not usable: run `leadsync check --fix` to create what is missing"
    );
    assert_eq!(
        summary(&findings[..2]),
        "check: 1 ok, 1 fixed, 0 missing, 0 error(s): usable"
    );
    assert!(!usable(&[]));
}
