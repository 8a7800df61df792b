//! The binary's handling of configuration a newcomer gets wrong: `.env` variables, missing
//! credentials and secrets (exit 2 everywhere), one message per error, `demo --config`, and a
//! reader that closes stdout early.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_leadsync");
const APPS_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const PAIR: &str = "[[pairs]]\nname = \"sales\"\nspreadsheet_id = \"sheet-1\"\nsheet = \"Leads\"\n\
                    board_id = \"5f1e0a2b3c4d5e6f7a8b9c0d\"\n[pairs.status_lists]\nNew = \"New\"\n\
                    Lost = \"Lost\"\n";

/// The binary in `dir` with no inherited leadsync variables and every API on a dead loopback port.
fn leadsync(dir: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir)
        .env_remove("LEADSYNC_CONFIG")
        .env_remove("LEADSYNC_LOG_FORMAT")
        .env_remove("RUST_LOG")
        .env("LEADSYNC__SERVER__BIND", "127.0.0.1:0")
        .env("LEADSYNC__TRELLO__API_BASE", "http://127.0.0.1:9/1")
        .env("LEADSYNC__GOOGLE__SHEETS_API_BASE", "http://127.0.0.1:9/v4")
        .env(
            "LEADSYNC__DATABASE__URL",
            format!("sqlite://{}", dir.join("db/leadsync.db").display()),
        );
    cmd
}

/// A config file with one pair, every credential and secret set, in `dir`.
fn with_pair(dir: &Path) -> Command {
    std::fs::write(dir.join("leadsync.toml"), PAIR).expect("config");
    let mut cmd = leadsync(dir);
    cmd.args(["--config", "leadsync.toml"])
        .env("LEADSYNC__TRELLO__API_KEY", "key")
        .env("LEADSYNC__TRELLO__API_TOKEN", "token")
        .env("LEADSYNC__TRELLO__API_SECRET", "app-secret")
        .env("LEADSYNC__APPS_SCRIPT__SECRET", APPS_SECRET);
    cmd
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn dotenv_names_the_config_file_and_the_log_settings_and_the_environment_beats_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("local.toml"),
        "[database]\nurl = \"sqlite://from-config/x.db\"\n",
    )
    .expect("config");
    std::fs::write(
        dir.path().join(".env"),
        "LEADSYNC_CONFIG=local.toml\nLEADSYNC_LOG_FORMAT=pretty\nRUST_LOG=debug\n",
    )
    .expect(".env");
    let out = leadsync(dir.path())
        .env_remove("LEADSYNC__DATABASE__URL")
        .arg("migrate")
        .output()
        .expect("runs");
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        dir.path().join("from-config/x.db").exists(),
        "LEADSYNC_CONFIG from .env chose the config file"
    );
    assert!(err.contains("DEBUG"), "RUST_LOG from .env: {err}");
    assert!(!err.contains("{\"timestamp\""), "pretty, not JSON: {err}");
    assert!(
        !err.contains('\u{1b}'),
        "no colour codes into a pipe: {err}"
    );

    let out = leadsync(dir.path())
        .env_remove("LEADSYNC__DATABASE__URL")
        .env("RUST_LOG", "warn")
        .arg("migrate")
        .output()
        .expect("runs");
    assert!(out.status.success());
    assert!(
        !stderr(&out).contains("DEBUG"),
        "the environment beats .env"
    );
}

#[test]
fn check_without_pairs_says_how_to_add_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = leadsync(dir.path()).arg("check").output().expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "no [[pairs]] configured",
        "--config FILE or LEADSYNC_CONFIG",
        "    [[pairs]]\n",
    ] {
        assert!(stdout.contains(needle), "{needle:?} missing:\n{stdout}");
    }
    assert!(
        stdout.contains(
            "[config] error: server.public_url: http://localhost:8080 is on this machine only"
        ),
        "the default public_url is flagged:\n{stdout}"
    );
}

#[test]
fn an_empty_trello_api_key_exits_2_for_every_command_that_needs_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    for args in [
        &["serve"][..],
        &["reconcile"],
        &["reconcile", "--dry-run"],
        &["webhooks", "list"],
    ] {
        let out = with_pair(dir.path())
            .env("LEADSYNC__TRELLO__API_KEY", "")
            .args(args)
            .output()
            .expect("runs");
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("trello.api_key is empty"), "{args:?}: {err}");
    }
}

#[test]
fn serve_refuses_to_start_a_pair_whose_webhooks_cannot_be_verified() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (var, key, hint) in [
        (
            "LEADSYNC__TRELLO__API_SECRET",
            "trello.api_secret",
            "trello.com/power-ups/admin",
        ),
        (
            "LEADSYNC__APPS_SCRIPT__SECRET",
            "apps_script.secret",
            "openssl rand -base64 32",
        ),
    ] {
        let mut serve = with_pair(dir.path());
        serve.env(var, "").arg("serve");
        let out = output_within(serve, Duration::from_secs(60));
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains(&format!("leadsync: {key}: is empty")), "{err}");
        assert!(
            err.contains("could not be verified") && err.contains(hint),
            "{err}"
        );
    }
}

#[test]
fn a_failing_command_prints_one_plain_message_naming_the_unreachable_host_and_its_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = with_pair(dir.path())
        .args(["webhooks", "list"])
        .output()
        .expect("runs");
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(
        err.lines().count(),
        1,
        "one message, no JSON log line: {err}"
    );
    assert!(
        err.starts_with("leadsync: trello list_webhooks: gave up"),
        "{err}"
    );
    assert!(err.contains("to 127.0.0.1:9 (trello.api_base)"), "{err}");
    assert!(
        !err.contains("token=") && !err.contains("/1/"),
        "no URL: {err}"
    );
}

#[test]
fn demo_refuses_a_config_flag() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = leadsync(dir.path())
        .args(["demo", "--config", "leadsync.toml"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--config is not used by the demo"),
        "{}",
        stderr(&out)
    );
}

/// Runs `cmd` to its end, killing it after `limit` (a daemon that should have refused to start
/// would otherwise keep the test waiting forever).
fn output_within(mut cmd: Command, limit: Duration) -> Output {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawns");
    let status = wait_within(&mut child, limit);
    let mut out = Output {
        status,
        stdout: Vec::new(),
        stderr: Vec::new(),
    };
    let _ = child
        .stdout
        .take()
        .expect("stdout")
        .read_to_end(&mut out.stdout);
    let _ = child
        .stderr
        .take()
        .expect("stderr")
        .read_to_end(&mut out.stderr);
    out
}

/// The child's exit status; panics (after killing it) when it is still running after `limit`.
fn wait_within(child: &mut std::process::Child, limit: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("waits") {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `leadsync demo | head -1`: the reader leaves after one line. The demo must neither panic
/// ("Broken pipe") nor hang; LEADSYNC_CONFIG (a deployment's, maybe from .env) is ignored.
#[test]
fn a_closed_stdout_ends_the_demo_quietly_and_leadsync_config_is_ignored() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = leadsync(dir.path())
        .arg("demo")
        .env("LEADSYNC_CONFIG", "/nonexistent/leadsync.toml")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawns");
    let mut first = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut first)
        .expect("one line");
    assert!(first.starts_with("leadsync demo"), "{first}");
    // The reader is dropped here: the pipe is closed for every later write.
    let status = wait_within(&mut child, Duration::from_secs(120));
    let mut err = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut err)
        .expect("stderr");
    assert_eq!(status.code(), Some(0), "{err}");
    assert!(
        !err.contains("panicked") && !err.contains("Broken pipe"),
        "{err}"
    );
}

#[test]
fn a_zero_or_absurd_rate_limit_budget_exits_2_naming_the_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (var, value, message) in [
        (
            "LEADSYNC__TRELLO__TOKEN_REQUESTS_PER_10S",
            "0",
            "leadsync: invalid configuration: trello.token_requests_per_10s: must be between 1 and 10000, got 0",
        ),
        (
            "LEADSYNC__AIRTABLE__BASE_REQUESTS_PER_SECOND",
            "50000",
            "leadsync: invalid configuration: airtable.base_requests_per_second: must be between 1 and 1000, got 50000",
        ),
    ] {
        let out = with_pair(dir.path())
            .env(var, value)
            .args(["webhooks", "list"])
            .output()
            .expect("runs");
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains(message), "{err}");
    }
}
