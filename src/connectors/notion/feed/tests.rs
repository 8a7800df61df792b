//! The Notion feed's own behaviour: an event it cannot read is given up, and a polled change's
//! time.

use secrecy::SecretString;

use super::*;
use crate::clients::http::RetryPolicy;
use crate::connectors::notion::client::NotionClient;
use crate::connectors::notion::client::Page;
use crate::connectors::notion::sandbox::NotionSandbox;
use crate::store::notion::NewEvent;
use crate::store::testdb::temp_db;
use convert::page_read;

#[tokio::test]
async fn an_event_whose_page_cannot_be_read_is_given_up_after_its_attempts() {
    let db = temp_db().await;
    let sandbox = NotionSandbox::start_with(None).await.expect("sandbox");
    let refused = SecretString::from("ntn_not_the_token".to_owned());
    let client = NotionClient::new(&sandbox.api_base(), &refused, RetryPolicy::default(), 100);
    let sources = Sources::new(client.expect("client"));
    let feed = Feed::new(db.db.clone(), sources, HashMap::new(), None);
    let event = NewEvent {
        id: "ev1",
        kind: "page.properties_updated",
        page_id: Some("1a2b3c4d5e6f708192a3b4c5d6e7f809"),
        parent_id: None,
        at: 0,
        body: b"{}",
    };
    stored::insert_event(&db.pool, &event)
        .await
        .expect("stored");
    for _ in 0..MAX_ATTEMPTS {
        assert_eq!(feed.read_events().await.expect("a round"), 0);
    }
    let pending = stored::pending_events(&db.pool, 10).await.expect("read");
    assert_eq!(
        pending[0].attempts, MAX_ATTEMPTS,
        "tried, and kept for the next round"
    );
    feed.read_events().await.expect("a round");
    let pending = stored::pending_events(&db.pool, 10).await.expect("read");
    assert!(
        pending.is_empty(),
        "given up: it no longer holds the events behind it"
    );
}

#[test]
fn a_polled_change_is_dated_at_the_end_of_its_rounded_minute_but_never_after_the_read() {
    let t = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
    let edited = t("2026-12-03T08:00:00Z");
    assert_eq!(
        polled_change_time(edited, t("2026-12-03T08:05:00Z")),
        t("2026-12-03T08:00:59.999Z")
    );
    assert_eq!(
        polled_change_time(edited, t("2026-12-03T08:00:20Z")),
        t("2026-12-03T08:00:20Z")
    );
}

/// A property our write set (folded into the snapshot by the sender) is no edit of the person
/// who edits another property next: the page is then theirs, and without the fold every
/// property differing from the snapshot would be read as their change, at the read's time (the
/// Notion chaos, seed 19: an older value of ours, read between two of our writes, was copied to
/// the card over a newer card edit).
#[tokio::test]
async fn a_value_our_write_set_is_no_edit_of_the_person_who_edits_the_page_next() {
    let db = temp_db().await;
    let before = BTreeMap::from([
        ("Name".to_owned(), "Ada".to_owned()),
        ("Email".to_owned(), String::new()),
    ]);
    stored::set_page_snapshot(&db.pool, "p", "pg", 0, &before)
        .await
        .expect("kept");
    let ours = BTreeMap::from([("Email".to_owned(), "ada@example.com".to_owned())]);
    stored::merge_page_snapshot(&db.pool, "p", "pg", &ours)
        .await
        .expect("folded");
    let snapshot = stored::page_snapshot(&db.pool, "p", "pg")
        .await
        .expect("read");
    let page: Page = serde_json::from_value(serde_json::json!({
        "id": "1A2B3C4D-5E6F-7081-92A3-B4C5D6E7F809", "created_time": "2026-01-05T10:05:00Z",
        "last_edited_time": "2026-01-05T10:06:00Z",
        "last_edited_by": {"id": "u1", "type": "person"}, "in_trash": false,
        "properties": {
            "Name": {"type": "title", "title": [{"plain_text": "Ada L"}]},
            "Email": {"type": "email", "email": "ada@example.com"}
        }
    }))
    .expect("a page");
    let at = "2026-01-05T10:06:30Z".parse().expect("a time");
    let change = page_read(&page, &[snapshot.as_ref().expect("kept")], false, at)
        .change
        .expect("the person's edit");
    assert_eq!(change.source, "person");
    assert_eq!(
        change.changed,
        BTreeMap::from([("Name".to_owned(), "Ada L".to_owned())]),
        "our email is not the person's"
    );
}
