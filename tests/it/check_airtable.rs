//! `leadsync check [--fix]` on an Airtable pair as a user runs it (no Google key, no Apps Script
//! secret), and the exit-2 answer to a tracker this build does not have.

use leadsync::connectors::airtable::sandbox::{AirtableSandbox, FieldSpec};
use leadsync::connectors::trello::sandbox::TrelloSandbox;

const BIN: &str = env!("CARGO_BIN_EXE_leadsync");

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

async fn run(
    dir: &std::path::Path,
    trello: &TrelloSandbox,
    airtable: &AirtableSandbox,
    args: &[&str],
) -> Run {
    let out = tokio::process::Command::new(BIN)
        .current_dir(dir)
        .env_remove("LEADSYNC_CONFIG")
        .env_remove("RUST_LOG")
        .env("LEADSYNC__TRELLO__API_BASE", trello.api_base())
        .env("LEADSYNC__TRELLO__API_KEY", trello.api_key())
        .env("LEADSYNC__TRELLO__API_TOKEN", trello.api_token())
        .env("LEADSYNC__TRELLO__API_SECRET", trello.api_secret())
        .env("LEADSYNC__AIRTABLE__API_BASE", airtable.api_base())
        .env("LEADSYNC__AIRTABLE__TOKEN", airtable.token())
        .env("LEADSYNC__SERVER__PUBLIC_URL", "https://leads.acme.test")
        .args(["check", "--config", "leadsync.toml"])
        .args(args)
        .output()
        .await
        .expect("leadsync runs");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn config(tracker: &str, base_id: &str, board_id: &str) -> String {
    format!(
        "[sync]\non_card_archived = \"ignore\"\nconflict_policy = \"prefer_tracker\"\n\
         [[pairs]]\nname = \"agency\"\ntracker = \"{tracker}\"\nbase_id = \"{base_id}\"\n\
         table = \"Leads\"\nboard_id = \"{board_id}\"\n[pairs.status_lists]\nNew = \"New\"\n\
         Won = \"Won\"\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_creates_the_missing_airtable_fields_and_then_exits_0() {
    let trello = TrelloSandbox::start().await.expect("trello sandbox");
    let airtable = AirtableSandbox::start().await.expect("airtable sandbox");
    let board = trello.setup_board("Pipeline", &["New", "Won"], &["Email", "Phone", "Company"]);
    let base = airtable.create_base("CRM");
    let name = FieldSpec::new("Name", "singleLineText");
    airtable
        .create_table(&base, "Leads", &[name])
        .expect("table");
    // Three processes back to back each pace only their own calls; together they may pass
    // Airtable's 5 calls a second on the base and wait out a 30 s lockout.
    airtable.set_rate_limit(None);
    let dir = tempfile::tempdir().expect("tempdir");
    let toml = config("airtable", &base, &board.board_id);
    std::fs::write(dir.path().join("leadsync.toml"), toml).expect("config");

    let first = run(dir.path(), &trello, &airtable, &[]).await;
    assert_eq!(first.code, Some(1), "{}\n{}", first.stdout, first.stderr);
    assert!(
        (first.stdout)
            .contains("[agency] missing: field \"Status\" (singleSelect, for columns.status)\n"),
        "{}",
        first.stdout
    );
    let fixed = run(dir.path(), &trello, &airtable, &["--fix"]).await;
    assert_eq!(fixed.code, Some(0), "{}\n{}", fixed.stdout, fixed.stderr);
    assert!(
        (fixed.stdout)
            .contains("[agency] fixed: field \"Email\" (email, for columns.email) created\n"),
        "{}",
        fixed.stdout
    );
    let again = run(dir.path(), &trello, &airtable, &[]).await;
    assert_eq!(again.code, Some(0), "{}\n{}", again.stdout, again.stderr);
    for out in [&first, &fixed, &again] {
        assert!(!out.stdout.contains(airtable.token()), "{}", out.stdout);
        assert!(!out.stderr.contains(airtable.token()), "{}", out.stderr);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notion_pair_with_an_airtable_key_is_an_invalid_config_naming_the_key() {
    let trello = TrelloSandbox::start().await.expect("trello sandbox");
    let airtable = AirtableSandbox::start().await.expect("airtable sandbox");
    let dir = tempfile::tempdir().expect("tempdir");
    let toml = config("notion", "appA1b2C3d4E5f6G7", "5f1e00000000000000000001");
    std::fs::write(dir.path().join("leadsync.toml"), toml).expect("config");
    let out = run(dir.path(), &trello, &airtable, &[]).await;
    assert_eq!(out.code, Some(2), "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains(
            "pairs[0].base_id: belongs to Airtable pairs, and this pair's tracker is \"notion\""
        ),
        "{}",
        out.stderr
    );
}
