//! Durable first: an event answered 200 is in the database even if the process is killed
//! (SIGKILL, no shutdown) right after the answer.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use leadsync::demo::world::{World, WorldOptions};
use leadsync::store::Db;

use crate::ingress_support::trello_action;

// Multi-threaded: the emulators live in this process and must answer while the test thread
// waits for the child's output.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_acknowledged_event_survives_sigkill_right_after_the_answer() {
    // The real binary against the emulators (serve resolves its pair at start-up).
    let w = World::start(WorldOptions {
        start_app: false,
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
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawns");
    let stdout = child.stdout.take().expect("stdout");
    let mut child = KillOnDrop(child);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let addr = listening_addr(&rx).expect("serve logs its address");

    let board = &w.pairs[0].board.board_id;
    let body = trello_action("act-crash", board);
    let signature = leadsync::connectors::trello::sandbox::sign(
        w.trello.api_secret(),
        body.as_bytes(),
        &w.settings.trello_callback_url(),
    );
    let response = reqwest::Client::new()
        .post(format!("http://{addr}/webhooks/trello"))
        .header("x-trello-webhook", signature)
        .body(body.clone())
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    child.0.kill().expect("SIGKILL");
    child.0.wait().expect("reaped");

    let db = Db::connect(&w.settings.database.url).await.expect("reopen");
    let stored: Vec<(String, Vec<u8>)> = sqlx::query_as("SELECT dedupe_key, body FROM inbox")
        .fetch_all(&db.pool)
        .await
        .expect("query");
    assert_eq!(stored, vec![("act-crash".to_owned(), body.into_bytes())]);
}

pub(crate) fn listening_addr(rx: &std::sync::mpsc::Receiver<String>) -> Option<String> {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
        let line = rx.recv_timeout(left).ok()?;
        if line.contains("\"listening\"") {
            let value: serde_json::Value = serde_json::from_str(&line).ok()?;
            return value["addr"].as_str().map(str::to_owned);
        }
    }
    None
}

/// Kills the server if an assertion fails before the test does.
pub(crate) struct KillOnDrop(pub std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
