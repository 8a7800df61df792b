//! A complete sandbox world on loopback: the Trello and Google emulators with a board and a
//! sheet per pair, a generated config, and the real daemon running against them. The demo, the
//! end-to-end tests and the benchmarks all stand on it.

pub mod airtable;
mod config_text;
pub mod database;
pub mod notion;
pub mod replica;
pub mod tracker_ops;

use std::net::TcpListener as StdListener;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use base64::Engine as _;
use secrecy::SecretString;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::app::{App, EngineMode};
use crate::clients::http::{RateLimiter, RetryPolicy};
use crate::config::{self, Settings, Sources};
use crate::connectors::airtable::sandbox::{AirtableSandbox, TableSetup};
use crate::connectors::notion::sandbox::{DatabaseSetup, NotionSandbox};
use crate::connectors::sheets::client::SheetsClient;
use crate::connectors::sheets::client::auth::ServiceAccountKey;
use crate::connectors::sheets::sandbox::{GoogleOptions, GoogleSandbox};
use crate::connectors::trello::client::{TrelloClient, TrelloLimits};
use crate::connectors::trello::sandbox::{BoardSetup, SandboxQuotas, TrelloSandbox};
use crate::http::AppState;
use crate::model::TrackerKind;
use crate::sandbox::common::Quota;
use config_text::config_text;

/// The sheet's header row in every world sheet.
pub const HEADER: [&str; 8] = [
    "Lead ID",
    "Name",
    "Email",
    "Phone",
    "Company",
    "Status",
    "Notes",
    "Trello Card",
];
pub const LISTS: [&str; 4] = ["New", "Contacted", "Qualified", "Lost"];
pub const FIELDS: [&str; 3] = ["Email", "Phone", "Company"];
pub const SHEET: &str = "Leads";

#[derive(Debug, Clone)]
pub struct WorldOptions {
    pub pairs: Vec<String>,
    pub debounce_ms: u64,
    pub conflict_policy: String,
    pub reconcile_interval_secs: u64,
    /// Quotas of the emulators are the real ones times this (the clients keep 90 % of them):
    /// the real Sheets quota of 60 a minute would make every test wait.
    pub quota_scale: u32,
    /// Where the config and database live; a temporary folder when `None`.
    pub dir: Option<PathBuf>,
    /// Start the daemon in this process (false: a test runs the binary with `config_path()`).
    pub start_app: bool,
    /// The dispatcher's first retry backoff (doubled per attempt); short, for loopback.
    pub dispatch_backoff: Duration,
    /// Where the pairs keep their leads: a sheet, or an Airtable table.
    pub tracker: TrackerKind,
    /// Airtable's 5 requests per second per base, emulated and obeyed (off: bursts in tests).
    pub airtable_limited: bool,
    /// A Notion world's `notion.poll_interval_secs` (0: polling off).
    pub notion_poll_secs: u64,
    /// The daemon's `database.url`; when `None`, `database::default_url` (a SQLite file in `dir`,
    /// or a fresh PostgreSQL database when the suite runs on PostgreSQL).
    pub database_url: Option<String>,
}

impl Default for WorldOptions {
    fn default() -> Self {
        Self {
            pairs: vec!["default".into()],
            debounce_ms: 150,
            conflict_policy: "last_writer_wins".into(),
            reconcile_interval_secs: 0,
            quota_scale: 20,
            dir: None,
            start_app: true,
            dispatch_backoff: Duration::from_millis(100),
            tracker: TrackerKind::Sheets,
            airtable_limited: false,
            notion_poll_secs: 60,
            database_url: None,
        }
    }
}

pub struct WorldPair {
    pub name: String,
    pub board: BoardSetup,
    pub spreadsheet_id: String,
    /// The pair's Airtable table, for an Airtable world.
    pub table: Option<TableSetup>,
    /// The pair's Notion database, for a Notion world.
    pub database: Option<DatabaseSetup>,
}

pub(crate) struct RunningApp {
    pub state: AppState,
    pub shutdown: CancellationToken,
    pub handle: JoinHandle<anyhow::Result<()>>,
}

pub struct World {
    pub trello: TrelloSandbox,
    pub google: GoogleSandbox,
    /// The Airtable emulator, for an Airtable world.
    pub airtable: Option<AirtableSandbox>,
    /// The Notion emulator, for a Notion world.
    pub notion: Option<NotionSandbox>,
    pub pairs: Vec<WorldPair>,
    pub settings: Settings,
    pub options: WorldOptions,
    pub(crate) app: Option<RunningApp>,
    dir: PathBuf,
    _tmp: Option<tempfile::TempDir>,
    port: u16,
}

fn scaled(max: u32, scale: u32, secs: u64) -> Quota {
    Quota {
        max_requests: max.saturating_mul(scale.max(1)),
        per: Duration::from_secs(secs),
    }
}

impl World {
    pub async fn start(mut options: WorldOptions) -> anyhow::Result<Self> {
        let scale = options.quota_scale;
        let trello = TrelloSandbox::start_with(SandboxQuotas {
            per_token: Some(scaled(100, scale, 10)),
            per_key: Some(scaled(300, scale, 10)),
        })
        .await?;
        let google = GoogleSandbox::start_with(GoogleOptions {
            quota: Some(scaled(60, scale, 60)),
            ..GoogleOptions::default()
        })
        .await?;
        let (tmp, dir) = match &options.dir {
            Some(dir) => {
                std::fs::create_dir_all(dir)?;
                (None, dir.clone())
            }
            None => {
                let tmp = tempfile::tempdir()?;
                let dir = tmp.path().to_path_buf();
                (Some(tmp), dir)
            }
        };
        let at = match options.tracker {
            TrackerKind::Airtable => Some(airtable::start(options.airtable_limited).await?),
            _ => None,
        };
        let nt = match options.tracker {
            TrackerKind::Notion => Some(notion::start().await?),
            _ => None,
        };
        if options.database_url.is_none() {
            options.database_url = Some(database::default_url(&dir)?);
        }
        let pairs = setup_pairs(&options, &trello, &google, (at.as_ref(), nt.as_ref()))?;
        google.write_service_account_key(&dir.join("service_account.json"))?;
        let port = StdListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let secret = format!(
            "whsec_{}",
            base64::engine::general_purpose::STANDARD.encode(uuid::Uuid::new_v4().as_bytes())
        );
        let mut text = config_text(&options, &trello, &google, &pairs, &dir, port, &secret);
        if let Some(sandbox) = &at {
            text.push_str(&format!(
                "\n[airtable]\napi_base = \"{}\"\ntoken = \"{}\"\n",
                sandbox.api_base(),
                sandbox.token()
            ));
        }
        if let Some(sandbox) = &nt {
            text.push_str(&notion::config_text(sandbox, options.notion_poll_secs));
        }
        std::fs::write(dir.join("leadsync.toml"), text)?;
        let settings = config::load(&Sources {
            file: Some(dir.join("leadsync.toml")),
            ..Sources::default()
        })
        .context("the generated config")?;
        let mut world = Self {
            trello,
            google,
            airtable: at,
            notion: nt,
            pairs,
            settings,
            options,
            app: None,
            dir,
            _tmp: tmp,
            port,
        };
        if world.options.start_app {
            world.start_app().await?;
            world.register_webhooks().await?;
            if let Some(sandbox) = &world.notion {
                notion::subscribe(sandbox, &world.base_url()).await?;
            }
        }
        Ok(world)
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.join("leadsync.toml")
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Clients like the daemon's, with limits scaled to the emulators' quotas and retries
    /// paced for servers on loopback.
    pub fn clients(&self) -> anyhow::Result<(TrelloClient, SheetsClient)> {
        let scale = self.options.quota_scale.max(1);
        let policy = RetryPolicy {
            base_delay: Duration::from_millis(20),
            max_delay: Duration::from_millis(500),
            ..RetryPolicy::default()
        };
        let t = &self.settings.trello;
        let trello = TrelloClient::new(
            t.api_base.clone(),
            t.api_key.clone(),
            t.api_token.clone(),
            policy.clone(),
            TrelloLimits {
                per_token: (90 * scale, Duration::from_secs(10)),
                per_key: (270 * scale, Duration::from_secs(10)),
            },
        )?;
        let key = ServiceAccountKey::from_file(&self.settings.google.credentials_file)?;
        let sheets = SheetsClient::new(
            &self.settings.google.sheets_api_base,
            key,
            policy,
            RateLimiter::new(54 * scale, Duration::from_secs(60)),
        )?;
        Ok((trello, sheets))
    }

    /// Starts (or restarts, on the same database) the daemon in this process.
    pub async fn start_app(&mut self) -> anyhow::Result<()> {
        let parts = self.engine_parts()?;
        let app = App::build_with(
            self.settings.clone(),
            EngineMode::WithClients(Box::new(parts)),
        )
        .await?;
        let state = app.state().clone();
        let shutdown = CancellationToken::new();
        let handle = tokio::spawn(app.run_until_stopped(shutdown.clone()));
        self.app = Some(RunningApp {
            state,
            shutdown,
            handle,
        });
        Ok(())
    }

    /// Stops the daemon gracefully and waits for it.
    pub async fn stop_app(&mut self) -> anyhow::Result<()> {
        if let Some(app) = self.app.take() {
            app.shutdown.cancel();
            app.handle.await??;
        }
        Ok(())
    }

    /// Registers one Trello webhook per pair on the daemon's callback URL, as
    /// `leadsync webhooks register` does (Trello checks it with a HEAD first, so the daemon must
    /// be listening), and lets the running daemon accept it.
    pub async fn register_webhooks(&self) -> anyhow::Result<()> {
        let (trello, _) = self.clients()?;
        let airtable = (self.airtable.as_ref())
            .map(|sandbox| airtable::client(sandbox, self.options.airtable_limited))
            .transpose()?;
        let airtable = airtable.as_ref();
        match self.state() {
            // The running daemon's settings: its board ids are resolved.
            Some(state) => {
                crate::admin::register_webhooks(&state.settings, &state.db, &trello, airtable)
                    .await?;
                state.ingress.refresh_callback_urls(&state.db).await?;
            }
            // The daemon runs as its own process on this world's database.
            None => {
                let db = crate::store::Db::connect(&self.settings.database.url).await?;
                db.migrate().await?;
                crate::admin::register_webhooks(&self.settings, &db, &trello, airtable).await?;
                db.close().await;
            }
        }
        Ok(())
    }

    pub fn state(&self) -> Option<&AppState> {
        self.app.as_ref().map(|a| &a.state)
    }

    pub fn pair(&self, name: &str) -> &WorldPair {
        self.pairs
            .iter()
            .find(|p| p.name == name)
            .unwrap_or(&self.pairs[0])
    }
}

/// A board, a sheet with the header row and, in an Airtable world, a table for each pair.
fn setup_pairs(
    options: &WorldOptions,
    trello: &TrelloSandbox,
    google: &GoogleSandbox,
    (at, nt): (Option<&AirtableSandbox>, Option<&NotionSandbox>),
) -> anyhow::Result<Vec<WorldPair>> {
    let mut pairs = Vec::new();
    for (i, name) in options.pairs.iter().enumerate() {
        let board = trello.setup_board(&format!("Leads {name}"), &LISTS, &FIELDS);
        let spreadsheet_id = format!(
            "sheet{}{}",
            i + 1,
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        );
        google.create_spreadsheet(&spreadsheet_id);
        google
            .add_sheet(&spreadsheet_id, SHEET)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        google
            .set_rows(&spreadsheet_id, SHEET, 1, &[HEADER])
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let table = at
            .map(|sandbox| airtable::setup_table(sandbox, name))
            .transpose()?;
        pairs.push(WorldPair {
            name: name.clone(),
            board,
            spreadsheet_id,
            table,
            database: nt.map(|sandbox| notion::setup_database(sandbox, name)),
        });
    }
    Ok(pairs)
}

/// The secret shared with the world's Apps Script stand-in.
pub(crate) fn apps_script_secret(settings: &Settings) -> SecretString {
    settings.apps_script.secret.clone()
}
