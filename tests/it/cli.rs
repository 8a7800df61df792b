//! The binary as a user runs it: exit codes, config errors, migrate, healthcheck, SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_leadsync");

fn leadsync(dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir)
        .env_remove("LEADSYNC_CONFIG")
        .env_remove("RUST_LOG")
        // Never the real APIs, even by mistake.
        .env("LEADSYNC__TRELLO__API_BASE", "http://127.0.0.1:9/1")
        .env("LEADSYNC__GOOGLE__SHEETS_API_BASE", "http://127.0.0.1:9/v4")
        .env(
            "LEADSYNC__DATABASE__URL",
            format!("sqlite://{}", dir.join("db/leadsync.db").display()),
        );
    cmd
}

#[test]
fn a_bad_config_exits_2_and_names_the_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("bad.toml");
    std::fs::write(&file, "[server]\npublic_url = \"sync.example.com\"\n").expect("write");
    let out = leadsync(dir.path())
        .arg("migrate")
        .arg("--config")
        .arg(&file)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("server.public_url: must start with http:// or https://"),
        "{stderr}"
    );
}

#[test]
fn an_unknown_env_override_exits_2_and_names_the_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = leadsync(dir.path())
        .arg("migrate")
        .env("LEADSYNC__SERVER__PORT", "1")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("server.port: unknown key"));
}

#[test]
fn bad_usage_exits_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = leadsync(dir.path())
        .arg("frobnicate")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn migrate_creates_the_database_and_is_idempotent() {
    let dir = tempfile::tempdir().expect("tempdir");
    let first = leadsync(dir.path()).arg("migrate").output().expect("runs");
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let stdout = String::from_utf8_lossy(&first.stdout);
    assert!(stdout.contains("applied 1 initial"), "{stdout}");
    assert!(stdout.contains("applied 2 id assignment"), "{stdout}");
    assert!(stdout.contains("applied 3 inbox signed at"), "{stdout}");
    assert!(stdout.contains("applied 4 trackers"), "{stdout}");
    assert!(stdout.contains("applied 5 activity filters"), "{stdout}");
    assert!(stdout.contains("applied 6 throughput"), "{stdout}");
    assert!(stdout.contains("applied 7 notion"), "{stdout}");
    assert!(stdout.contains("applied 8 mirrors"), "{stdout}");
    assert!(stdout.contains("applied 9 record tombstones"), "{stdout}");
    assert!(stdout.contains("applied 10 mirror pending"), "{stdout}");
    assert!(stdout.contains("applied 11 sheet blanks"), "{stdout}");
    assert!(
        stdout.contains("applied 12 deferrable lead keys"),
        "{stdout}"
    );
    assert!(dir.path().join("db/leadsync.db").exists());
    let second = leadsync(dir.path()).arg("migrate").output().expect("runs");
    assert!(second.status.success());
    let stdout = String::from_utf8_lossy(&second.stdout);
    assert!(
        stdout.starts_with("0 migration(s) applied, 14 already present"),
        "{stdout}"
    );
}

#[test]
fn help_describes_every_subcommand() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = leadsync(dir.path()).arg("--help").output().expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    for word in ["serve", "migrate", "healthcheck", "--config"] {
        assert!(text.contains(word), "{word} missing from --help:\n{text}");
    }
}

/// Starts `serve` on a free port, waits for its "listening" log line, checks it with the
/// `healthcheck` subcommand, then sends SIGTERM and expects a clean exit 0.
#[test]
fn serve_answers_healthcheck_and_exits_0_on_sigterm() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = leadsync(dir.path())
        .arg("serve")
        .env("LEADSYNC__SERVER__BIND", "127.0.0.1:0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawns");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let warning = wait_for_line(&rx, "nothing will be synced").expect("serve warns without pairs");
    assert!(warning.contains("\"level\":\"WARN\""), "{warning}");
    assert!(
        warning.contains("[[pairs]]") && warning.contains("LEADSYNC_CONFIG"),
        "{warning}"
    );
    let addr = wait_for_line(&rx, "\"listening\"")
        .and_then(|line| serde_json::from_str::<serde_json::Value>(&line).ok())
        .and_then(|v| v["addr"].as_str().map(str::to_owned))
        .expect("serve logs its address as JSON");

    let check = leadsync(dir.path())
        .args(["healthcheck", "--url", &format!("http://{addr}/healthz")])
        .output()
        .expect("runs");
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );

    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(kill.success());
    let status = wait_for_exit(&mut child, Duration::from_secs(30)).expect("exits after SIGTERM");
    assert_eq!(status.code(), Some(0));
    assert!(wait_for_line(&rx, "shutdown complete").is_some());

    let after = leadsync(dir.path())
        .args(["healthcheck", "--url", &format!("http://{addr}/healthz")])
        .output()
        .expect("runs");
    assert_eq!(
        after.status.code(),
        Some(1),
        "healthcheck fails once the server is gone"
    );
}

/// With no `--url`, `healthcheck` asks the daemon's `/readyz` on the port of `server.bind`: a
/// daemon that still runs (so `/healthz` is 200) but whose database file is gone is unhealthy.
#[test]
fn healthcheck_defaults_to_readyz_so_a_not_ready_daemon_is_unhealthy() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A free port for server.bind: the default URL is derived from it, so it cannot be 0.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let bind = format!("127.0.0.1:{port}");
    let mut child = leadsync(dir.path())
        .arg("serve")
        .env("LEADSYNC__SERVER__BIND", &bind)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawns");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    assert!(
        wait_for_line(&rx, "\"listening\"").is_some(),
        "serve starts"
    );
    let healthcheck = || {
        leadsync(dir.path())
            .arg("healthcheck")
            .env("LEADSYNC__SERVER__BIND", &bind)
            .output()
            .expect("runs")
    };

    let ready = healthcheck();
    assert!(ready.status.success(), "{ready:?}");
    let said = String::from_utf8_lossy(&ready.stdout);
    assert!(said.contains(&format!("{bind}/readyz")), "{said}");

    std::fs::remove_file(dir.path().join("db/leadsync.db")).expect("remove database");
    let not_ready = healthcheck();
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = wait_for_exit(&mut child, Duration::from_secs(30));
    assert_eq!(not_ready.status.code(), Some(1), "{not_ready:?}");
    let said = String::from_utf8_lossy(&not_ready.stderr);
    assert!(said.contains("/readyz answered 503"), "{said}");
}

fn wait_for_line(rx: &std::sync::mpsc::Receiver<String>, needle: &str) -> Option<String> {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(line) if line.contains(needle) => return Some(line),
            Ok(_) => continue,
            Err(_) => return None,
        }
    }
    None
}

fn wait_for_exit(
    child: &mut std::process::Child,
    limit: Duration,
) -> Option<std::process::ExitStatus> {
    let deadline = std::time::Instant::now() + limit;
    while std::time::Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    None
}

#[test]
fn a_dotenv_file_in_the_working_directory_is_a_config_layer_and_the_environment_beats_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join(".env"),
        "LEADSYNC__DATABASE__URL=sqlite://from-dotenv/x.db\n",
    )
    .expect("write .env");
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir.path())
        .env_remove("LEADSYNC_CONFIG")
        .env_remove("LEADSYNC__DATABASE__URL")
        .arg("migrate");
    let out = cmd.output().expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        dir.path().join("from-dotenv/x.db").exists(),
        ".env names the database"
    );

    let out = leadsync(dir.path()).arg("migrate").output().expect("runs");
    assert!(out.status.success());
    assert!(
        dir.path().join("db/leadsync.db").exists(),
        "the environment beats .env"
    );
}

#[test]
fn leadsync_config_names_the_config_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("via-env.toml");
    std::fs::write(&file, "[server]\npublic_url = \"nope\"\n").expect("write");
    let out = leadsync(dir.path())
        .arg("migrate")
        .env("LEADSYNC_CONFIG", &file)
        .output()
        .expect("runs");
    assert_eq!(
        out.status.code(),
        Some(2),
        "the file from LEADSYNC_CONFIG was read"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("server.public_url"));
}
