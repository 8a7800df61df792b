//! Test bench of the dispatcher with the real connectors: both emulators on loopback, the real
//! clients, a temp database and one pair (`a`) whose sheet and board are laid out as the
//! contract's example. Here, above the engine, because the dispatcher it runs has the Sheets
//! connector.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;

use crate::clients::http::{RateLimiter, RetryPolicy};
use crate::config::{self, Sources};
use crate::connectors::sheets::SheetsTracker;
use crate::connectors::sheets::client::SheetsClient;
use crate::connectors::sheets::client::auth::ServiceAccountKey;
use crate::connectors::sheets::sandbox::{GoogleOptions, GoogleSandbox};
use crate::connectors::trello::client::{TrelloClient, TrelloLimits};
use crate::connectors::trello::sandbox::{BoardSetup, TrelloSandbox};
use crate::model::LeadId;
use crate::store::links::{self, Link, NewLink};
use crate::store::outbox::{self, NewCommand};
use crate::store::testdb::{TestDb, temp_db};
use crate::sync::connector::Trackers;
use crate::sync::context::{BoardLayout, PairContext};
use crate::sync::mapping::compose_description;
use crate::sync::outbox::Dispatcher;
use crate::sync::plan::commands::Command;
use crate::sync::test_support::HEADER;

pub const SS: &str = "book";
pub const SHEET: &str = "Leads";
pub const CARD_COL: u32 = 8;

pub struct Bench {
    pub trello: TrelloSandbox,
    pub google: GoogleSandbox,
    pub board: BoardSetup,
    pub db: TestDb,
    pub dispatcher: Dispatcher,
}

/// One try per call: the dispatcher's own retries are what these tests look at.
fn policy() -> RetryPolicy {
    RetryPolicy {
        connect_timeout: Duration::from_secs(5),
        total_timeout: Duration::from_secs(10),
        max_attempts: 1,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
        max_elapsed: Duration::from_secs(20),
    }
}

impl Bench {
    pub async fn start() -> Self {
        let trello = TrelloSandbox::start().await.expect("trello sandbox");
        let board = trello.setup_board(
            "Leads",
            &["New", "Contacted", "Won"],
            &["Email", "Phone", "Company"],
        );
        let google = GoogleSandbox::start_with(GoogleOptions {
            quota: None,
            ..GoogleOptions::default()
        })
        .await
        .expect("google sandbox");
        google.create_spreadsheet(SS);
        google.add_sheet(SS, SHEET).expect("sheet");
        google.set_rows(SS, SHEET, 1, &[HEADER]).expect("header");
        let ctx = Arc::new(context(&trello, &board));
        let client = TrelloClient::new(
            trello.api_base(),
            SecretString::from(trello.api_key().to_owned()),
            SecretString::from(trello.api_token().to_owned()),
            policy(),
            TrelloLimits::default(),
        )
        .expect("trello client");
        let key = ServiceAccountKey::from_json(&google.service_account_key_json()).expect("key");
        let limiter = RateLimiter::new(10_000, Duration::from_secs(1));
        let sheets = SheetsClient::new(&google.sheets_api_base(), key, policy(), limiter)
            .expect("sheets client");
        // Fetched up front, so injected faults and call counts meet the Sheets calls themselves.
        sheets.authenticate().await.expect("token");
        let db = temp_db().await;
        let trackers = Trackers::default().with(Arc::new(SheetsTracker::new(sheets)));
        let dispatcher = Dispatcher::new(db.db.clone(), super::board(client), trackers, [ctx]);
        Self {
            trello,
            google,
            board,
            db,
            dispatcher,
        }
    }

    pub fn list(&self, name: &str) -> String {
        self.board.lists[name].clone()
    }

    pub fn field(&self, name: &str) -> String {
        self.board.fields[name].clone()
    }

    pub fn rows(&self, first: u32, rows: &[&[&str]]) {
        self.google.set_rows(SS, SHEET, first, rows).expect("rows");
    }

    pub fn cell(&self, row: u32, col: u32) -> String {
        self.google.cell(SS, SHEET, row, col).expect("cell")
    }

    /// A card made "in the browser" carrying `lead`'s marker; returns its id.
    pub fn user_card(&self, lead: &str, list: &str, name: &str) -> String {
        let desc = compose_description("", &LeadId::parse(lead).expect("id"));
        self.trello
            .user_create_card(&self.list(list), name, &desc)
            .expect("card")
    }

    pub async fn link(&self, lead: &str, card: Option<&str>, row_hint: Option<i64>) {
        let new = NewLink {
            pair: "a".into(),
            lead_id: lead.into(),
            card_id: card.map(Into::into),
            card_short_url: card.map(|c| format!("https://trello.com/c/{c}")),
            row_hint,
            id_assigned: false,
        };
        assert!(links::insert(&self.db.pool, &new).await.expect("link"));
    }

    pub async fn get_link(&self, lead: &str) -> Link {
        links::get_by_lead(&self.db.pool, "a", lead)
            .await
            .expect("get")
            .expect("link")
    }

    /// Enqueues as the engine does, under a fresh key; returns the command's id.
    pub async fn enqueue(&self, cmd: &Command) -> i64 {
        let key = uuid::Uuid::new_v4().to_string();
        let new = NewCommand {
            pair: "a".into(),
            lead_id: Some(cmd.lead_id().into()),
            target: cmd.target(crate::model::TrackerKind::Sheets).into(),
            kind: cmd.kind().into(),
            payload: serde_json::to_value(cmd).expect("json"),
            idempotency_key: key.clone(),
        };
        assert!(outbox::enqueue(&self.db.pool, &new).await.expect("enqueue"));
        sqlx::query_scalar("SELECT id FROM outbox WHERE idempotency_key = $1")
            .bind(key)
            .fetch_one(&self.db.pool)
            .await
            .expect("id")
    }

    pub async fn stored(&self, id: i64) -> outbox::Command {
        outbox::get(&self.db.pool, id)
            .await
            .expect("get")
            .expect("command")
    }

    /// The bench's dispatcher, its Trello calls paced by `limits` (a rate-limited round).
    pub fn dispatcher_limited(&self, limits: TrelloLimits) -> Dispatcher {
        let mut dispatcher = self.dispatcher.clone();
        dispatcher.board = super::board(
            TrelloClient::new(
                self.trello.api_base(),
                SecretString::from(self.trello.api_key().to_owned()),
                SecretString::from(self.trello.api_token().to_owned()),
                policy(),
                limits,
            )
            .expect("trello client"),
        );
        dispatcher
    }

    /// Starts a dispatcher round whose first Sheets read is answered 1.5 s late, and while it
    /// hangs sorts the rows from row 2 by their Name, descending (a user sorting Bob above Ada);
    /// returns the round once the sort is done (its next faults are the caller's to set).
    pub async fn round_with_a_sort_during_its_read(
        &self,
    ) -> tokio::task::JoinHandle<
        Result<crate::sync::outbox::DispatchReport, crate::store::StoreError>,
    > {
        self.round_with_during_its_read(|google| {
            google.sort_rows(SS, SHEET, 2, 2, false).expect("sort");
        })
        .await
    }

    /// Starts a dispatcher round whose first Sheets read is answered 1.5 s late, and while it
    /// hangs lets a user change the sheet (`user`); returns the round once that is done (its
    /// next faults are the caller's to set).
    pub async fn round_with_during_its_read(
        &self,
        user: impl FnOnce(&GoogleSandbox),
    ) -> tokio::task::JoinHandle<
        Result<crate::sync::outbox::DispatchReport, crate::store::StoreError>,
    > {
        self.google.gate().set_faults(late_answers(vec![], 1));
        let round = tokio::spawn({
            let dispatcher = self.dispatcher.clone();
            async move { dispatcher.run_once().await }
        });
        for _ in 0..500 {
            if self.google.gate().faults().hang_next == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        user(&self.google);
        round
    }

    /// A Sheets connector of its own on the bench's emulator, as another process on the same
    /// database has (its own client and its own per-process locks).
    pub async fn other_process_sheets(&self) -> SheetsTracker {
        let google = &self.google;
        let key = ServiceAccountKey::from_json(&google.service_account_key_json()).expect("key");
        let limiter = RateLimiter::new(10_000, Duration::from_secs(1));
        let sheets = SheetsClient::new(&google.sheets_api_base(), key, policy(), limiter)
            .expect("sheets client");
        sheets.authenticate().await.expect("token");
        SheetsTracker::new(sheets)
    }

    /// Brings every retry's time forward to now, in place of waiting out its backoff.
    pub async fn make_retries_due(&self) {
        sqlx::query("UPDATE outbox SET next_attempt_at = 0 WHERE status = 'pending'")
            .execute(&self.db.pool)
            .await
            .expect("due");
    }
}

fn context(trello: &TrelloSandbox, board: &BoardSetup) -> PairContext {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("c.toml");
    let toml = format!(
        "[sync]\non_card_archived = \"ignore\"\n[[pairs]]\nname = \"a\"\nspreadsheet_id = \"{SS}\"\nsheet = \"{SHEET}\"\n\
         board_id = \"{}\"\n[pairs.status_lists]\nNew = \"New\"\nContacted = \"Contacted\"\n\
         Won = \"Won\"\n",
        board.board_id
    );
    std::fs::write(&file, toml).expect("write");
    let settings = config::load(&Sources {
        file: Some(file),
        dotenv: HashMap::new(),
        env: HashMap::new(),
    })
    .expect("settings");
    let layout = BoardLayout {
        lists: board
            .lists
            .iter()
            .map(|(name, id)| (id.clone(), name.clone()))
            .collect(),
        custom_fields: board
            .fields
            .iter()
            .map(|(name, id)| (id.clone(), name.clone(), "text".into()))
            .collect(),
    };
    PairContext::new(
        &settings,
        &settings.pairs[0],
        &layout,
        trello.api_member_id(),
    )
    .expect("pair resolves")
}

/// Sheets faults applied after the handler: `fail_next` statuses (0: the connection reset after
/// the change is made), then `hang_next` answers held 1.5 s.
pub fn late_answers(fail_next: Vec<u16>, hang_next: u32) -> crate::sandbox::common::Faults {
    crate::sandbox::common::Faults {
        fail_next,
        hang_next,
        hang_for: Duration::from_millis(1500),
        after_handler: true,
        ..Default::default()
    }
}
