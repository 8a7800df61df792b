//! The Trello client against the sandbox emulator: every call, retries, faults, auth and limits.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::any;
use secrecy::SecretString;

use super::*;
// The delivery is read by the parser the door and the worker use (below the store, in `inbound`).
use crate::connectors::trello::sandbox::{BoardSetup, TrelloSandbox, UserCardChange, sign};
use crate::inbound::trello_event;
use crate::model::board::BoardEvent;
use crate::sandbox::common::{Served, serve};

pub(super) fn fast_policy() -> RetryPolicy {
    RetryPolicy {
        connect_timeout: Duration::from_secs(2),
        total_timeout: Duration::from_secs(2),
        max_attempts: 4,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
        max_elapsed: Duration::from_secs(20),
    }
}

pub(super) fn client_with(
    sb: &TrelloSandbox,
    token: &str,
    policy: RetryPolicy,
    limits: TrelloLimits,
) -> TrelloClient {
    let key = SecretString::from(sb.api_key().to_owned());
    TrelloClient::new(
        sb.api_base(),
        key,
        SecretString::from(token.to_owned()),
        policy,
        limits,
    )
    .unwrap()
}

pub(super) async fn setup() -> (TrelloSandbox, TrelloClient, BoardSetup) {
    let sb = TrelloSandbox::start().await.unwrap();
    let board = sb.setup_board("Leads", &["New", "Contacted"], &["Email"]);
    let client = client_with(&sb, sb.api_token(), fast_policy(), TrelloLimits::default());
    (sb, client, board)
}

#[tokio::test]
async fn reads_the_member_board_lists_and_custom_fields() {
    let (sb, c, b) = setup().await;
    let me = c.me().await.unwrap();
    assert_eq!(me.id, sb.api_member_id());
    assert!(!me.username.is_empty() && !me.full_name.is_empty());
    let board = c.board(&b.board_id).await.unwrap();
    assert_eq!(
        (board.id.as_str(), board.name.as_str()),
        (b.board_id.as_str(), "Leads")
    );
    let names: Vec<String> = c
        .lists(&b.board_id)
        .await
        .unwrap()
        .into_iter()
        .map(|l| l.name)
        .collect();
    assert_eq!(names, ["New", "Contacted"]);
    let found = c
        .find_list(&b.board_id, " contacted ")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id, b.lists["Contacted"]);
    assert!(c.find_list(&b.board_id, "Lost").await.unwrap().is_none());
    let field = c
        .find_custom_field(&b.board_id, "EMAIL")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (field.id.as_str(), field.field_type.as_str()),
        (b.fields["Email"].as_str(), "text")
    );
    let err = c.board("0123456789abcdef01234567").await.unwrap_err();
    assert!(matches!(err, ClientError::NotFound { .. }), "{err}");
}

#[tokio::test]
async fn creates_a_list_and_a_text_field() {
    let (sb, c, b) = setup().await;
    let list = c.create_list(&b.board_id, "Lost").await.unwrap();
    assert_eq!(
        (list.name.as_str(), list.board_id.as_str()),
        ("Lost", b.board_id.as_str())
    );
    assert_eq!(
        c.find_list(&b.board_id, "lost").await.unwrap().unwrap().id,
        list.id
    );
    let field = c.create_text_field(&b.board_id, "Phone").await.unwrap();
    assert_eq!(field.field_type, "text");
    assert!(
        sb.custom_fields(&b.board_id)
            .iter()
            .any(|f| f.id == field.id && f.name == "Phone")
    );
}

#[tokio::test]
async fn creates_updates_reads_and_deletes_a_card_with_a_custom_text() {
    let (sb, c, b) = setup().await;
    let new = NewCard {
        id_list: b.lists["New"].clone(),
        name: "Ada".into(),
        desc: "hi\nleadsync:L1".into(),
        pos: None,
    };
    let card = c.create_card(&new).await.unwrap();
    assert_eq!(
        (card.name.as_str(), card.id_list.as_str()),
        ("Ada", new.id_list.as_str())
    );
    assert!(card.short_url.ends_with(&card.short_link) && card.id.len() == 24);
    let email = &b.fields["Email"];
    c.set_custom_text(&card.id, email, "ada@example.com")
        .await
        .unwrap();
    assert_eq!(
        c.card(&card.id).await.unwrap().custom_texts[email],
        "ada@example.com"
    );
    let update = CardUpdate {
        name: Some("Ada L".into()),
        id_list: Some(b.lists["Contacted"].clone()),
        ..Default::default()
    };
    let updated = c.update_card(&card.id, &update).await.unwrap();
    assert_eq!(
        (updated.name.as_str(), updated.desc.as_str()),
        ("Ada L", "hi\nleadsync:L1")
    );
    assert_eq!(updated.id_list, b.lists["Contacted"]);
    let archived = c
        .update_card(
            &card.id,
            &CardUpdate {
                closed: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(archived.closed);
    c.set_custom_text(&card.id, email, "").await.unwrap();
    assert!(c.card(&card.id).await.unwrap().custom_texts.is_empty());
    let bad = CardUpdate {
        id_list: Some("0123456789abcdef01234567".into()),
        ..Default::default()
    };
    let err = c.update_card(&card.id, &bad).await.unwrap_err();
    assert!(
        matches!(&err, ClientError::BadRequest { status: 400, message, .. } if message == "invalid value for idList"),
        "{err}"
    );
    c.delete_card(&card.id).await.unwrap();
    assert!(matches!(
        c.card(&card.id).await.unwrap_err(),
        ClientError::NotFound { .. }
    ));
    assert!(sb.cards(&b.board_id).is_empty());
}

#[tokio::test]
async fn reads_every_card_open_and_archived_paging_past_a_thousand() {
    let (sb, c, b) = setup().await;
    let list = &b.lists["New"];
    for i in 0..1005 {
        let id = sb.user_create_card(list, &format!("Lead {i}"), "").unwrap();
        if i % 100 == 0 {
            sb.user_update_card(
                &id,
                &UserCardChange {
                    closed: Some(true),
                    ..Default::default()
                },
            )
            .unwrap();
        }
    }
    sb.gate().calls().clear();
    let cards = c.board_cards(&b.board_id).await.unwrap();
    assert_eq!(cards.len(), 1005);
    assert_eq!(cards.iter().filter(|c| c.closed).count(), 11);
    let path = format!("/1/boards/{}/cards/all", b.board_id);
    assert_eq!(sb.gate().calls().count("GET", &path), 2);
}

/// A callback receiver: answers HEAD with `head_status`, records POSTed bodies and signatures.
type Received = Arc<Mutex<Vec<(Bytes, String)>>>;

async fn receiver(head_status: StatusCode) -> (Served, Received) {
    let got: Received = Arc::default();
    let sink = got.clone();
    let app = Router::new().route(
        "/webhooks/trello",
        any(
            move |method: axum::http::Method, headers: HeaderMap, body: Bytes| {
                let sink = sink.clone();
                async move {
                    if method == axum::http::Method::HEAD {
                        return head_status;
                    }
                    let sig = headers
                        .get("x-trello-webhook")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default();
                    sink.lock().unwrap().push((body, sig.to_owned()));
                    StatusCode::OK
                }
            },
        ),
    );
    (serve(app).await.unwrap(), got)
}

#[tokio::test]
async fn manages_webhooks_and_a_user_change_arrives_signed_and_parsed() {
    let (sb, c, b) = setup().await;
    let (rx, got) = receiver(StatusCode::OK).await;
    let url = format!("{}/webhooks/trello", rx.base_url());
    let hook = c
        .create_webhook(&url, &b.board_id, "leadsync")
        .await
        .unwrap();
    assert_eq!(
        (hook.callback_url.as_str(), hook.id_model.as_str()),
        (url.as_str(), b.board_id.as_str())
    );
    assert!(hook.active);
    let dup = c
        .create_webhook(&url, &b.board_id, "again")
        .await
        .unwrap_err();
    assert!(
        matches!(&dup, ClientError::BadRequest { message, .. } if message.contains("already exists")),
        "{dup}"
    );
    assert_eq!(c.webhooks().await.unwrap(), vec![hook.clone()]);

    let card = sb.user_create_card(&b.lists["New"], "Grace", "").unwrap();
    sb.user_update_card(
        &card,
        &UserCardChange {
            id_list: Some(b.lists["Contacted"].clone()),
            ..Default::default()
        },
    )
    .unwrap();
    assert!(sb.wait_deliveries(Duration::from_secs(10)).await);
    let got = got.lock().unwrap().clone();
    assert_eq!(got.len(), 2);
    let (body, signature) = &got[1];
    assert_eq!(*signature, sign(sb.api_secret(), body, &url));
    let BoardEvent::UpdateCard {
        meta,
        card: moved,
        list_id,
        list_before_id,
        old,
    } = trello_event::parse(body).unwrap()
    else {
        panic!("second delivery is not an updateCard")
    };
    assert_eq!(meta.member_creator_id, sb.user_member_id());
    assert_eq!(meta.board_id.as_deref(), Some(b.board_id.as_str()));
    assert_eq!(moved.id, card);
    assert_eq!(list_id.as_deref(), Some(b.lists["Contacted"].as_str()));
    assert_eq!(list_before_id.as_deref(), Some(b.lists["New"].as_str()));
    assert_eq!(old.list_id.as_deref(), Some(b.lists["New"].as_str()));

    c.delete_webhook(&hook.id).await.unwrap();
    assert!(c.webhooks().await.unwrap().is_empty());
}

#[tokio::test]
async fn webhook_creation_is_refused_when_the_callback_does_not_answer_200() {
    let (_sb, c, b) = setup().await;
    let (rx, _) = receiver(StatusCode::NOT_FOUND).await;
    let url = format!("{}/webhooks/trello", rx.base_url());
    let err = c
        .create_webhook(&url, &b.board_id, "leadsync")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ClientError::BadRequest { status: 400, message, .. } if message.contains("did not return 200")),
        "{err}"
    );
    assert!(c.webhooks().await.unwrap().is_empty());
}

#[tokio::test]
async fn reads_when_a_card_was_last_archived_from_its_actions() {
    let (sb, c, b) = setup().await;
    let card = sb.user_create_card(&b.lists["New"], "Ada", "").unwrap();
    assert_eq!(c.archived_at(&card).await.unwrap(), None, "never archived");
    let set_closed = |closed: bool| {
        let change = UserCardChange {
            closed: Some(closed),
            ..UserCardChange::default()
        };
        sb.user_update_card(&card, &change).unwrap();
    };
    set_closed(true);
    set_closed(false);
    // Trello dates carry milliseconds: the bounds are widened to whole milliseconds.
    let before = chrono::Utc::now() - chrono::Duration::milliseconds(1);
    set_closed(true);
    let after = chrono::Utc::now();
    let at = c.archived_at(&card).await.unwrap().expect("archived");
    assert!(before <= at && at <= after, "the latest archive: {at}");
    let gone = c.archived_at("0123456789abcdef01234567").await;
    assert!(
        matches!(gone, Err(ClientError::NotFound { .. })),
        "{gone:?}"
    );
}

#[tokio::test]
async fn sets_and_clears_several_custom_texts_of_a_card_in_one_call() {
    let (sb, c, _) = setup().await;
    let b = sb.setup_board("More", &["New"], &["Email", "Phone", "Company"]);
    let card = sb.user_create_card(&b.lists["New"], "Ada", "").unwrap();
    let texts = BTreeMap::from([
        (b.fields["Email"].clone(), "ada@example.com".to_owned()),
        (b.fields["Phone"].clone(), "+44 1".to_owned()),
        (b.fields["Company"].clone(), "Zoë & Co".to_owned()),
    ]);
    c.set_custom_texts(&card, &texts).await.unwrap();
    let path = format!("/1/cards/{card}/customFields");
    assert_eq!(sb.gate().calls().count("PUT", &path), 1, "one call");
    assert_eq!(c.card(&card).await.unwrap().custom_texts, texts);

    let clear = BTreeMap::from([
        (b.fields["Phone"].clone(), String::new()),
        (b.fields["Company"].clone(), "Acme".to_owned()),
    ]);
    c.set_custom_texts(&card, &clear).await.unwrap();
    let now = c.card(&card).await.unwrap().custom_texts;
    assert_eq!(
        now,
        BTreeMap::from([
            (b.fields["Email"].clone(), "ada@example.com".to_owned()),
            (b.fields["Company"].clone(), "Acme".to_owned()),
        ]),
        "an empty text clears its field"
    );
    let before = sb.gate().calls().records().len();
    c.set_custom_texts(&card, &BTreeMap::new()).await.unwrap();
    assert_eq!(
        sb.gate().calls().records().len(),
        before,
        "no call for nothing"
    );
    let bad = BTreeMap::from([("not/an/id".to_owned(), "x".to_owned())]);
    let err = c.set_custom_texts(&card, &bad).await.unwrap_err();
    assert!(
        matches!(err, ClientError::BadRequest { status: 0, .. }),
        "{err}"
    );
    let gone = BTreeMap::from([("0123456789abcdef01234567".to_owned(), "x".to_owned())]);
    let err = c.set_custom_texts(&card, &gone).await.unwrap_err();
    assert!(matches!(err, ClientError::NotFound { .. }), "{err}");
}
