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

/// The run's last stdout line, its summary (stdout holds nothing else but JSON).
fn summary(out: &std::process::Output) -> serde_json::Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("only JSON on stdout, never progress"))
        .collect();
    lines.last().cloned().expect("a summary line")
}

/// The JSON log lines on stderr that report progress.
fn progress_lines(out: &std::process::Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|l| l["message"] == "reconcile progress")
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_sends_everything_it_planned_and_reports_nothing_left() {
    let w = world_with_two_rows().await;
    let mut cmd = leadsync(&w);
    let out = tokio::task::spawn_blocking(move || cmd.arg("reconcile").output().expect("runs"))
        .await
        .expect("joins");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let s = summary(&out);
    assert_eq!(
        (&s["commands_left"], &s["dead_letters"], &s["ok"]),
        (
            &serde_json::json!(0),
            &serde_json::json!(0),
            &serde_json::json!(true)
        ),
        "{s}"
    );
    assert!(s["commands_sent"].as_u64() >= Some(2), "{s}");
    assert!(stderr.contains(", 0 left, 0 dead-lettered"), "{stderr}");
    let first = progress_lines(&out);
    assert!(
        first
            .first()
            .is_some_and(|l| l["left"].as_u64() > Some(0) && l.get("sent").is_some()),
        "a progress line on stderr when it is no terminal: {stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_sync_longer_than_max_duration_exits_1_saying_how_much_is_left() {
    const ROWS: usize = 40;
    let w = World::start(WorldOptions {
        start_app: false,
        ..WorldOptions::default()
    })
    .await
    .expect("world");
    let rows: Vec<[String; 7]> = (0..ROWS)
        .map(|i| {
            let name = format!("Lead {i}");
            [
                String::new(),
                name,
                String::new(),
                String::new(),
                String::new(),
                "New".into(),
                String::new(),
            ]
        })
        .collect();
    w.google
        .set_rows(&w.pairs[0].spreadsheet_id, SHEET, 2, &rows)
        .expect("rows");
    let run = |w: &World, args: &'static [&'static str]| {
        let mut cmd = leadsync(w);
        tokio::task::spawn_blocking(move || cmd.args(args).output().expect("runs"))
    };
    // The client keeps Trello's pace (about 9 calls a second): 40 cards take over 4 s.
    let out = run(&w, &["reconcile", "--max-duration", "1"])
        .await
        .expect("joins");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let s = summary(&out);
    let left = s["commands_left"].as_u64().expect("commands_left");
    assert!(left > 0, "{s}");
    assert_eq!(s["ok"], false);
    assert!(
        stderr.contains(&format!(
            "stopped after --max-duration 1s: {} command(s) sent, {left} left",
            s["commands_sent"]
        )),
        "{stderr}"
    );
    let cards = w.trello.cards(&w.pairs[0].board.board_id).len();
    assert!(cards < ROWS, "stopped before the end: {cards} cards");

    // Nothing was left claimed: the next run sends the rest and drains the outbox.
    let out = run(&w, &["reconcile"]).await.expect("joins");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(summary(&out)["commands_left"], 0);
    assert_eq!(w.trello.cards(&w.pairs[0].board.board_id).len(), ROWS);
}
