//! `restore_card` against the Trello emulator: a value put back on a card over a blind write of
//! ours is not written when the card's history shows a person changed that field again after
//! the change put back (that change is read into the inbox instead); other fields of the same
//! command, and a restore nothing superseded, are written.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::connectors::bench::Bench;
use crate::connectors::trello::sandbox::UserCardChange;
use crate::model::LeadId;
use crate::sync::mapping::{compose_description, split_description};
use crate::sync::plan::commands::Command;

fn desc(notes: &str) -> String {
    compose_description(notes, &LeadId::parse("L1").expect("id"))
}

/// A person edits the card's notes "in the browser"; returns the action's id and time (ms),
/// once the clock has moved past it (so a later action is later by the millisecond).
async fn user_notes(b: &Bench, card: &str, notes: &str) -> (String, i64) {
    let change = UserCardChange {
        desc: Some(desc(notes)),
        ..UserCardChange::default()
    };
    b.trello.user_update_card(card, &change).expect("edit");
    let actions = b.trello.card_actions(card);
    let last = actions.last().expect("an action");
    let at: DateTime<Utc> = last["date"].as_str().expect("date").parse().expect("time");
    let at = at.timestamp_millis();
    for _ in 0..1_000 {
        if Utc::now().timestamp_millis() > at {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    (last["id"].as_str().expect("id").to_owned(), at)
}

fn restore(b: &Bench, notes: &str, since: i64) -> Command {
    Command::RestoreCard {
        lead_id: "L1".into(),
        fields: BTreeMap::from([
            ("desc".to_owned(), desc(notes)),
            ("idList".to_owned(), b.list("Won")),
        ]),
        since: BTreeMap::from([("desc".to_owned(), since), ("idList".to_owned(), since)]),
        closed: None,
    }
}

fn notes_of(b: &Bench, card: &str) -> String {
    split_description(&b.trello.card(card).expect("card").desc).0
}

async fn fetched(b: &Bench) -> Vec<(String, String, String)> {
    sqlx::query_as("SELECT source, dedupe_key, pair FROM inbox ORDER BY id")
        .fetch_all(&b.db.pool)
        .await
        .expect("inbox")
}

/// The card of lead L1 whose notes a person set to "mine", then to "later", after which a
/// write of ours ("ours") landed over them; returns the card and both user actions.
async fn overwritten_card(b: &Bench) -> (String, (String, i64), (String, i64)) {
    let card = b.user_card("L1", "New", "Ada");
    b.link("L1", Some(&card), Some(2)).await;
    let first = user_notes(b, &card, "mine").await;
    let second = user_notes(b, &card, "later").await;
    b.enqueue(&Command::UpdateCard {
        lead_id: "L1".into(),
        card_id: None,
        name: None,
        desc: Some(desc("ours")),
        id_list: None,
        closed: None,
    })
    .await;
    assert_eq!(b.dispatcher.run_once().await.expect("run").sent, 1);
    (card, first, second)
}

#[tokio::test]
async fn a_restore_a_later_change_of_the_card_supersedes_reads_that_change_and_writes_the_rest() {
    let b = Bench::start().await;
    let (card, (_, mine_at), (later_id, _)) = overwritten_card(&b).await;

    b.enqueue(&restore(&b, "mine", mine_at)).await;
    assert_eq!(b.dispatcher.run_once().await.expect("run").sent, 1);

    assert_eq!(
        notes_of(&b, &card),
        "ours",
        "\"mine\" is not put back over \"later\""
    );
    let now = b.trello.card(&card).expect("card");
    assert_eq!(
        now.id_list,
        b.list("Won"),
        "the list, changed by no one since, is"
    );
    assert_eq!(
        fetched(&b).await,
        vec![("trello".to_owned(), later_id, "a".to_owned())],
        "the lost change is read into the inbox, once"
    );
}

#[tokio::test]
async fn a_restore_nothing_changed_after_is_written_and_a_write_of_ours_supersedes_nothing() {
    let b = Bench::start().await;
    let (card, _, (_, later_at)) = overwritten_card(&b).await;

    b.enqueue(&restore(&b, "later", later_at)).await;
    assert_eq!(b.dispatcher.run_once().await.expect("run").sent, 1);

    assert_eq!(notes_of(&b, &card), "later");
    assert!(fetched(&b).await.is_empty());
}

#[tokio::test]
async fn a_restore_whose_every_field_is_superseded_sends_no_write() {
    let b = Bench::start().await;
    let (card, (_, mine_at), _) = overwritten_card(&b).await;
    let only_notes = Command::RestoreCard {
        lead_id: "L1".into(),
        fields: BTreeMap::from([("desc".to_owned(), desc("mine"))]),
        since: BTreeMap::from([("desc".to_owned(), mine_at)]),
        closed: None,
    };
    let writes_before = b.trello.card_actions(&card).len();

    b.enqueue(&only_notes).await;
    let report = b.dispatcher.run_once().await.expect("run");
    assert_eq!((report.sent, report.skipped), (0, 1));

    assert_eq!(b.trello.card_actions(&card).len(), writes_before);
    assert_eq!(notes_of(&b, &card), "ours");
}
