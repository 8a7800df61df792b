//! `leadsync check [--fix]` of a mirror, as a user runs it, against the Trello emulator: both
//! boards reachable with the token, each mapped list on its side, and `--fix` making the
//! missing ones; a board the token cannot see is an error naming its key.

use leadsync::connectors::trello::sandbox::TrelloSandbox;

const BIN: &str = env!("CARGO_BIN_EXE_leadsync");

/// A config of one mirror `client` (no pairs) of `board_a` and `board_b`.
fn config(dir: &std::path::Path, board_a: &str, board_b: &str) {
    let toml = format!(
        "[[mirrors]]\nname = \"client\"\nboard_a = \"{board_a}\"\nboard_b = \"{board_b}\"\n\
         [mirrors.lists]\n\"To Do\" = \"Backlog\"\n\"Doing\" = \"In Progress\"\n"
    );
    std::fs::write(dir.join("leadsync.toml"), toml).expect("config");
}

/// `leadsync check [--fix]`: its exit code and stdout.
async fn check(trello: &TrelloSandbox, dir: &std::path::Path, fix: bool) -> (Option<i32>, String) {
    let mut cmd = tokio::process::Command::new(BIN);
    cmd.current_dir(dir)
        .env_remove("LEADSYNC_CONFIG")
        .env_remove("RUST_LOG")
        .env("LEADSYNC__TRELLO__API_BASE", trello.api_base())
        .env("LEADSYNC__TRELLO__API_KEY", trello.api_key())
        .env("LEADSYNC__TRELLO__API_TOKEN", trello.api_token())
        .env("LEADSYNC__TRELLO__API_SECRET", trello.api_secret())
        .env("LEADSYNC__SERVER__PUBLIC_URL", "https://leads.acme.test")
        .args(["check", "--config", "leadsync.toml"]);
    if fix {
        cmd.arg("--fix");
    }
    let out = cmd.output().await.expect("leadsync runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        !stdout.contains(trello.api_token()),
        "the token in stdout:\n{stdout}"
    );
    (out.status.code(), stdout)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_covers_both_boards_of_a_mirror_and_fix_makes_a_missing_mapped_list() {
    let trello = TrelloSandbox::start().await.expect("trello sandbox");
    let a = trello.setup_board("Internal", &["To Do", "Doing"], &[]);
    let b = trello.setup_board("Client", &["Backlog"], &[]);
    let dir = tempfile::tempdir().expect("tempdir");
    config(dir.path(), &a.board_id, &b.board_id);

    let (code, out) = check(&trello, dir.path(), false).await;
    assert_eq!(code, Some(1), "{out}");
    let missing = "[client] missing: board_b list \"In Progress\" (mirrored with \"Doing\")\n";
    assert!(out.contains(missing), "{out}");

    let (code, out) = check(&trello, dir.path(), true).await;
    assert_eq!(code, Some(0), "{out}");
    let fixed = "[client] fixed: board_b list \"In Progress\" (mirrored with \"Doing\") created\n";
    assert!(out.contains(fixed), "{out}");
    assert!(
        trello
            .lists(&b.board_id)
            .iter()
            .any(|l| l.name == "In Progress")
    );

    let (code, out) = check(&trello, dir.path(), false).await;
    assert_eq!(code, Some(0), "{out}");
    let lines: Vec<&str> = out.lines().collect();
    for expected in [
        "[client] ok: config valid".to_owned(),
        "[client] ok: trello: token of Leadsync Bot (@leadsyncbot)".to_owned(),
        format!("[client] ok: board \"Internal\" ({}) reachable", a.board_id),
        format!("[client] ok: board \"Client\" ({}) reachable", b.board_id),
        "[client] ok: board_a list \"To Do\" (mirrored with \"Backlog\")".to_owned(),
        "[client] ok: board_a list \"Doing\" (mirrored with \"In Progress\")".to_owned(),
        "[client] ok: board_b list \"Backlog\" (mirrored with \"To Do\")".to_owned(),
        "[client] ok: board_b list \"In Progress\" (mirrored with \"Doing\")".to_owned(),
    ] {
        assert!(
            lines.contains(&expected.as_str()),
            "{expected:?} not in:\n{out}"
        );
    }
    assert_eq!(
        lines.last().copied(),
        Some("check: 8 ok, 0 fixed, 0 missing, 0 error(s): usable")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mirror_board_the_token_cannot_see_is_an_error_naming_its_key() {
    let trello = TrelloSandbox::start().await.expect("trello sandbox");
    let a = trello.setup_board("Internal", &["To Do", "Doing"], &[]);
    let unknown = "0123456789abcdef01234567";
    let dir = tempfile::tempdir().expect("tempdir");
    config(dir.path(), &a.board_id, unknown);
    let (code, out) = check(&trello, dir.path(), true).await;
    assert_eq!(code, Some(1), "{out}");
    let error = format!(
        "[client] error: board {unknown} not found, or not visible to the token's member (board_b)\n"
    );
    assert!(out.contains(&error), "{out}");
    assert!(out.contains("[client] ok: board_a list \"Doing\""), "{out}");
}
