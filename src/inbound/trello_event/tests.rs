//! Parsing of real recorded Trello deliveries and of the shapes the fixtures do not cover.

use super::*;

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!("../../../tests/fixtures/trello/", $name))
    };
}

const BOARD: &str = "609402807c6be98b8289c55e";
const CARD: &str = "60940be5986d6c0bca3637d6";
const TODO: &str = "609402807c6be98b8289c55f";
const DOING: &str = "609402807c6be98b8289c560";

fn parse(json: &str) -> BoardEvent {
    super::parse(json.as_bytes()).unwrap()
}

fn update(json: &str) -> (CardState, Option<String>, Option<String>, CardOld) {
    match parse(json) {
        BoardEvent::UpdateCard {
            card,
            list_id,
            list_before_id,
            old,
            ..
        } => (card, list_id, list_before_id, old),
        other => panic!("expected updateCard, got {other:?}"),
    }
}

#[test]
fn create_card_fixture_parses_with_its_meta_and_list() {
    let event = parse(fixture!("createCard.json"));
    let meta = event.meta();
    assert_eq!(meta.action_id, "60940be6986d6c0bca3637da");
    assert_eq!(meta.member_creator_id, "6045949b752485785feab3b4");
    assert_eq!(meta.board_id.as_deref(), Some(BOARD));
    assert_eq!(meta.date.to_rfc3339(), "2021-05-06T15:31:50.011+00:00");
    let BoardEvent::CreateCard { card, list_id, .. } = event else {
        panic!("not createCard")
    };
    assert_eq!(card.id, CARD);
    assert_eq!(card.name.as_deref(), Some("hi"));
    assert_eq!(card.short_link.as_deref(), Some("p51YToTZ"));
    assert_eq!(list_id.as_deref(), Some(TODO));
}

#[test]
fn moved_card_fixture_gives_both_lists() {
    let (card, list_id, before, old) = update(fixture!("updateCard-moved.json"));
    assert_eq!(card.id, CARD);
    assert_eq!(list_id.as_deref(), Some(DOING));
    assert_eq!(before.as_deref(), Some(TODO));
    assert_eq!(old.list_id.as_deref(), Some(TODO));
    assert!(old.name.is_none() && old.desc.is_none());
}

#[test]
fn renamed_and_described_fixtures_give_old_values() {
    let (card, list_id, before, old) = update(fixture!("updateCard-renamed.json"));
    assert_eq!(
        (card.name.as_deref(), old.name.as_deref()),
        (Some("hi123"), Some("hi12"))
    );
    assert_eq!(list_id.as_deref(), Some(DOING));
    assert!(before.is_none());
    let (card, _, _, old) = update(fixture!("updateCard-description.json"));
    assert_eq!(
        (card.desc.as_deref(), old.desc.as_deref()),
        (Some("test desc"), Some(""))
    );
}

#[test]
fn archive_and_unarchive_fixtures_give_closed_flags() {
    let (card, _, _, old) = update(fixture!("updateCard-archived.json"));
    assert_eq!((card.closed, old.closed), (Some(true), Some(false)));
    let (card, _, _, old) = update(fixture!("updateCard-unarchived.json"));
    assert_eq!((card.closed, old.closed), (Some(false), Some(true)));
}

#[test]
fn due_date_fixture_gives_old_and_new_due() {
    let (card, _, _, old) = update(fixture!("updateCard-due-date-changed.json"));
    assert_eq!(card.due, Some(Some("2021-05-26T08:41:00.000Z".to_owned())));
    assert_eq!(old.due, Some(Some("2021-05-31T08:41:00.000Z".to_owned())));
}

#[test]
fn a_comment_fixture_is_an_other_event_of_the_card() {
    let event = parse(fixture!("commentCard.json"));
    let BoardEvent::Other { kind, card_id, .. } = &event else {
        panic!("{event:?}")
    };
    assert_eq!(kind, "commentCard");
    assert!(card_id.is_some());
    assert_eq!(event.meta().board_id.as_deref(), Some(BOARD));
}

#[test]
fn label_and_checklist_fixtures_are_card_details_with_card_and_meta() {
    const LABEL_CARD: &str = "609d141617b8862c73e5576d";
    let cases = [
        (fixture!("addLabelToCard.json"), CardDetail::Labels),
        (fixture!("removeLabelFromCard.json"), CardDetail::Labels),
        (fixture!("addChecklistToCard.json"), CardDetail::Checklists),
        (
            fixture!("removeChecklistFromCard.json"),
            CardDetail::Checklists,
        ),
        (fixture!("updateChecklist.json"), CardDetail::Checklists),
        (fixture!("createCheckItem.json"), CardDetail::Checklists),
        (fixture!("updateCheckItem.json"), CardDetail::Checklists),
        (
            fixture!("updateCheckItemStateOnCard.json"),
            CardDetail::Checklists,
        ),
        (fixture!("deleteCheckItem.json"), CardDetail::Checklists),
    ];
    for (json, expected) in cases {
        let event = parse(json);
        let BoardEvent::CardDetail {
            card_id, detail, ..
        } = &event
        else {
            panic!("{event:?}")
        };
        assert_eq!((card_id.as_str(), *detail), (LABEL_CARD, expected));
        assert_eq!(event.meta().board_id.as_deref(), Some(BOARD));
        assert!(!event.meta().action_id.is_empty());
    }
}

#[test]
fn a_checklist_action_names_its_checklist_and_a_rename_its_old_name_too() {
    let names = |json| match parse(json) {
        BoardEvent::CardDetail { checklists, .. } => checklists,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        names(fixture!("updateChecklist.json")),
        ["Launch", "Launch plan"]
    );
    assert!(names(fixture!("addLabelToCard.json")).is_empty());
}

#[test]
fn a_card_detail_without_its_card_is_refused_naming_it() {
    let json = r#"{"model":{"id":"b1"},"action":{"id":"a1","idMemberCreator":"m1",
        "type":"createCheckItem","date":"2026-01-01T00:00:00.000Z","data":{"board":{"id":"b1"}}}}"#;
    let err = super::parse(json.as_bytes()).unwrap_err().to_string();
    assert!(err.contains("createCheckItem without data.card"), "{err}");
}

#[test]
fn due_complete_fixture_gives_its_old_state() {
    let (_, _, _, old) = update(fixture!("updateCard-dueComplete.json"));
    assert_eq!(old.due_complete, Some(false));
    assert!(old.due.is_none());
}

#[test]
fn delete_card_carries_only_the_card_id() {
    let json = r#"{"model":{"id":"b1"},"action":{"id":"a1","idMemberCreator":"m1","type":"deleteCard",
        "date":"2026-01-01T00:00:00.000Z","data":{"card":{"id":"c1","idShort":4},
        "board":{"id":"b1","name":"B","shortLink":"x"},"list":{"id":"l1","name":"New"}}}}"#;
    let event = parse(json);
    assert_eq!(event.card_id(), Some("c1"));
    let BoardEvent::DeleteCard { list_id, .. } = event else {
        panic!("not deleteCard")
    };
    assert_eq!(list_id.as_deref(), Some("l1"));
}

#[test]
fn custom_field_update_gives_new_and_old_text_and_null_when_cleared() {
    let json = r#"{"model":{"id":"b1"},"action":{"id":"a2","idMemberCreator":"m1","type":"updateCustomFieldItem",
        "date":"2026-01-01T00:00:00.000Z","data":{"card":{"id":"c1","name":"Ada","idShort":1,"shortLink":"s"},
        "board":{"id":"b1"},"customField":{"id":"f1","name":"Email","type":"text"},
        "customFieldItem":{"id":"i1","idCustomField":"f1","idModel":"c1","modelType":"card","value":{"text":"new@x"}},
        "old":{"value":{"text":"old@x"}}}}}"#;
    let BoardEvent::UpdateCustomFieldItem {
        field_id,
        field_name,
        text,
        old_text,
        ..
    } = parse(json)
    else {
        panic!("not updateCustomFieldItem")
    };
    assert_eq!(field_id, "f1");
    assert_eq!(field_name.as_deref(), Some("Email"));
    assert_eq!(
        (text.as_deref(), old_text.as_deref()),
        (Some("new@x"), Some("old@x"))
    );
    let cleared = json.replace(r#""value":{"text":"new@x"}"#, r#""value":null"#);
    let BoardEvent::UpdateCustomFieldItem { text, .. } = parse(&cleared) else {
        panic!()
    };
    assert!(text.is_none());
}

#[test]
fn a_body_that_is_not_an_action_is_rejected() {
    assert!(super::parse(b"{\"hello\":1}").is_err());
    assert!(super::parse(b"not json").is_err());
    let no_card = r#"{"action":{"id":"a","idMemberCreator":"m","type":"createCard","date":"2026-01-01T00:00:00Z","data":{}}}"#;
    assert!(super::parse(no_card.as_bytes()).is_err());
}
