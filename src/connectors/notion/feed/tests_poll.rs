//! The Notion feed's polls against the emulator: a page leadsync's integration edited last is read
//! as an API change (so the worker's wait for a create of ours in flight applies to it), and a
//! kept page moved to the trash while its events were lost is found by a poll.

use secrecy::SecretString;

use super::*;
use crate::clients::http::RetryPolicy;
use crate::connectors::notion::client::{NotionClient, Properties, PropertyType, PropertyValue};
use crate::connectors::notion::sandbox::{NotionSandbox, PropertySpec};
use crate::inbound::{RecordChangeEvent, RecordChangeKind};
use crate::store::testdb::{TestDb, temp_db};

struct Setup {
    db: TestDb,
    sandbox: NotionSandbox,
    client: NotionClient,
    feed: Feed,
    ds: String,
}

/// A Notion pair "p" over an emulated database with a `Name`, its feed polling, and a first poll
/// made (it starts the mark).
async fn setup() -> Setup {
    let db = temp_db().await;
    let sandbox = NotionSandbox::start_with(None).await.expect("sandbox");
    let ds =
        (sandbox.create_database("Leads", &[PropertySpec::new("Name", "title")])).data_source_id;
    let settings = crate::sync::test_support::settings();
    let mut pair = settings.pairs[0].clone();
    pair.tracker = crate::model::TrackerKind::Notion;
    pair.data_source_id = Some(ds.clone());
    let layout = crate::sync::test_support::layout();
    let ctx = PairContext::new(&settings, &pair, &layout, "me").expect("resolves");
    let token = SecretString::from(sandbox.token().to_owned());
    let client = NotionClient::new(&sandbox.api_base(), &token, RetryPolicy::default(), 100)
        .expect("client");
    let pairs = HashMap::from([(ctx.name.clone(), Arc::new(ctx))]);
    let feed = Feed::new(
        db.db.clone(),
        Sources::new(client.clone()),
        pairs,
        Some(Duration::from_secs(1)),
    );
    assert_eq!(feed.poll_all().await.expect("first poll"), 0);
    Setup {
        db,
        sandbox,
        client,
        feed,
        ds,
    }
}

/// The changes the feed stored, oldest first.
async fn changes(db: &TestDb) -> Vec<RecordChangeEvent> {
    let bodies: Vec<Vec<u8>> =
        sqlx::query_scalar("SELECT body FROM inbox WHERE source = 'notion' ORDER BY id")
            .fetch_all(&db.pool)
            .await
            .expect("inbox");
    (bodies.iter())
        .map(|b| serde_json::from_slice(b).expect("a change"))
        .collect()
}

/// Notion names a page's last editor by id only: without the integration's bot id, a page a
/// create of ours made read as a person's, and the worker did not hold it while that create's
/// answer was lost (the Notion chaos, seed 6: a second card, then a second page, for one card).
#[tokio::test]
async fn a_page_our_integration_edited_last_is_read_as_an_api_change_and_a_persons_is_not() {
    let s = setup().await;
    let props = Properties::from([(
        "Name".to_owned(),
        PropertyValue::new(PropertyType::Title, "Ada"),
    )]);
    let ours = s.client.create_page(&s.ds, &props).await.expect("made");
    let theirs = (s.sandbox.user_create_page(&s.ds, &[("Name", "Bob")])).expect("typed");
    assert_eq!(s.feed.poll_all().await.expect("poll"), 2);
    let changes = changes(&s.db).await;
    let of = |id: &str| {
        (changes.iter())
            .find(|c| c.record_id == compact_id(id))
            .expect("read")
    };
    assert!(of(&ours.id).by_api(), "{:?}", of(&ours.id));
    assert!(!of(&theirs).by_api(), "{:?}", of(&theirs));
    let asked = s.sandbox.gate().calls().count("GET", "/v1/users/me");
    assert_eq!(asked, 1, "the bot is asked once");
}

/// A data-source query never answers a page in the trash: with the page's events lost, only a
/// read of the page itself tells (the Notion chaos, seed 9: its card stayed open).
#[tokio::test]
async fn a_kept_page_moved_to_the_trash_while_its_events_were_lost_is_found_by_a_poll() {
    let s = setup().await;
    let names = ["Ada", "Bob", "Cy", "Di"];
    let pages: Vec<String> = (names.iter())
        .map(|n| (s.sandbox.user_create_page(&s.ds, &[("Name", n)])).expect("typed"))
        .collect();
    assert_eq!(s.feed.poll_all().await.expect("poll"), names.len());
    for page in &pages[1..] {
        s.sandbox.user_trash_page(page, true).expect("trashed");
    }
    // Two pages read again a poll: every trashed one within two.
    for _ in 0..2 {
        s.feed.poll_all().await.expect("poll");
    }
    let gone: Vec<String> = (changes(&s.db).await.into_iter())
        .filter(|c| c.kind == RecordChangeKind::Destroyed)
        .map(|c| c.record_id)
        .collect();
    let mut trashed: Vec<String> = pages[1..].iter().map(|p| compact_id(p)).collect();
    trashed.sort();
    let mut found = gone.clone();
    found.sort();
    assert_eq!(
        found, trashed,
        "each trashed page gone once, the live one not"
    );
    let kept = stored::page_snapshots(&s.db.pool, "p").await.expect("read");
    assert_eq!(kept.len(), 1, "the trashed pages are forgotten");
}

/// A person's edit whose events were lost is found by the next poll, seconds or a minute
/// later; Notion dates it to the minute only. Dated at the read, it beat a card edit of the same
/// field made after it (the Notion chaos, seed 27: a status typed in Notion overwrote the card's
/// later move back). It is dated at the earliest moment it can have been made: after the
/// previous poll began, which did not show it.
#[tokio::test]
async fn an_edit_a_poll_found_is_dated_at_the_earliest_moment_it_can_have_been_made() {
    let s = setup().await;
    let page = (s.sandbox.user_create_page(&s.ds, &[("Name", "Ada")])).expect("typed");
    assert_eq!(s.feed.poll_all().await.expect("poll"), 1);
    let mark = stored::polled_at(&s.db.pool, "p").await.expect("read");
    let previous = Utc.timestamp_millis_opt(mark.expect("a mark")).unwrap();
    s.sandbox
        .user_update_page(&page, &[("Name", "Ada L")])
        .expect("typed");
    assert_eq!(s.feed.poll_all().await.expect("poll"), 1);
    let edit = changes(&s.db).await.pop().expect("the edit");
    assert_eq!(
        edit.changed,
        BTreeMap::from([("Name".to_owned(), "Ada L".to_owned())])
    );
    let edited = s.client.retrieve_page(&page).await.expect("read");
    assert_eq!(edit.timestamp, previous.max(edited.last_edited_time));
}

/// The window's start moves past what the lead's state says leadsync knew: a read that showed
/// the field as it was (`seen_at`), and a write of ours to it that landed (`written_at`). Dated
/// before them, the edit would be old news to the merge (a read after it would have shown it)
/// or older than the value our write put there, and lost.
#[tokio::test]
async fn an_edit_a_poll_found_is_dated_after_what_leadsync_saw_and_wrote_of_the_field() {
    use crate::store::lead_state::{self, StoredField};
    use crate::store::links::{self, NewLink};
    let s = setup().await;
    let page = (s.sandbox.user_create_page(&s.ds, &[("Name", "Ada")])).expect("typed");
    assert_eq!(s.feed.poll_all().await.expect("poll"), 1);
    let lead = compact_id(&page);
    let pair = crate::store::testdb::pair("p");
    crate::store::pairs::upsert(&s.db.pool, &pair)
        .await
        .expect("pair");
    let link = NewLink {
        pair: "p".into(),
        lead_id: lead.clone(),
        card_id: Some("c1".into()),
        ..NewLink::default()
    };
    assert!(links::insert(&s.db.pool, &link).await.expect("link"));
    // Both after the previous poll began, as a read and a write of ours since would be.
    let written = now_ms();
    let seen = written - 5;
    let state = StoredField {
        lead_id: lead.clone(),
        field: "name".into(),
        agreed_hash: crate::model::ValueHash::of("Ada").to_string(),
        agreed_value: "Ada".into(),
        agreed_at: 1,
        last_writer: None,
        sheet_seen_at: Some(seen),
        sheet_written_at: Some(written),
        trello_seen_at: None,
        trello_written_at: None,
    };
    lead_state::save(&s.db.pool, "p", &state)
        .await
        .expect("state");
    s.sandbox
        .user_update_page(&page, &[("Name", "Ada L")])
        .expect("typed");
    assert_eq!(s.feed.poll_all().await.expect("poll"), 1);
    let edit = changes(&s.db).await.pop().expect("the edit");
    let after_write = Utc.timestamp_millis_opt(written + 1).unwrap();
    let edited = s.client.retrieve_page(&page).await.expect("read");
    assert_eq!(edit.timestamp, after_write.max(edited.last_edited_time));
}
