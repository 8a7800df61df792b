//! `leadsync check` as a user runs it, against both emulators started in this test process.

use leadsync::connectors::sheets::sandbox::{
    GoogleSandbox, SERVICE_ACCOUNT_EMAIL, SERVICE_ACCOUNT_PRIVATE_KEY,
};
use leadsync::connectors::trello::sandbox::{BoardSetup, TrelloSandbox};

const BIN: &str = env!("CARGO_BIN_EXE_leadsync");
const SPREADSHEET: &str = "1ItSpreadsheet";
const APPS_SCRIPT_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

struct Deployment {
    trello: TrelloSandbox,
    google: GoogleSandbox,
    board: BoardSetup,
    dir: tempfile::TempDir,
}

async fn deployment(lists: &[&str]) -> Deployment {
    let trello = TrelloSandbox::start().await.expect("trello sandbox");
    let google = GoogleSandbox::start().await.expect("google sandbox");
    let board = trello.setup_board("Pipeline", lists, &["Email", "Phone", "Company"]);
    google.create_spreadsheet(SPREADSHEET);
    google.add_sheet(SPREADSHEET, "Leads").expect("sheet");
    let header = [
        "Lead ID",
        "Name",
        "Email",
        "Phone",
        "Company",
        "Status",
        "Notes",
        "Trello Card",
    ];
    google
        .set_rows(SPREADSHEET, "Leads", 1, &[header])
        .expect("header");
    let dir = tempfile::tempdir().expect("tempdir");
    // Relative to the working directory, as the contract says: the child runs in `dir`.
    google
        .write_service_account_key(&dir.path().join("service_account.json"))
        .expect("key file");
    let toml = format!(
        "[sync]\non_card_archived = \"ignore\"\n[[pairs]]\nname = \"sales\"\nspreadsheet_id = \"{SPREADSHEET}\"\nsheet = \"Leads\"\n\
         board_id = \"{}\"\n[pairs.status_lists]\nNew = \"New\"\nWon = \"Won\"\n",
        board.board_id
    );
    std::fs::write(dir.path().join("leadsync.toml"), toml).expect("config");
    Deployment {
        trello,
        google,
        board,
        dir,
    }
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

async fn check(d: &Deployment, token: &str, fix: bool) -> Run {
    let mut cmd = tokio::process::Command::new(BIN);
    cmd.current_dir(d.dir.path())
        .env_remove("LEADSYNC_CONFIG")
        .env_remove("RUST_LOG")
        .env("LEADSYNC__TRELLO__API_BASE", d.trello.api_base())
        .env("LEADSYNC__TRELLO__API_KEY", d.trello.api_key())
        .env("LEADSYNC__TRELLO__API_TOKEN", token)
        .env("LEADSYNC__TRELLO__API_SECRET", d.trello.api_secret())
        .env("LEADSYNC__APPS_SCRIPT__SECRET", APPS_SCRIPT_SECRET)
        // Never contacted by check; unlike the default localhost, Trello could reach it.
        .env("LEADSYNC__SERVER__PUBLIC_URL", "https://leads.acme.test")
        .env(
            "LEADSYNC__GOOGLE__SHEETS_API_BASE",
            d.google.sheets_api_base(),
        )
        .args(["check", "--config", "leadsync.toml"]);
    if fix {
        cmd.arg("--fix");
    }
    let out = cmd.output().await.expect("leadsync runs");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn assert_no_secret(d: &Deployment, run: &Run, extra: &[&str]) {
    let pem_body = SERVICE_ACCOUNT_PRIVATE_KEY
        .lines()
        .nth(1)
        .expect("a PEM body line");
    let secrets = [
        d.trello.api_key(),
        d.trello.api_token(),
        d.trello.api_secret(),
        pem_body,
    ];
    for secret in secrets.iter().chain(extra) {
        assert!(
            !run.stdout.contains(secret),
            "secret in stdout:\n{}",
            run.stdout
        );
        assert!(
            !run.stderr.contains(secret),
            "secret in stderr:\n{}",
            run.stderr
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_reports_a_missing_list_fixes_it_and_then_exits_0() {
    let d = deployment(&["New"]).await;
    let token = d.trello.api_token().to_owned();

    let first = check(&d, &token, false).await;
    assert_eq!(first.code, Some(1), "{}\n{}", first.stdout, first.stderr);
    assert!(
        first
            .stdout
            .contains("[sales] missing: list \"Won\" (status Won)\n"),
        "{}",
        first.stdout
    );

    let fixed = check(&d, &token, true).await;
    assert_eq!(fixed.code, Some(0), "{}\n{}", fixed.stdout, fixed.stderr);
    assert!(
        fixed
            .stdout
            .contains("[sales] fixed: list \"Won\" (status Won) created\n")
    );
    assert!(
        d.trello
            .lists(&d.board.board_id)
            .iter()
            .any(|l| l.name == "Won")
    );

    let again = check(&d, &token, false).await;
    assert_eq!(again.code, Some(0), "{}\n{}", again.stdout, again.stderr);
    let lines: Vec<&str> = again.stdout.lines().collect();
    for expected in [
        "[sales] ok: config valid".to_owned(),
        "[sales] ok: trello: token of Leadsync Bot (@leadsyncbot)".to_owned(),
        format!(
            "[sales] ok: board \"Pipeline\" ({}) reachable",
            d.board.board_id
        ),
        "[sales] ok: list \"Won\" (status Won)".to_owned(),
        "[sales] ok: custom field \"Email\" (text, for columns.email)".to_owned(),
        format!("[sales] ok: google: token obtained for service account {SERVICE_ACCOUNT_EMAIL}"),
        format!("[sales] ok: spreadsheet {SPREADSHEET}, sheet \"Leads\" reachable"),
    ] {
        assert!(
            lines.contains(&expected.as_str()),
            "{expected:?} not in:\n{}",
            again.stdout
        );
    }
    assert_eq!(
        lines.last().copied(),
        Some("check: 11 ok, 0 fixed, 0 missing, 0 error(s): usable")
    );
    assert!(
        lines[..lines.len() - 1]
            .iter()
            .all(|l| l.starts_with("[sales] ok: "))
    );
    for run in [&first, &fixed, &again] {
        assert_no_secret(&d, run, &[]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_with_a_bad_token_prints_an_error_line_and_exits_1_without_the_token() {
    let d = deployment(&["New", "Won"]).await;
    let bad = "ATTAnotthetoken9f8e7d6c5b4a39281706f5e4d3c2b1a0";
    let run = check(&d, bad, false).await;
    assert_eq!(run.code, Some(1), "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .lines()
            .any(|l| l.starts_with("[sales] error: trello: key or token refused")),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.trim_end().ends_with("error(s): not usable"),
        "{}",
        run.stdout
    );
    assert_no_secret(&d, &run, &[bad]);
}
