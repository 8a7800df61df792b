//! Test helpers shared by the sync modules' unit tests.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, TimeZone, Utc};

use crate::clients::http::{ClientError, LimiterStats};
use crate::config::{self, Settings, Sources};
use crate::model::Field;
use crate::model::board::{Card, CardAction, CardUpdate, NewCard};
use crate::sync::board::{BoardConnector, OnLost};
use crate::sync::connector::BoxFuture;
use crate::sync::context::{BoardLayout, PairContext};
use crate::sync::merge::{Agreed, Decision, FieldState, Observed, merge_field};

pub fn settings() -> Settings {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("c.toml");
    std::fs::write(
        &file,
        "[[pairs]]\nname = \"p\"\nspreadsheet_id = \"s\"\nsheet = \"Leads\"\nboard_id = \"b\"\n\
         [pairs.status_lists]\nNew = \"New\"\nLost = \"Lost\"\n",
    )
    .expect("write");
    config::load(&Sources {
        file: Some(file),
        dotenv: HashMap::new(),
        env: HashMap::new(),
    })
    .expect("settings")
}

/// A pair "p" with lists New (l-new) and Lost (l-lost) and text fields f-email/f-phone/f-company.
pub fn ctx() -> PairContext {
    let settings = settings();
    PairContext::new(&settings, &settings.pairs[0], &layout(), "me").expect("resolves")
}

/// [`ctx`]'s pair kept in Airtable (base "appB", table "Leads") with `conflict_policy =
/// "prefer_tracker"`.
pub fn airtable_ctx() -> PairContext {
    let settings = settings();
    let mut pair = settings.pairs[0].clone();
    pair.tracker = crate::model::TrackerKind::Airtable;
    pair.spreadsheet_id = String::new();
    pair.sheet = String::new();
    pair.base_id = Some("appB".into());
    pair.table = Some("Leads".into());
    pair.conflict_policy = Some(config::ConflictPolicySetting::PreferTracker);
    PairContext::new(&settings, &pair, &layout(), "me").expect("resolves")
}

/// [`ctx`]'s board: its lists and custom fields.
pub fn layout() -> BoardLayout {
    BoardLayout {
        lists: vec![
            ("l-new".into(), "New".into()),
            ("l-lost".into(), "lost".into()),
            ("l-other".into(), "Someday".into()),
        ],
        custom_fields: vec![
            ("f-email".into(), "Email".into(), "text".into()),
            ("f-phone".into(), "Phone".into(), "text".into()),
            ("f-company".into(), "Company".into(), "text".into()),
        ],
    }
}

pub fn t(s: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_700_000_000 + s, 0)
        .single()
        .expect("time")
}

pub fn card(id: &str, name: &str, desc: &str, list: &str) -> Card {
    Card {
        id: id.into(),
        short_url: format!("https://trello.com/c/s{id}"),
        name: name.into(),
        desc: desc.into(),
        list_id: list.into(),
        closed: false,
        ..Card::default()
    }
}

/// The contract's example header row (the one `demo::world` writes too). Spelled out here
/// rather than imported, so the engine's tests do not reach up into the demo.
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

pub fn grid(rows: &[[&str; 8]]) -> Vec<Vec<String>> {
    std::iter::once(HEADER)
        .chain(rows.iter().copied())
        .map(|r| r.iter().map(|c| (*c).to_owned()).collect())
        .collect()
}

pub(crate) use crate::telemetry::json_logs_of;

/// A conflict on the name: both sides changed "Ada", the tracker to "Ada L" at t(10), Trello to
/// "Ada K" at t(20), decided at t(30) by the pair's policy.
pub fn name_conflict(ctx: &PairContext) -> Decision {
    let state = FieldState {
        agreed: Some(Agreed::new("Ada", t(0), None)),
        ..FieldState::default()
    };
    let tracker = Observed::user("Ada L", Some(t(10)));
    let trello = Observed::user("Ada K", Some(t(20)));
    merge_field(
        Field::Name,
        &state,
        Some(&tracker),
        Some(&trello),
        ctx.policy,
        t(30),
    )
}

/// A board for tests that is not Trello: it answers its member and layout when given them, and
/// every other call fails, naming itself, so a card call that reached it would be recorded as
/// failed rather than pass unseen.
#[derive(Default)]
pub struct StubBoard {
    pub member: Option<String>,
    pub layout: Option<BoardLayout>,
}

impl StubBoard {
    fn refuse<T>(call: &str) -> Result<T, ClientError> {
        Err(ClientError::Config(format!("StubBoard: {call} called")))
    }
}

impl BoardConnector for StubBoard {
    fn system(&self) -> &'static str {
        "stub board"
    }

    fn member_id(&self) -> BoxFuture<'_, Result<String, ClientError>> {
        let member = self.member.clone();
        Box::pin(async move { member.map_or_else(|| Self::refuse("member_id"), Ok) })
    }

    fn layout<'a>(&'a self, _: &'a str) -> BoxFuture<'a, Result<BoardLayout, ClientError>> {
        let layout = self.layout.clone();
        Box::pin(async move { layout.map_or_else(|| Self::refuse("layout"), Ok) })
    }

    fn cards<'a>(&'a self, _: &'a str) -> BoxFuture<'a, Result<Vec<Card>, ClientError>> {
        Box::pin(async { Self::refuse("cards") })
    }

    fn card<'a>(&'a self, _: &'a str) -> BoxFuture<'a, Result<Card, ClientError>> {
        Box::pin(async { Self::refuse("card") })
    }

    fn archived_at<'a>(
        &'a self,
        _: &'a str,
    ) -> BoxFuture<'a, Result<Option<DateTime<Utc>>, ClientError>> {
        Box::pin(async { Self::refuse("archived_at") })
    }

    fn card_history<'a>(
        &'a self,
        _: &'a str,
    ) -> BoxFuture<'a, Result<Vec<CardAction>, ClientError>> {
        Box::pin(async { Self::refuse("card_history") })
    }

    fn create_card<'a>(&'a self, _: &'a NewCard) -> BoxFuture<'a, Result<Card, ClientError>> {
        Box::pin(async { Self::refuse("create_card") })
    }

    fn update_card<'a>(
        &'a self,
        _: &'a str,
        _: &'a CardUpdate,
        _: OnLost,
    ) -> BoxFuture<'a, Result<Card, ClientError>> {
        Box::pin(async { Self::refuse("update_card") })
    }

    fn set_custom_texts<'a>(
        &'a self,
        _: &'a str,
        _: &'a BTreeMap<String, String>,
    ) -> BoxFuture<'a, Result<(), ClientError>> {
        Box::pin(async { Self::refuse("set_custom_texts") })
    }

    fn budget(&self) -> Vec<LimiterStats> {
        Vec::new()
    }
}
