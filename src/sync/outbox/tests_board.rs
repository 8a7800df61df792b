//! The card commands' protocol over a board that is not Trello: it is the engine's, written
//! against `BoardConnector` alone, so an in-memory board gets the same idempotent create (a card
//! whose create answer was lost is found by its marker and adopted, not made twice) and the
//! same custom-field write. (Over Trello's emulator: `src/connectors/tests_dispatch.rs`.)

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

use super::*;
use crate::clients::http::{ClientError, LimiterStats};
use crate::model::board::{Card, CardAction, CardUpdate, NewCard};
use crate::model::{LeadId, TrackerKind};
use crate::store::links::{self, NewLink};
use crate::store::outbox::{self, NewCommand};
use crate::store::testdb::{TestDb, temp_db};
use crate::sync::board::{BoardConnector, OnLost};
use crate::sync::connector::BoxFuture;
use crate::sync::context::BoardLayout;
use crate::sync::mapping::compose_description;
use crate::sync::plan::commands::Command;
use crate::sync::test_support::ctx;

/// A board kept in memory; `lose_next_create` makes the next create land and its answer be lost.
#[derive(Default)]
struct MemoryBoard {
    cards: Mutex<Vec<Card>>,
    lose_next_create: Mutex<bool>,
}

impl MemoryBoard {
    fn cards_now(&self) -> Vec<Card> {
        self.cards.lock().expect("lock").clone()
    }

    fn lost() -> ClientError {
        ClientError::Retryable {
            system: "memory",
            endpoint: "create_card",
            attempts: 1,
            last: "connection reset".into(),
            outcome_unknown: true,
        }
    }

    fn find(&self, card_id: &str) -> Result<Card, ClientError> {
        let cards = self.cards.lock().expect("lock");
        (cards.iter().find(|c| c.id == card_id).cloned()).ok_or(ClientError::NotFound {
            system: "memory",
            endpoint: "card",
        })
    }
}

impl BoardConnector for MemoryBoard {
    fn system(&self) -> &'static str {
        "memory"
    }

    fn member_id(&self) -> BoxFuture<'_, Result<String, ClientError>> {
        Box::pin(async { Ok("me".into()) })
    }

    fn layout<'a>(&'a self, _: &'a str) -> BoxFuture<'a, Result<BoardLayout, ClientError>> {
        Box::pin(async { Ok(BoardLayout::default()) })
    }

    fn cards<'a>(&'a self, _: &'a str) -> BoxFuture<'a, Result<Vec<Card>, ClientError>> {
        Box::pin(async { Ok(self.cards_now()) })
    }

    fn card<'a>(&'a self, card_id: &'a str) -> BoxFuture<'a, Result<Card, ClientError>> {
        Box::pin(async move { self.find(card_id) })
    }

    fn archived_at<'a>(
        &'a self,
        _: &'a str,
    ) -> BoxFuture<'a, Result<Option<DateTime<Utc>>, ClientError>> {
        Box::pin(async { Ok(None) })
    }

    fn card_history<'a>(
        &'a self,
        _: &'a str,
    ) -> BoxFuture<'a, Result<Vec<CardAction>, ClientError>> {
        Box::pin(async { Ok(Vec::new()) })
    }

    fn create_card<'a>(&'a self, new: &'a NewCard) -> BoxFuture<'a, Result<Card, ClientError>> {
        Box::pin(async move {
            let mut cards = self.cards.lock().expect("lock");
            let card = Card {
                id: format!("m{}", cards.len() + 1),
                short_url: format!("memory://m{}", cards.len() + 1),
                name: new.name.clone(),
                desc: new.desc.clone(),
                list_id: new.list_id.clone(),
                closed: false,
                ..Card::default()
            };
            cards.push(card.clone());
            match std::mem::take(&mut *self.lose_next_create.lock().expect("lock")) {
                true => Err(Self::lost()),
                false => Ok(card),
            }
        })
    }

    fn update_card<'a>(
        &'a self,
        card_id: &'a str,
        _: &'a CardUpdate,
        _: OnLost,
    ) -> BoxFuture<'a, Result<Card, ClientError>> {
        Box::pin(async move { self.find(card_id) })
    }

    fn set_custom_texts<'a>(
        &'a self,
        card_id: &'a str,
        texts: &'a BTreeMap<String, String>,
    ) -> BoxFuture<'a, Result<(), ClientError>> {
        Box::pin(async move {
            let mut cards = self.cards.lock().expect("lock");
            let card = cards.iter_mut().find(|c| c.id == card_id);
            card.expect("a known card")
                .custom_texts
                .extend(texts.clone());
            Ok(())
        })
    }

    fn budget(&self) -> Vec<LimiterStats> {
        Vec::new()
    }
}

/// Pair `a`'s lead L1, linked to no card, and its create_card enqueued.
async fn create_for_l1(db: &TestDb) {
    let link = NewLink {
        pair: "a".into(),
        lead_id: "L1".into(),
        card_id: None,
        card_short_url: None,
        row_hint: Some(2),
        id_assigned: false,
    };
    assert!(links::insert(&db.pool, &link).await.expect("link"));
    let cmd = Command::CreateCard {
        lead_id: "L1".into(),
        list_id: "l-new".into(),
        name: "Ada".into(),
        desc: compose_description("met at the fair", &LeadId::parse("L1").expect("id")),
        custom: BTreeMap::from([("f-company".to_owned(), "Acme".to_owned())]),
    };
    let new = NewCommand {
        pair: "a".into(),
        lead_id: Some("L1".into()),
        target: cmd.target(TrackerKind::Sheets).into(),
        kind: cmd.kind().into(),
        payload: serde_json::to_value(&cmd).expect("json"),
        idempotency_key: "create-L1".into(),
    };
    assert!(outbox::enqueue(&db.pool, &new).await.expect("enqueue"));
}

#[tokio::test]
async fn a_create_whose_answer_was_lost_is_adopted_on_any_board_not_made_twice() {
    let db = temp_db().await;
    let board = Arc::new(MemoryBoard::default());
    *board.lose_next_create.lock().expect("lock") = true;
    let mut pair = ctx();
    pair.name = "a".into();
    let dispatcher = Dispatcher::new(
        db.db.clone(),
        board.clone(),
        Trackers::default(),
        [Arc::new(pair)],
    );
    create_for_l1(&db).await;

    let report = dispatcher.run_once().await.expect("run");
    assert_eq!((report.retried, report.sent), (1, 0));
    assert_eq!(board.cards_now().len(), 1, "the create landed");
    sqlx::query("UPDATE outbox SET next_attempt_at = 0 WHERE status = 'pending'")
        .execute(&db.pool)
        .await
        .expect("due");

    assert_eq!(dispatcher.run_once().await.expect("run").sent, 1);
    let cards = board.cards_now();
    assert_eq!(cards.len(), 1, "adopted, not created again");
    let link = links::get_by_lead(&db.pool, "a", "L1").await.expect("get");
    let link = link.expect("link");
    assert_eq!(link.card_id.as_deref(), Some("m1"));
    assert_eq!(link.card_short_url.as_deref(), Some("memory://m1"));
    assert_eq!(cards[0].custom_texts["f-company"], "Acme");
}
