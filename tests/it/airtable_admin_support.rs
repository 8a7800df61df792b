//! Scaffolding for the Airtable webhook tests: the admin test app whose pair tracks its leads in
//! an Airtable table of the emulator (the Trello board stays the other side), with a database
//! that can be seeded before the app starts.

use leadsync::app::{App, EngineMode};
use leadsync::clients::http::RetryPolicy;
use leadsync::config::{self, Settings, Sources};
use leadsync::connectors::airtable::client::{AirtableClient, AirtableLimits};
use leadsync::connectors::airtable::sandbox::{
    AirtableOptions, AirtableSandbox, FieldSpec, TableSetup,
};
use leadsync::connectors::trello::sandbox::TrelloSandbox;
use leadsync::model::TrackerKind;
use leadsync::store::Db;
use secrecy::SecretString;

use crate::admin_support::{Options, PAIR, config_toml};
use crate::helpers::TestApp;

pub struct AirtableEnv {
    pub app: TestApp,
    pub airtable: AirtableSandbox,
    pub table: TableSetup,
    pub public_url: String,
    _trello: TrelloSandbox,
}

/// Everything but the running app: seed the database or the emulator, then [`Prepared::start`].
pub struct Prepared {
    pub airtable: AirtableSandbox,
    pub table: TableSetup,
    pub public_url: String,
    pub settings: Settings,
    trello: TrelloSandbox,
    listener: tokio::net::TcpListener,
    dir: tempfile::TempDir,
}

impl AirtableEnv {
    pub fn notification_url(&self) -> String {
        format!("{}/webhooks/airtable", self.public_url)
    }
}

pub async fn airtable_env() -> AirtableEnv {
    prepare().await.start().await
}

pub async fn prepare() -> Prepared {
    let trello = TrelloSandbox::start().await.expect("trello sandbox");
    let board = trello.setup_board("Pipeline", &["New"], &[]);
    let options = AirtableOptions {
        rate_limit: None,
        ..AirtableOptions::default()
    };
    let airtable = AirtableSandbox::start_with(options)
        .await
        .expect("airtable sandbox");
    let base = airtable.create_base("CRM");
    let table = airtable
        .create_table(&base, "Leads", &[FieldSpec::new("Name", "singleLineText")])
        .expect("table");
    let dir = tempfile::tempdir().expect("tempdir");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let public_url = format!("http://{}", listener.local_addr().expect("addr"));
    let file = dir.path().join("leadsync.toml");
    let db = crate::helpers::database_url(dir.path());
    let toml = config_toml(
        &db,
        &public_url,
        &trello,
        &board.board_id,
        Options::default(),
    );
    std::fs::write(&file, toml).expect("write config");
    let mut settings = config::load(&Sources {
        file: Some(file),
        ..Sources::default()
    })
    .expect("valid config");
    // Set in code, not in the file: the pair keys of an Airtable tracker are still settling.
    settings.airtable.api_base = airtable.api_base();
    settings.airtable.token = SecretString::from(airtable.token().to_owned());
    let pair = &mut settings.pairs[0];
    assert_eq!(pair.name, PAIR);
    pair.tracker = TrackerKind::Airtable;
    pair.base_id = Some(table.base_id.clone());
    pair.table = Some(table.table_name.clone());
    pair.spreadsheet_id.clear();
    pair.sheet.clear();
    Prepared {
        airtable,
        table,
        public_url,
        settings,
        trello,
        listener,
        dir,
    }
}

impl Prepared {
    /// The app's database, migrated, before the app opens it.
    pub async fn db(&self) -> Db {
        let db = Db::connect(&self.settings.database.url).await.expect("db");
        db.migrate().await.expect("migrate");
        db
    }

    pub fn notification_url(&self) -> String {
        format!("{}/webhooks/airtable", self.public_url)
    }

    pub async fn start(self) -> AirtableEnv {
        let app = App::build_on(self.settings, self.listener, EngineMode::Off)
            .await
            .expect("app builds with an Airtable pair");
        AirtableEnv {
            app: crate::helpers::run(app, self.dir),
            airtable: self.airtable,
            table: self.table,
            public_url: self.public_url,
            _trello: self.trello,
        }
    }
}

/// A client of the emulator, as the test's own hands.
pub fn client(airtable: &AirtableSandbox) -> AirtableClient {
    AirtableClient::new(
        &airtable.api_base(),
        &SecretString::from(airtable.token().to_owned()),
        RetryPolicy::default(),
        AirtableLimits::default(),
    )
    .expect("client")
}
