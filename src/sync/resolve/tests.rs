//! Resolution through the connector traits alone: a board that is not Trello and a fake tracker
//! resolve a pair, and what the board lacks is named.

use super::*;
use crate::sync::context::BoardLayout;
use crate::sync::test_support::{HEADER, StubBoard, layout, settings};
use crate::sync::test_tracker::FakeTracker;

/// A Sheets-kind tracker whose header row is the contract's.
fn header() -> FakeTracker {
    let mut fake = FakeTracker::sheets();
    fake.header = HEADER.iter().map(|h| (*h).to_owned()).collect();
    fake
}

fn board(layout: BoardLayout) -> StubBoard {
    StubBoard {
        member: Some("m-7".into()),
        layout: Some(layout),
    }
}

#[tokio::test]
async fn a_pair_resolves_with_the_member_and_lists_its_board_connector_gives() {
    let trackers = Trackers::default().with(Arc::new(header()));
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
    let trackers = Trackers::default().with(Arc::new(header()));
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
    let trackers = Trackers::default().with(Arc::new(header()));
    let err = resolve_contexts(&settings(), &StubBoard::default(), &trackers)
        .await
        .expect_err("no member");
    assert!(
        matches!(&err, ResolveError::Api { pair, .. } if pair == "p"),
        "{err}"
    );
    assert!(err.to_string().contains("member_id"), "{err}");
}
