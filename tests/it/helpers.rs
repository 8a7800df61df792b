//! Shared test scaffolding: spawn the real app, build settings, and wait with bounded polling.

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use leadsync::app::{App, EngineMode};
use leadsync::config::{self, Settings, Sources};
use leadsync::http::AppState;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub struct TestApp {
    pub base: String,
    pub state: AppState,
    pub client: reqwest::Client,
    pub shutdown: CancellationToken,
    pub handle: JoinHandle<anyhow::Result<()>>,
    /// Kept so the temp database lives as long as the app.
    pub _dir: tempfile::TempDir,
}

/// The database of a test app whose files live in `dir`: the one place the tests' apps get it
/// from (as `World::start` does), so `LEADSYNC_IT_DATABASE=postgres` runs them all on a fresh
/// PostgreSQL database each, and a SQLite file in `dir` otherwise.
///
/// A test about SQLite itself (its file damaged or deleted, its locks, an old schema's file)
/// ends its name with `_on_sqlite`: the PostgreSQL run (`.ci/run`) passes `--skip _on_sqlite`.
pub fn database_url(dir: &std::path::Path) -> String {
    leadsync::demo::world::database::default_url(dir).expect("a test database")
}

/// Settings for a test: defaults plus a loopback port-0 bind and a database in `dir`, then `extra`
/// overrides in `LEADSYNC__…` form.
pub fn test_settings(dir: &std::path::Path, extra: &[(&str, &str)]) -> Settings {
    let mut env: HashMap<String, String> = HashMap::new();
    env.insert("LEADSYNC__SERVER__BIND".into(), "127.0.0.1:0".into());
    env.insert("LEADSYNC__DATABASE__URL".into(), database_url(dir));
    // Never the real APIs: a test that reaches an outbound client by mistake fails on loopback.
    env.insert(
        "LEADSYNC__TRELLO__API_BASE".into(),
        "http://127.0.0.1:9/1".into(),
    );
    env.insert(
        "LEADSYNC__GOOGLE__SHEETS_API_BASE".into(),
        "http://127.0.0.1:9/v4".into(),
    );
    for (k, v) in extra {
        env.insert((*k).into(), (*v).into());
    }
    config::load(&Sources {
        file: None,
        dotenv: HashMap::new(),
        env,
    })
    .expect("test settings are valid")
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

pub async fn spawn_app_with(extra: &[(&str, &str)]) -> TestApp {
    let dir = tempfile::tempdir().expect("tempdir");
    let settings = test_settings(dir.path(), extra);
    let app = App::build_with(settings, EngineMode::Off)
        .await
        .expect("app builds");
    run(app, dir)
}

/// Runs a built app in the background; the returned handle keeps `dir` (its database) alive.
pub fn run(app: App, dir: tempfile::TempDir) -> TestApp {
    let base = format!("http://{}", app.local_addr());
    let state = app.state().clone();
    let shutdown = CancellationToken::new();
    let handle = tokio::spawn(app.run_until_stopped(shutdown.clone()));
    TestApp {
        base,
        state,
        client: reqwest::Client::new(),
        shutdown,
        handle,
        _dir: dir,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request")
    }
}

/// Polls `check` until it returns `Some`, for at most `limit`; panics naming `what` otherwise.
pub async fn eventually<T, F, Fut>(what: &str, limit: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        if tokio::time::Instant::now() >= deadline {
            panic!("timed out after {limit:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until the millisecond clock (the emulators' and the daemon's) has passed the time
/// this was called at, so that what happens next is later by every clock's reading.
pub async fn clock_passes() {
    let from = chrono::Utc::now().timestamp_millis();
    eventually("the clock ticks", Duration::from_secs(5), || async {
        (chrono::Utc::now().timestamp_millis() > from + 1).then_some(())
    })
    .await;
}

/// Tests log nothing unless `TEST_LOG=1` (then JSON lines on stderr, filtered by `RUST_LOG`).
pub fn test_log() {
    if std::env::var("TEST_LOG").is_ok_and(|v| v == "1") {
        leadsync::telemetry::init(leadsync::telemetry::LogTarget::Stderr);
    }
}
