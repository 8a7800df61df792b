//! `leadsync demo` as a newcomer runs it: no config, exit 0, every step shown.

use std::process::Command;

#[test]
fn the_demo_runs_without_config_and_shows_each_step_and_the_conflict() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = Command::new(env!("CARGO_BIN_EXE_leadsync"))
        .arg("demo")
        .current_dir(dir.path())
        .env_remove("LEADSYNC_CONFIG")
        .env_remove("RUST_LOG")
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
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
        stdout.contains("conflict on name decided: winner trello by policy last_writer_wins"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Ada King (trello)"),
        "the later rename wins on both sides:\n{stdout}"
    );
    assert!(
        !dir.path().join("data").exists(),
        "the demo leaves nothing in the working directory"
    );
}
