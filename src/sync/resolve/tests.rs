//! Resolution through the connector traits alone: a board that is not Trello and a fake tracker
//! resolve a pair, and what the board lacks is named.

use super::*;
use crate::config::PairSettings;
use crate::model::TrackerKind;
use crate::store::Db;
use crate::store::pairs::NewPair;
use crate::sync::connector::{BoxFuture, Claimed, Outcome, TrackerConnector};
use crate::sync::context::BoardLayout;
use crate::sync::test_support::{HEADER, StubBoard, layout, settings};

/// A Sheets-kind tracker whose header row is the contract's.
struct Header;

impl TrackerConnector for Header {
    fn kind(&self) -> TrackerKind {
        TrackerKind::Sheets
    }

    fn place(&self, pair: &PairSettings) -> String {
        format!("fake sheet of {}", pair.name)
    }

    fn stored(&self, pair: &PairSettings) -> NewPair {
        NewPair::sheets(&pair.name, "", "", &pair.board_id)
    }

    fn column_names<'a>(
        &'a self,
        _pair: &'a PairSettings,
    ) -> BoxFuture<'a, Result<Vec<String>, ClientError>> {
        Box::pin(async { Ok(HEADER.iter().map(|h| (*h).to_owned()).collect()) })
    }

    fn read_grid<'a>(
        &'a self,
        _ctx: &'a PairContext,
    ) -> BoxFuture<'a, Result<Vec<Vec<String>>, ClientError>> {
        Box::pin(async { Ok(Vec::new()) })
    }

    fn send<'a>(
        &'a self,
        _ctx: &'a PairContext,
        _batch: &'a [Claimed],
        _db: &'a Db,
    ) -> BoxFuture<'a, Result<Vec<Outcome>, StoreError>> {
        Box::pin(async { Ok(Vec::new()) })
    }
}

fn board(layout: BoardLayout) -> StubBoard {
    StubBoard {
        member: Some("m-7".into()),
        layout: Some(layout),
    }
}

#[tokio::test]
async fn a_pair_resolves_with_the_member_and_lists_its_board_connector_gives() {
    let trackers = Trackers::default().with(Arc::new(Header));
    let out = resolve_contexts(&settings(), &board(layout()), &trackers)
        .await
        .expect("resolves");
    let ctx = &out["p"];
    assert_eq!(ctx.member_id, "m-7");
    assert_eq!(ctx.board.lists["l-new"], "New");
    assert_eq!(ctx.board.lists["l-lost"], "lost");
}

#[tokio::test]
async fn a_status_list_the_board_lacks_is_named() {
    let trackers = Trackers::default().with(Arc::new(Header));
    let mut lacking = layout();
    lacking.lists.retain(|(_, name)| name != "lost");
    let err = resolve_contexts(&settings(), &board(lacking), &trackers)
        .await
        .expect_err("Lost has no list");
    assert!(
        matches!(&err, ResolveError::Board(u) if u.pair == "p"),
        "{err}"
    );
    assert!(err.to_string().contains("Lost"), "{err}");
}

#[tokio::test]
async fn a_board_that_cannot_say_its_member_fails_for_the_first_pair() {
    let trackers = Trackers::default().with(Arc::new(Header));
    let err = resolve_contexts(&settings(), &StubBoard::default(), &trackers)
        .await
        .expect_err("no member");
    assert!(
        matches!(&err, ResolveError::Api { pair, .. } if pair == "p"),
        "{err}"
    );
    assert!(err.to_string().contains("member_id"), "{err}");
}
