//! Bounded shutdown of the real binary: one SIGTERM stops `serve` promptly even when its
//! stdout and stderr are pipes whose readers have gone (`leadsync serve | head`).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use leadsync::demo::world::{World, WorldOptions};
use leadsync::sandbox::common::Faults;

use crate::e2e::{P, SETTLE, pool, world};
use crate::helpers::eventually;

/// Far below the 10 minutes the bug ran for, well above a healthy shutdown's second or so.
const EXIT_BOUND: Duration = Duration::from_secs(30);

// Multi-threaded: the emulators live in this process and must answer while the test thread
// waits for the child.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_serve_promptly_after_its_output_pipes_closed() {
    let w = World::start(WorldOptions {
        start_app: false,
        reconcile_interval_secs: 1,
        ..WorldOptions::default()
    })
    .await
    .expect("world");
    let mut child = Command::new(env!("CARGO_BIN_EXE_leadsync"))
        .args(["serve", "--config"])
        .arg(w.config_path())
        .current_dir(w.dir())
        .env_remove("LEADSYNC_CONFIG")
        .env_remove("RUST_LOG")
        .env_remove("LEADSYNC_LOG_FORMAT")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawns");
    let stdout = child.stdout.take().expect("stdout");
    // Like `head`, which exits after its lines: both pipes lose their reader early.
    drop(child.stderr.take());
    let mut child = KillOnDrop(child);
    let mut lines = BufReader::new(stdout).lines();
    let addr = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|line| listening_addr(&line))
        .expect("serve logs its address");
    drop(lines);
    // The reconciler (every second) logs into the closed pipes; every task must survive that.
    let ready = format!("http://{addr}/readyz");
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let status = reqwest::get(&ready).await.expect("serve answers").status();
        assert_eq!(status, 200, "ready while logging into closed pipes");
    }

    let pid = child.0.id().to_string();
    let sent = Command::new("kill").args(["-TERM", &pid]).status();
    assert!(sent.expect("kill runs").success());
    let status = wait_bounded(&mut child.0, EXIT_BOUND)
        .unwrap_or_else(|| panic!("serve still running {EXIT_BOUND:?} after SIGTERM"));
    assert!(
        status.success(),
        "an orderly stop, not the watchdog: {status:?}"
    );
}

fn listening_addr(line: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(line).ok()?;
    (value["message"] == "listening").then(|| value["addr"].as_str().map(str::to_owned))?
}

/// Polls `try_wait` until the child exits or `limit` passes.
fn wait_bounded(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

/// Kills the server if an assertion fails before the test does.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A stop while a Trello call hangs (and would be retried for minutes) ends within the
/// dispatcher's stop grace; the abandoned command is sent after the next start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_during_a_hanging_dispatch_finishes_promptly_and_the_command_survives() {
    let mut w = world().await;
    w.trello.gate().set_faults(Faults {
        hang_next: 1000,
        hang_for: Duration::from_secs(600),
        ..Faults::default()
    });
    w.user_edits_rows(P, 2, &[&["", "Grace", "", "", "", "New", ""]])
        .await
        .expect("edit");
    let db = pool(&w).clone();
    eventually("the card's command in flight", SETTLE, || async {
        let in_flight: i64 =
            sqlx::query_scalar("SELECT count(*) FROM outbox WHERE status = 'in_flight'")
                .fetch_one(&db)
                .await
                .ok()?;
        (in_flight > 0).then_some(())
    })
    .await;

    let started = Instant::now();
    tokio::time::timeout(Duration::from_secs(15), w.stop_app())
        .await
        .expect("the stop does not wait for the hanging call")
        .expect("stops cleanly");
    assert!(started.elapsed() < Duration::from_secs(15));

    w.trello.gate().set_faults(Faults::default());
    w.start_app().await.expect("restarts");
    w.settle(SETTLE).await.expect("settles");
    assert!(
        w.card_named(P, "Grace").is_some(),
        "the card is created after the restart"
    );
}
