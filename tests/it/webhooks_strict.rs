//! The door parses each webhook body as the worker will: a signed body the worker could not use
//! is refused with a 400 that names what is wrong and is not stored, while every recorded Trello
//! delivery, including the kinds leadsync ignores, is still accepted (Trello disables webhooks
//! that keep failing).

use crate::ingress_support::*;

/// The board the recorded fixtures were taken from.
const FIXTURE_BOARD: &str = "609402807c6be98b8289c55e";

macro_rules! fixture {
    ($name:literal) => {
        ($name, include_str!(concat!("../fixtures/trello/", $name)))
    };
}

const ACTION: &str = r#"{"model":{"id":"board-1"},"action":{"id":"act-x","idMemberCreator":"m1","type":"updateCard","date":"2026-11-21T10:15:02.123Z","data":{"card":{"id":"c1","name":"NAME"},"board":{"id":"board-1"},"old":{"name":"Old"}}}}"#;

fn with_invalid_utf8(body: &str, marker: &str) -> Vec<u8> {
    let mut bytes = body.as_bytes().to_vec();
    let at = body.find(marker).expect("marker");
    bytes[at] = 0xff;
    bytes
}

#[tokio::test]
async fn a_signed_trello_body_the_worker_could_not_use_is_400_naming_why_and_not_stored() {
    let app = spawn_ingress_app().await;
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "no date",
            ACTION
                .replace(r#","date":"2026-11-21T10:15:02.123Z""#, "")
                .into_bytes(),
            "action: missing field `date`",
        ),
        (
            "no data.card",
            ACTION
                .replace(r#""card":{"id":"c1","name":"NAME"},"#, "")
                .into_bytes(),
            "updateCard without data.card",
        ),
        (
            "no idMemberCreator",
            ACTION
                .replace(r#""idMemberCreator":"m1","#, "")
                .into_bytes(),
            "action: missing field `idMemberCreator`",
        ),
        (
            "invalid UTF-8",
            with_invalid_utf8(ACTION, "NAME"),
            "body is not UTF-8",
        ),
        (
            "lone surrogate escape",
            ACTION.replace("NAME", r"Ada \ud800").into_bytes(),
            "action.data.card.name: ",
        ),
    ];
    for (what, body, wanted) in cases {
        let (status, json) = status_and_json(app.post_signed_trello_bytes(&body).await).await;
        assert_eq!(status, 400, "{what}: {json}");
        let error = json["error"].as_str().expect("an error message");
        assert!(error.contains(wanted), "{what}: {error}");
    }
    assert!(app.inbox_rows().await.is_empty());
    // The signature is judged first, on the raw bytes: a bad one is 401 whatever the body.
    let unsigned = app
        .post_trello_bytes(&with_invalid_utf8(ACTION, "NAME"), Some("AAAA"))
        .await;
    assert_eq!(unsigned.status(), 401);
}

#[tokio::test]
async fn a_signed_apps_script_body_the_worker_could_not_use_is_400_and_not_stored() {
    let app = spawn_ingress_app().await;
    let edit = sheets_edit(SPREADSHEET, "NAME");
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "no edited_at",
            edit.replace(r#""edited_at":"2026-11-21T10:15:02.123Z","#, "")
                .into_bytes(),
            "missing field `edited_at`",
        ),
        (
            "invalid UTF-8",
            with_invalid_utf8(&edit, "NAME"),
            "body is not UTF-8",
        ),
        (
            "lone surrogate escape",
            edit.replace("NAME", r"\udc00").into_bytes(),
            "rows[0].values.Name: ",
        ),
        (
            "header row",
            edit.replace(r#""row":2"#, r#""row":1"#).into_bytes(),
            "row 1 is not a data row",
        ),
    ];
    for (i, (what, body, wanted)) in cases.into_iter().enumerate() {
        let id = format!("evt_bad_{i}");
        let (status, json) = status_and_json(app.post_signed_sheets_bytes(&id, &body).await).await;
        assert_eq!(status, 400, "{what}: {json}");
        let error = json["error"].as_str().expect("an error message");
        assert!(error.contains(wanted), "{what}: {error}");
    }
    assert!(app.inbox_rows().await.is_empty());
}

#[tokio::test]
async fn every_recorded_delivery_and_ignored_action_kinds_are_accepted_and_stored() {
    let app = spawn_ingress_app().await;
    let recorded = [
        fixture!("createCard.json"),
        fixture!("updateCard-moved.json"),
        fixture!("updateCard-renamed.json"),
        fixture!("updateCard-description.json"),
        fixture!("updateCard-archived.json"),
        fixture!("updateCard-unarchived.json"),
        fixture!("updateCard-due-date-changed.json"),
        fixture!("addLabelToCard.json"),
        fixture!("commentCard.json"),
    ];
    let mut bodies: Vec<(String, String)> = recorded
        .iter()
        .map(|(name, text)| (name.to_string(), text.replace(FIXTURE_BOARD, BOARD)))
        .collect();
    // Actions that are not about cards: acknowledged (and ignored by the worker), never 400.
    for (kind, data) in [
        (
            "updateBoard",
            r#"{"board":{"id":"board-1","name":"New"},"old":{"name":"Old"}}"#,
        ),
        (
            "addMemberToBoard",
            r#"{"board":{"id":"board-1"},"idMemberAdded":"m2"}"#,
        ),
        (
            "updateList",
            r#"{"list":{"id":"l1","name":"Won"},"old":{"name":"Done"}}"#,
        ),
    ] {
        let body = format!(
            r#"{{"model":{{"id":"{BOARD}"}},"action":{{"id":"act-{kind}","idMemberCreator":"m1","type":"{kind}","date":"2026-11-21T10:15:02.123Z","data":{data}}}}}"#
        );
        bodies.push((kind.to_string(), body));
    }
    for (what, body) in &bodies {
        let (status, json) = status_and_json(app.post_signed_trello(body).await).await;
        assert_eq!(status, 200, "{what}: {json}");
        assert_eq!(json["duplicate"], false, "{what}");
    }
    assert_eq!(app.inbox_rows().await.len(), bodies.len());
}
