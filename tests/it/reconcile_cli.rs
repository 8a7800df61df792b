//! `leadsync reconcile` as an operator runs it, against the emulators.

use std::process::Command;

use leadsync::demo::world::{SHEET, World, WorldOptions};

fn leadsync(w: &World) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_leadsync"));
    cmd.arg("--config")
        .arg(w.config_path())
        .current_dir(w.dir())
        .env_remove("LEADSYNC_CONFIG")
        .env_remove("RUST_LOG");
    cmd
}

fn writes(w: &World) -> usize {
    let calls = |log: leadsync::sandbox::common::CallLog| {
        log.records()
            .into_iter()
            .filter(|r| r.method != "GET")
            .count()
    };
    calls(w.trello.gate().calls()) + calls(w.google.gate().calls())
}

async fn world_with_two_rows() -> World {
    let w = World::start(WorldOptions {
        start_app: false,
        ..WorldOptions::default()
    })
    .await
    .expect("world");
    let id = &w.pairs[0].spreadsheet_id;
    w.google
        .set_rows(
            id,
            SHEET,
            2,
            &[
                ["", "Ada", "ada@example.com", "", "", "New", "hi"],
                ["", "Grace", "", "", "", "Lost", ""],
            ],
        )
        .expect("rows");
    w
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_prints_one_json_line_per_planned_change_and_changes_nothing() {
    let w = world_with_two_rows().await;
    let before = writes(&w);
    let out = tokio::task::spawn_blocking({
        let mut cmd = leadsync(&w);
        move || cmd.args(["reconcile", "--dry-run"]).output().expect("runs")
    })
    .await
    .expect("joins");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    let creates = lines
        .iter()
        .filter(|l| {
            l["action"] == "lead"
                && l["commands"]
                    .as_array()
                    .is_some_and(|c| c.iter().any(|c| c["kind"] == "create_card"))
        })
        .count();
    assert_eq!(creates, 2, "{stdout}");
    assert!(lines.iter().all(|l| l["pair"] == "default"));
    assert_eq!(
        writes(&w),
        before,
        "a dry run writes nothing to Trello or the sheet"
    );
    assert!(w.trello.cards(&w.pairs[0].board.board_id).is_empty());
    assert!(
        !w.dir().join("leadsync.db").exists(),
        "a dry run creates no database"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconcile_run_creates_the_cards_and_a_second_run_changes_nothing() {
    let w = world_with_two_rows().await;
    let run = |w: &World| {
        let mut cmd = leadsync(w);
        tokio::task::spawn_blocking(move || cmd.arg("reconcile").output().expect("runs"))
    };
    let out = run(&w).await.expect("joins");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cards = w.trello.cards(&w.pairs[0].board.board_id);
    assert_eq!(cards.len(), 2);
    let rows = w.rows("default");
    assert!(
        rows.iter()
            .all(|r| !r[0].is_empty() && r[7].starts_with("https://trello.com/c/")),
        "{rows:?}"
    );
    let before = writes(&w);
    let again = run(&w).await.expect("joins");
    assert!(again.status.success());
    assert_eq!(writes(&w), before, "nothing changed, nothing written");
    assert_eq!(w.trello.cards(&w.pairs[0].board.board_id).len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_pair_is_a_usage_error() {
    let w = world_with_two_rows().await;
    let mut cmd = leadsync(&w);
    let out = tokio::task::spawn_blocking(move || {
        cmd.args(["reconcile", "--pair", "nope"])
            .output()
            .expect("runs")
    })
    .await
    .expect("joins");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no pair named \"nope\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_with_nothing_to_do_still_says_so_on_stderr() {
    let w = World::start(WorldOptions {
        start_app: false,
        ..WorldOptions::default()
    })
    .await
    .expect("world");
    let mut cmd = leadsync(&w);
    let out = tokio::task::spawn_blocking(move || {
        cmd.args(["reconcile", "--dry-run"]).output().expect("runs")
    })
    .await
    .expect("joins");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(out.stdout.is_empty(), "no planned change");
    assert!(
        stderr.contains("pair default: 0 change(s) planned (dry run: nothing was changed)"),
        "{stderr}"
    );
}
