//! The registry: a connector per kind, and change feeds only for kinds that have pairs.

use std::sync::Mutex;

use super::*;
use crate::store::testdb::temp_db;
use crate::sync::test_support::{airtable_ctx, ctx};
use crate::sync::test_tracker::FakeTracker;

struct Feed;

impl ChangeFeed for Feed {
    fn name(&self) -> &'static str {
        "fake feed"
    }

    fn run(self: Box<Self>, _shutdown: CancellationToken) -> BoxFuture<'static, ()> {
        Box::pin(async {})
    }
}

/// An Airtable-kind connector whose feed remembers the pairs it was given.
fn feeding(given: Arc<Mutex<Vec<Vec<String>>>>) -> FakeTracker {
    let mut fake = FakeTracker::of(TrackerKind::Airtable);
    fake.feed = Some(Arc::new(move |pairs: HashMap<String, Arc<PairContext>>| {
        let mut names: Vec<String> = pairs.into_keys().collect();
        names.sort();
        given.lock().expect("lock").push(names);
        Some(Box::new(Feed) as Box<dyn ChangeFeed>)
    }));
    fake
}

fn contexts(list: Vec<(&str, PairContext)>) -> HashMap<String, Arc<PairContext>> {
    (list.into_iter())
        .map(|(name, mut ctx)| {
            ctx.name = name.to_owned();
            (name.to_owned(), Arc::new(ctx))
        })
        .collect()
}

#[tokio::test]
async fn a_change_feed_is_run_for_the_pairs_of_its_kind_only_and_not_without_them() {
    let db = temp_db().await;
    let given = Arc::default();
    let trackers = Trackers::default().with(Arc::new(feeding(Arc::clone(&given))));
    let mixed = contexts(vec![
        ("s", ctx()),
        ("t1", airtable_ctx()),
        ("t2", airtable_ctx()),
    ]);
    let feeds = trackers.feeds(&db, &mixed);
    assert_eq!(
        feeds.iter().map(|f| f.name()).collect::<Vec<_>>(),
        ["fake feed"]
    );
    assert_eq!(*given.lock().expect("lock"), vec![vec!["t1", "t2"]]);
    let sheets_only = contexts(vec![("s", ctx())]);
    assert!(trackers.feeds(&db, &sheets_only).is_empty());
    assert_eq!(
        given.lock().expect("lock").len(),
        1,
        "no feed without pairs"
    );
}

#[test]
fn each_kind_finds_its_own_connector_and_a_missing_one_is_named() {
    let trackers = Trackers::default().with(Arc::new(feeding(Arc::default())));
    let found = trackers.of(&airtable_ctx()).expect("airtable connector");
    assert_eq!(found.kind(), TrackerKind::Airtable);
    let missing = trackers.of(&ctx()).err().expect("no sheets connector");
    assert!(
        missing.contains("no sheets connector was built"),
        "{missing}"
    );
}
