//! The Notion feed's own behaviour: an event it cannot read is given up, a polled change's
//! time, and what a read is compared with (the create's answer, our writes folded in while a
//! read is on its way, a linked lead's agreed values).

use secrecy::SecretString;

use super::*;
use crate::clients::http::RetryPolicy;
use crate::connectors::notion::client::NotionClient;
use crate::connectors::notion::client::Page;
use crate::connectors::notion::sandbox::NotionSandbox;
use crate::inbound::{RecordChangeEvent, RecordChangeKind};
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
    let change = page_read(&page, false, &[snapshot.as_ref().expect("kept")], false, at)
        .change
        .expect("the person's edit");
    assert_eq!(change.source, "person");
    assert_eq!(
        change.changed,
        BTreeMap::from([("Name".to_owned(), "Ada L".to_owned())]),
        "our email is not the person's"
    );
}

/// A page as Notion answers it: `Name` and `Notes`.
fn page_of(name: &str, notes: &str) -> Page {
    serde_json::from_value(serde_json::json!({
        "id": "1A2B3C4D-5E6F-7081-92A3-B4C5D6E7F809", "created_time": "2026-01-05T10:05:00Z",
        "last_edited_time": "2026-01-05T10:06:00Z",
        "last_edited_by": {"id": "u1"}, "in_trash": false,
        "properties": {
            "Name": {"type": "title", "title": [{"plain_text": name}]},
            "Notes": {"type": "rich_text", "rich_text": [{"plain_text": notes}]}
        }
    }))
    .expect("a page")
}

const PAGE: &str = "1a2b3c4d5e6f708192a3b4c5d6e7f809";

fn cells(name: &str, notes: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("Name".to_owned(), name.to_owned()),
        ("Notes".to_owned(), notes.to_owned()),
    ])
}

/// Stores one read the way the feed does (in a write transaction); answers the changes stored
/// and the snapshot kept.
async fn keep_read(
    db: &crate::store::Db,
    ctx: &PairContext,
    page: &Page,
    early: Option<BTreeMap<String, String>>,
) -> (Vec<RecordChangeEvent>, Option<BTreeMap<String, String>>) {
    let at = "2026-01-05T10:06:30Z".parse().expect("a time");
    let when = keep::When::At(at);
    let change = keep::PageChange::read(&ctx.name, page, "bot", early, false, when);
    let mut tx = db.begin_write().await.expect("tx");
    keep::store_change(&mut tx, Some(ctx), &change)
        .await
        .expect("kept");
    tx.commit().await.expect("commit");
    let bodies: Vec<Vec<u8>> =
        sqlx::query_scalar("SELECT body FROM inbox WHERE source = 'notion' ORDER BY id")
            .fetch_all(&db.pool)
            .await
            .expect("inbox");
    let events = (bodies.iter())
        .map(|b| serde_json::from_slice(b).expect("a change"))
        .collect();
    let snapshot = stored::page_snapshot(&db.pool, &ctx.name, PAGE)
        .await
        .expect("read");
    (events, snapshot)
}

/// Two writes of ours to one property folded in while a read was on its way: the read may show
/// the first, which neither snapshot holds; it is no edit (the Notion chaos, seed 5 of a CI run:
/// our older notes, read between our two writes, were copied over the card's newer notes).
#[tokio::test]
async fn a_read_showing_our_first_of_two_writes_folded_in_meanwhile_is_no_edit() {
    let db = temp_db().await;
    let ctx = crate::sync::test_support::ctx();
    let early = cells("Ada", "");
    stored::set_page_snapshot(&db.pool, &ctx.name, PAGE, 0, &early)
        .await
        .expect("kept");
    for name in ["Ada L", "Ada M"] {
        let ours = BTreeMap::from([("Name".to_owned(), name.to_owned())]);
        stored::merge_page_snapshot(&db.pool, &ctx.name, PAGE, &ours)
            .await
            .expect("folded");
    }
    let read = page_of("Ada L", "x");
    let (events, kept) = keep_read(&db.db, &ctx, &read, Some(early)).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(
        events[0].changed,
        BTreeMap::from([("Notes".to_owned(), "x".to_owned())]),
        "our first write is no edit; a person's notes are"
    );
    assert_eq!(
        kept,
        Some(cells("Ada M", "x")),
        "our last write stays the baseline"
    );
}

/// A page leadsync created is known by its create's answer: its first read finds the create's
/// values unchanged, not a person's edit at the read's time (Notion chaos, seed 4: a user's card
/// renamed just after its page was made got the page's older name back).
#[tokio::test]
async fn the_first_read_of_a_page_leadsync_created_finds_the_creates_values_unchanged() {
    let db = temp_db().await;
    let ctx = crate::sync::test_support::ctx();
    stored::keep_created_page(&db.pool, &ctx.name, PAGE, 0, &cells("Card", ""))
        .await
        .expect("kept");
    let (events, _) = keep_read(&db.db, &ctx, &page_of("Card", ""), None).await;
    assert!(events.is_empty(), "{events:?}");
    // A read made before the create's answer (kept already) is not replaced by the create's.
    stored::keep_created_page(&db.pool, &ctx.name, PAGE, 0, &cells("Old", ""))
        .await
        .expect("kept");
    let snapshot = stored::page_snapshot(&db.pool, &ctx.name, PAGE).await;
    assert_eq!(snapshot.expect("read"), Some(cells("Card", "")));
}

/// A read answered before a write of ours landed, and stored after the write was folded into
/// the snapshot: its older value is no edit, and the snapshot keeps our write (kept as read,
/// the next read, showing our write, would take it for a person's edit); a read answered after
/// the write, showing it, is no edit either (Notion chaos, seed 9 of a run: a poll's older name,
/// dated at the poll's end, was copied over the card's newer rename).
#[tokio::test]
async fn a_read_on_its_way_while_our_write_is_folded_in_is_no_edit_and_keeps_our_write() {
    let db = temp_db().await;
    let ctx = crate::sync::test_support::ctx();
    let early = cells("Ada", "");
    stored::set_page_snapshot(&db.pool, &ctx.name, PAGE, 0, &early)
        .await
        .expect("kept");
    let ours = BTreeMap::from([("Name".to_owned(), "Ada L".to_owned())]);
    stored::merge_page_snapshot(&db.pool, &ctx.name, PAGE, &ours)
        .await
        .expect("folded");
    let (events, kept) = keep_read(&db.db, &ctx, &page_of("Ada", ""), Some(early.clone())).await;
    assert!(events.is_empty(), "the older value is no edit: {events:?}");
    assert_eq!(
        kept,
        Some(cells("Ada L", "")),
        "our write stays the baseline"
    );
    let (events, _) = keep_read(&db.db, &ctx, &page_of("Ada L", ""), Some(early)).await;
    assert!(events.is_empty(), "our write is no edit: {events:?}");
    // A person's edit still is one.
    let (events, _) = keep_read(&db.db, &ctx, &page_of("Ada L", "x"), None).await;
    assert_eq!(events.len(), 1);
    assert_eq!(
        events[0].changed,
        BTreeMap::from([("Notes".to_owned(), "x".to_owned())])
    );
}

/// A page a reconciliation linked, never read by the feed, is compared with its lead's agreed
/// values: only what differs is a person's edit (Notion chaos, seed 7: read first for our write of
/// its card URL, the whole page was taken for a person's edit, and its old name was copied over
/// the card's rename).
#[tokio::test]
async fn a_linked_page_read_for_the_first_time_changes_only_by_what_differs_from_its_agreed_values()
{
    let db = temp_db().await;
    let ctx = crate::sync::test_support::ctx();
    linked(&db, &ctx, "").await;
    let (events, kept) = keep_read(&db.db, &ctx, &page_of("Ada", "x"), None).await;
    assert_linked_read(events, kept);
}

/// The agreed values hold a write of ours still on its way: a linked page never read, read
/// before that write lands, shows the property as it was, and that is no edit (the Notion chaos,
/// seed 27: a Company typed on the card, read back at its old value before our write of it
/// landed, had the old value copied over the card's).
#[tokio::test]
async fn a_linked_page_read_before_our_write_lands_is_no_edit_of_the_written_property() {
    use crate::store::outbox::{self, NewCommand};
    use crate::sync::plan::commands::Command;
    let db = temp_db().await;
    let ctx = crate::sync::test_support::ctx();
    linked(&db, &ctx, "from the card").await;
    let cmd = Command::WriteRow {
        lead_id: PAGE.into(),
        row_hint: None,
        expect_name: None,
        cells: BTreeMap::from([("Notes".to_owned(), "from the card".to_owned())]),
    };
    let new = NewCommand {
        pair: ctx.name.clone(),
        lead_id: Some(PAGE.into()),
        target: "sheets".into(),
        kind: "write_row".into(),
        payload: serde_json::to_value(&cmd).expect("json"),
        idempotency_key: "k1".into(),
    };
    assert!(outbox::enqueue(&db.pool, &new).await.expect("queued"));
    let (events, _) = keep_read(&db.db, &ctx, &page_of("Ada L", "before"), None).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(
        events[0].changed,
        BTreeMap::from([("Name".to_owned(), "Ada L".to_owned())]),
        "the notes our write is setting are not the person's"
    );
}

/// A lead linked to [`PAGE`] (as a reconciliation links it), agreed on name "Ada" and `notes`.
async fn linked(db: &crate::store::testdb::TestDb, ctx: &PairContext, notes: &str) {
    use crate::store::lead_state::{self, StoredField};
    use crate::store::links::{self, NewLink};
    crate::store::pairs::upsert(&db.pool, &crate::store::testdb::pair(&ctx.name))
        .await
        .expect("pair");
    let link = NewLink {
        pair: ctx.name.clone(),
        lead_id: PAGE.into(),
        card_id: Some("c1".into()),
        ..NewLink::default()
    };
    assert!(links::insert(&db.pool, &link).await.expect("link"));
    for (field, value) in [("name", "Ada"), ("notes", notes)] {
        let state = StoredField {
            lead_id: PAGE.into(),
            field: field.into(),
            agreed_hash: crate::model::ValueHash::of(value).to_string(),
            agreed_value: value.into(),
            agreed_at: 1,
            last_writer: None,
            sheet_seen_at: None,
            sheet_written_at: None,
            trello_seen_at: None,
            trello_written_at: None,
        };
        lead_state::save(&db.pool, &ctx.name, &state)
            .await
            .expect("state");
    }
}

fn assert_linked_read(events: Vec<RecordChangeEvent>, kept: Option<BTreeMap<String, String>>) {
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].kind, RecordChangeKind::Changed);
    assert_eq!(
        events[0].changed,
        BTreeMap::from([("Notes".to_owned(), "x".to_owned())])
    );
    assert_eq!(kept, Some(cells("Ada", "x")));
}
