//! `leadsync demo` as a newcomer runs it: no config, exit 0, every step shown; with
//! `--tracker airtable` the same story on an Airtable table.

use std::process::{Command, Output};

/// Runs `leadsync demo` with `args` in an empty folder, as a newcomer would; answers the output
/// and whether the folder is still empty.
fn demo(args: &[&str]) -> (Output, String, bool) {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = Command::new(env!("CARGO_BIN_EXE_leadsync"))
        .arg("demo")
        .args(args)
        .current_dir(dir.path())
        .env_remove("LEADSYNC_CONFIG")
        .env_remove("RUST_LOG")
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let empty = std::fs::read_dir(dir.path()).expect("dir").next().is_none();
    (out, stdout, empty)
}

fn assert_story(out: &Output, stdout: &str, left_empty: bool) {
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for needle in [
        "step 1",
        "step 2",
        "step 3",
        "step 4",
        "Contacted",
        "Wants a demo next Tuesday",
        "demo finished",
    ] {
        assert!(stdout.contains(needle), "{needle} missing:\n{stdout}");
    }
    assert!(
        stdout.contains("Ada King (trello)"),
        "the later rename wins on both sides:\n{stdout}"
    );
    assert!(
        left_empty,
        "the demo leaves nothing in the working directory"
    );
}

#[test]
fn the_demo_runs_without_config_and_shows_each_step_and_the_conflict() {
    let (out, stdout, empty) = demo(&[]);
    assert_story(&out, &stdout, empty);
    assert!(
        stdout.contains("conflict on name decided: winner trello by policy last_writer_wins"),
        "{stdout}"
    );
}

/// The table's lines between one step's `Airtable table` heading and the board below it.
fn record_lines(stdout: &str, step: &str) -> Vec<String> {
    let after = stdout.split(step).nth(1).unwrap_or_default();
    let table = after.split("Trello board:").next().unwrap_or_default();
    (table.lines())
        .filter(|l| l.trim_start().starts_with("rec"))
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_airtable_demo_syncs_a_record_both_ways_and_decides_the_conflict() {
    let (out, stdout, empty) = demo(&["--tracker", "airtable"]);
    assert_story(&out, &stdout, empty);
    assert!(stdout.contains("Airtable table \"Leads\""), "{stdout}");
    assert!(
        stdout.contains(
            "conflict on name decided: winner trello by policy last_writer_wins (airtable changed"
        ),
        "{stdout}"
    );
    // Step 1: the record typed in the browser became a card marked with its record id.
    let first = record_lines(&stdout, "step 1");
    assert_eq!(first.len(), 1, "one record:\n{stdout}");
    let record = first[0].split_whitespace().next().expect("record id");
    assert!(
        stdout.contains(&format!("[leadsync:{record}]")),
        "the card names the record:\n{stdout}"
    );
    // Step 2: the card moved in Trello, its list written back to the record's status.
    let moved = record_lines(&stdout, "step 2");
    assert!(
        moved.iter().any(|l| l.contains("Contacted")),
        "the record's status follows the card:\n{stdout}"
    );
    // Step 4: the later rename (Trello's) is the record's name too.
    let renamed = record_lines(&stdout, "step 4");
    assert!(
        renamed.iter().any(|l| l.contains("Ada King (trello)")),
        "the record has the winning name:\n{stdout}"
    );
}

#[test]
fn the_notion_demo_syncs_a_page_both_ways_and_decides_the_conflict() {
    let (out, stdout, empty) = demo(&["--tracker", "notion"]);
    assert_story(&out, &stdout, empty);
    assert!(stdout.contains("Notion database \"Leads\""), "{stdout}");
    assert!(
        stdout.contains(
            "conflict on name decided: winner trello by policy last_writer_wins (notion changed"
        ),
        "{stdout}"
    );
}

#[test]
fn the_mirror_demo_gives_a_twin_and_mirrors_a_move_a_label_a_checklist_and_a_conflict() {
    let (out, stdout, empty) = demo(&["--mirror"]);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for needle in [
        "step 5",
        "In Progress",
        "labels [Urgent]  checklist Launch: [x] Proofread",
        "conflict on name decided: winner b by policy last_writer_wins",
        "demo finished: every step mirrored.",
    ] {
        assert!(stdout.contains(needle), "{needle} missing:\n{stdout}");
    }
    // Both boards end with the later rename: the line shows once per board.
    assert_eq!(
        stdout.matches("Homepage copy (client)").count(),
        2,
        "{stdout}"
    );
    assert!(empty, "the demo leaves nothing in the working directory");
    assert!(demo(&["--mirror", "--tracker", "airtable"]).0.status.code() == Some(2));
}
