//! Scaffolding for the admin tests: the real app on a port it knows before it starts (so
//! `server.public_url` points at itself and the Trello emulator's HEAD check reaches it), wired
//! to a Trello emulator, with a config file the CLI can use too.

use std::path::PathBuf;

use leadsync::app::App;
use leadsync::config::{self, Sources};
use leadsync::connectors::trello::sandbox::{BoardSetup, TrelloSandbox};

use crate::helpers::TestApp;

pub const ADMIN_TOKEN: &str = "admin-7f3c9a1e-token";
pub const SHEETS_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
pub const SPREADSHEET: &str = "1AdminSpreadsheet";
pub const SHEET: &str = "Leads – 2026";
pub const PAIR: &str = "sales";

/// What the config file sets beyond the emulator's credentials.
#[derive(Clone, Copy)]
pub struct Options<'a> {
    pub admin_token: &'a str,
    pub sheets_secret: &'a str,
    pub with_pair: bool,
}

impl Default for Options<'_> {
    fn default() -> Self {
        Self {
            admin_token: ADMIN_TOKEN,
            sheets_secret: SHEETS_SECRET,
            with_pair: true,
        }
    }
}

pub struct AdminEnv {
    pub app: TestApp,
    pub trello: TrelloSandbox,
    pub board: BoardSetup,
    pub public_url: String,
    /// The config file of the running app, for the CLI.
    pub config: PathBuf,
}

impl AdminEnv {
    pub fn callback_url(&self) -> String {
        format!("{}/webhooks/trello", self.public_url)
    }
}

pub fn config_toml(
    db: &str,
    public_url: &str,
    trello: &TrelloSandbox,
    board_id: &str,
    opts: Options<'_>,
) -> String {
    let mut toml = format!(
        r#"
[server]
bind = "127.0.0.1:0"
public_url = "{public_url}"
admin_token = "{token}"

[database]
url = "{db}"

[trello]
api_base = "{base}"
api_key = "{key}"
api_token = "{api_token}"
api_secret = "{secret}"

[apps_script]
secret = "{sheets}"
"#,
        token = opts.admin_token,
        base = trello.api_base(),
        key = trello.api_key(),
        api_token = trello.api_token(),
        secret = trello.api_secret(),
        sheets = opts.sheets_secret,
    );
    if opts.with_pair {
        toml.push_str(&format!(
            "\n[sync]\non_card_archived = \"ignore\"\n[[pairs]]\nname = \"{PAIR}\"\nspreadsheet_id = \"{SPREADSHEET}\"\n\
             sheet = \"{SHEET}\"\nboard_id = \"{board_id}\"\n\
             [pairs.status_lists]\nNew = \"New\"\n"
        ));
    }
    toml
}

/// A Trello emulator with one board and the app configured against it.
pub async fn admin_env(opts: Options<'_>) -> AdminEnv {
    let trello = TrelloSandbox::start().await.expect("trello sandbox");
    let board = trello.setup_board("Pipeline", &["New"], &[]);
    let dir = tempfile::tempdir().expect("tempdir");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let public_url = format!("http://{}", listener.local_addr().expect("addr"));
    let config = dir.path().join("leadsync.toml");
    let db = crate::helpers::database_url(dir.path());
    let toml = config_toml(&db, &public_url, &trello, &board.board_id, opts);
    std::fs::write(&config, toml).expect("write config");
    let app = start(&config, listener, dir).await;
    AdminEnv {
        app,
        trello,
        board,
        public_url,
        config,
    }
}

/// Builds the app from `config` on `listener`; the app keeps `dir` alive.
pub async fn start(
    config: &std::path::Path,
    listener: tokio::net::TcpListener,
    dir: tempfile::TempDir,
) -> TestApp {
    let settings = config::load(&Sources {
        file: Some(config.to_owned()),
        ..Sources::default()
    })
    .expect("valid config");
    let app = App::build_on(settings, listener, leadsync::app::EngineMode::Off)
        .await
        .expect("app builds");
    crate::helpers::run(app, dir)
}

impl TestApp {
    /// `method path` with the given `Authorization` header value, if any.
    pub async fn admin(
        &self,
        method: reqwest::Method,
        path: &str,
        authorization: Option<&str>,
    ) -> reqwest::Response {
        let mut request = self.client.request(method, self.url(path));
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        request.send().await.expect("request")
    }

    /// `method path` with the right bearer token.
    pub async fn admin_ok(&self, method: reqwest::Method, path: &str) -> reqwest::Response {
        self.admin(method, path, Some(&format!("Bearer {ADMIN_TOKEN}")))
            .await
    }

    pub async fn stored_webhooks(&self) -> Vec<(String, Option<String>, String, String)> {
        sqlx::query_as("SELECT id, pair, board_id, callback_url FROM trello_webhooks ORDER BY id")
            .fetch_all(&self.state.db.pool)
            .await
            .expect("trello_webhooks query")
    }
}

/// Every admin route, with a path that exists.
pub fn admin_routes() -> Vec<(reqwest::Method, &'static str)> {
    use reqwest::Method;
    vec![
        (Method::POST, "/admin/webhooks"),
        (Method::GET, "/admin/webhooks"),
        (Method::DELETE, "/admin/webhooks/5f1e0000000000000000abcd"),
        (Method::POST, "/admin/reconcile"),
        (Method::GET, "/admin/status"),
        (Method::GET, "/admin/apps-script?pair=sales"),
        (Method::GET, "/admin/activity?lead=L1&limit=5"),
    ]
}
