//! The console's browser tests' harness: a headless Chromium driven over WebDriver by
//! chromedriver (both from the distribution's packages; `.ci/run` installs them), one browser per
//! test, one test at a time (each browser is a few processes; two cores do not run several well).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use tokio::sync::{Mutex, MutexGuard};

use crate::helpers::eventually;

/// How long a page may take to show what a test waits for (the sync itself settles within it).
/// What the overview's `#leadership` says of a world's one daemon (CONTRACT §9): on SQLite the
/// one process; on PostgreSQL (the suite's second pass) the leader of possible replicas.
pub fn leads_alone(w: &leadsync::demo::world::World) -> &'static str {
    if w.settings.database.url.starts_with("postgres") {
        "this replica leads: one of the replicas on PostgreSQL"
    } else {
        "one process (SQLite)"
    }
}

pub const SHOWS: Duration = Duration::from_secs(30);

static ONE_AT_A_TIME: Mutex<()> = Mutex::const_new(());

pub struct Browser {
    pub client: Client,
    driver: tokio::process::Child,
    _profile: tempfile::TempDir,
    _turn: MutexGuard<'static, ()>,
}

/// `name` on the PATH, or a failure that says how to install it: a browser test that cannot
/// run must fail, not pass without having run.
fn installed(name: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "{name} is not installed: the console's browser tests need Chromium and its \
                 WebDriver; install them with `apt-get install -y chromium chromium-driver` \
                 (CI's .ci/run does)"
            )
        })
}

impl Browser {
    /// A fresh headless Chromium, `width` × `height`, with no network of its own: background
    /// services, updates and sync are off so it calls nothing but the loopback pages it is sent to.
    pub async fn start(width: u32, height: u32) -> Browser {
        let turn = ONE_AT_A_TIME.lock().await;
        let (chromium, chromedriver) = (installed("chromium"), installed("chromedriver"));
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let driver = tokio::process::Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("chromedriver starts");
        let profile = tempfile::tempdir().expect("profile dir");
        let client = connect(port, &chromium, profile.path(), (width, height)).await;
        Browser {
            client,
            driver,
            _profile: profile,
            _turn: turn,
        }
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.expect("navigates");
    }

    pub async fn click(&self, css: &str) {
        self.client
            .wait()
            .at_most(SHOWS)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css} to click: {e}"))
            .click()
            .await
            .unwrap_or_else(|e| panic!("clicking {css}: {e}"));
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        let field = self.client.find(Locator::Css(css)).await.expect(css);
        field.send_keys(text).await.expect("types");
    }

    /// The text of `css` once it contains `needle` (bounded polling; the page refreshes itself).
    pub async fn wait_text(&self, css: &str, needle: &str) -> String {
        let what = format!("{css} to show {needle:?}");
        eventually(&what, SHOWS, || async {
            let element = self.client.find(Locator::Css(css)).await.ok()?;
            let text = element.text().await.ok()?;
            text.contains(needle).then_some(text)
        })
        .await
    }

    /// Logs in with `token` at `base` and waits for the overview.
    pub async fn log_in(&self, base: &str, token: &str) {
        self.goto(&format!("{base}/admin/ui")).await;
        self.type_into("#token", token).await;
        self.click("#login button[type=submit]").await;
        self.wait_text("#overview", "Links").await;
        let form = self
            .client
            .find(Locator::Css("#login"))
            .await
            .expect("form");
        assert!(
            !form.is_displayed().await.expect("shown?"),
            "the login form is put away"
        );
    }

    /// How far the page is wider than the window (0: it reflows; wide tables scroll inside
    /// their own box).
    pub async fn horizontal_overflow(&self) -> i64 {
        let script =
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth";
        let overflow = self.client.execute(script, vec![]).await.expect("measure");
        overflow.as_i64().expect("a number")
    }

    pub async fn stop(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill().await;
    }
}

async fn connect(port: u16, chromium: &Path, profile: &Path, size: (u32, u32)) -> Client {
    let options = json!({
        "binary": chromium,
        "args": [
            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            format!("--window-size={},{}", size.0, size.1),
            format!("--user-data-dir={}", profile.display()),
            "--no-first-run", "--no-default-browser-check", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--disable-default-apps",
            "--disable-extensions", "--metrics-recording-only", "--hide-scrollbars",
        ],
    });
    let mut caps = serde_json::Map::new();
    caps.insert("goog:chromeOptions".into(), options);
    let url = format!("http://127.0.0.1:{port}");
    // chromedriver listens a moment after it starts.
    eventually("chromedriver to accept a session", SHOWS, || async {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        ClientBuilder::new(connector)
            .capabilities(caps.clone())
            .connect(&url)
            .await
            .ok()
    })
    .await
}
