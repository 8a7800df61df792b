//! The emulator's wire behaviour seen with a plain HTTP client: auth, error bodies, deliveries.

use std::time::Duration;

use serde_json::{Value, json};

use super::*;

async fn started() -> (TrelloSandbox, BoardSetup) {
    let sb = TrelloSandbox::start().await.unwrap();
    let board = sb.setup_board("Leads", &["New", "Won"], &["Email"]);
    (sb, board)
}

fn oauth(sb: &TrelloSandbox) -> String {
    format!(
        r#"OAuth oauth_consumer_key="{}", oauth_token="{}""#,
        sb.api_key(),
        sb.api_token()
    )
}

#[tokio::test]
async fn answers_auth_failures_with_trello_plain_text_bodies() {
    let (sb, _) = started().await;
    let http = reqwest::Client::new();
    let url = format!("{}/members/me", sb.api_base());
    let wrong = format!(
        r#"OAuth oauth_consumer_key="{}", oauth_token="nope""#,
        sb.api_key()
    );
    let r = http
        .get(&url)
        .header("authorization", wrong)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.text().await.unwrap(), "invalid token");
    let r = http.get(&url).send().await.unwrap();
    assert_eq!(
        (r.status().as_u16(), r.text().await.unwrap()),
        (401, "invalid key".to_owned())
    );
    let query = format!("{url}?key={}&token={}", sb.api_key(), sb.api_token());
    let me: Value = http.get(query).send().await.unwrap().json().await.unwrap();
    assert_eq!(me["id"], sb.api_member_id());
}

#[tokio::test]
async fn answers_bad_ids_and_values_like_trello() {
    let (sb, b) = started().await;
    let http = reqwest::Client::new();
    let get = |path: String| {
        http.get(format!("{}{path}", sb.api_base()))
            .header("authorization", oauth(&sb))
            .send()
    };
    let r = get("/cards/not-an-id".into()).await.unwrap();
    assert_eq!(
        (r.status().as_u16(), r.text().await.unwrap()),
        (400, "invalid id".to_owned())
    );
    let r = get("/cards/0123456789abcdef01234567".into()).await.unwrap();
    assert_eq!(
        (r.status().as_u16(), r.text().await.unwrap()),
        (404, NOT_FOUND.to_owned())
    );
    let body = json!({"idList": "0123456789abcdef01234567", "name": "x"});
    let url = format!("{}/cards", sb.api_base());
    let r = http
        .post(url)
        .header("authorization", oauth(&sb))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(
        (r.status().as_u16(), r.text().await.unwrap()),
        (400, "invalid value for idList".to_owned())
    );
    let lists: Value = get(format!("/boards/{}/lists", b.board_id))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(lists[1]["name"], "Won");
    assert_eq!(lists[1]["idBoard"], b.board_id.as_str());
}

#[tokio::test]
async fn enforces_the_token_quota_with_429() {
    let quotas = SandboxQuotas {
        per_token: Some(Quota {
            max_requests: 3,
            per: Duration::from_secs(60),
        }),
        per_key: None,
    };
    let sb = TrelloSandbox::start_with(quotas).await.unwrap();
    let http = reqwest::Client::new();
    let url = format!("{}/members/me", sb.api_base());
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(
            http.get(&url)
                .header("authorization", oauth(&sb))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16(),
        );
    }
    assert_eq!(statuses, [200, 200, 200, 429]);
}

#[tokio::test]
async fn dropped_deliveries_are_recorded_but_not_sent() {
    let (sb, b) = started().await;
    let card = sb.user_create_card(&b.lists["New"], "Ada", "").unwrap();
    // No webhook yet: nothing is queued for this change.
    assert!(sb.wait_deliveries(Duration::from_secs(5)).await);
    assert!(sb.deliveries().is_empty());
    {
        let mut m = sb.core.lock();
        let id = m.new_id();
        m.webhooks.push(SandboxWebhook {
            id,
            description: String::new(),
            id_model: b.board_id.clone(),
            callback_url: "http://127.0.0.1:9/webhooks/trello".into(),
            active: true,
            token: sb.api_token().to_owned(),
        });
    }
    sb.drop_deliveries(true);
    sb.user_set_custom_field(&card, &b.fields["Email"], "ada@example.com")
        .unwrap();
    sb.user_delete_card(&card).unwrap();
    assert!(sb.wait_deliveries(Duration::from_secs(5)).await);
    let records = sb.deliveries();
    let kinds: Vec<&str> = records.iter().map(|r| r.action_type.as_str()).collect();
    assert_eq!(kinds, ["updateCustomFieldItem", "deleteCard"]);
    assert!(records.iter().all(|r| r.dropped && r.status.is_none()));
}

#[tokio::test]
async fn user_changes_update_the_inspected_state() {
    let (sb, b) = started().await;
    let card = sb
        .user_create_card(&b.lists["New"], "Ada", "notes")
        .unwrap();
    let change = UserCardChange {
        name: Some("Ada L".into()),
        id_list: Some(b.lists["Won"].clone()),
        closed: Some(true),
        ..Default::default()
    };
    sb.user_update_card(&card, &change).unwrap();
    sb.user_set_custom_field(&card, &b.fields["Email"], "a@b.c")
        .unwrap();
    let c = sb.card(&card).unwrap();
    assert_eq!(
        (c.name.as_str(), c.id_list.as_str(), c.closed),
        ("Ada L", b.lists["Won"].as_str(), true)
    );
    assert_eq!(c.custom_texts[&b.fields["Email"]], "a@b.c");
    let list = sb.user_create_list(&b.board_id, "Lost").unwrap();
    assert!(
        sb.lists(&b.board_id)
            .iter()
            .any(|l| l.id == list && l.name == "Lost")
    );
    let bad = UserCardChange {
        id_list: Some("0123456789abcdef01234567".into()),
        ..Default::default()
    };
    assert_eq!(
        sb.user_update_card(&card, &bad).unwrap_err(),
        ApiError::invalid("idList")
    );
}

#[tokio::test]
async fn serves_a_cards_actions_newest_first_by_type_and_changed_field() {
    let (sb, b) = started().await;
    let card = sb.user_create_card(&b.lists["New"], "Ada", "").unwrap();
    for change in [
        UserCardChange {
            closed: Some(true),
            ..Default::default()
        },
        UserCardChange {
            name: Some("Ada L".into()),
            closed: Some(false),
            ..Default::default()
        },
    ] {
        sb.user_update_card(&card, &change).unwrap();
    }
    let http = reqwest::Client::new();
    let get = |path: String| {
        http.get(format!("{}{path}", sb.api_base()))
            .header("authorization", oauth(&sb))
            .send()
    };
    let actions = |filter: &'static str| {
        let r = get(format!("/cards/{card}/actions?filter={filter}"));
        async move { r.await.unwrap().json::<Vec<Value>>().await.unwrap() }
    };
    let closed = actions("updateCard:closed").await;
    let flags: Vec<(&Value, &Value)> = closed
        .iter()
        .map(|a| (&a["data"]["card"]["closed"], &a["data"]["old"]["closed"]))
        .collect();
    assert_eq!(
        flags,
        [(&json!(false), &json!(true)), (&json!(true), &json!(false))]
    );
    assert!(
        closed
            .iter()
            .all(|a| a["type"] == "updateCard" && a["date"].is_string())
    );
    assert_eq!(
        actions("updateCard").await.len(),
        3,
        "name and closed twice"
    );
    assert_eq!(actions("createCard,updateCard:name").await.len(), 2);
    let unknown = get("/cards/0123456789abcdef01234567/actions".into())
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    let url = format!("{}/cards/{card}/actions", sb.api_base());
    assert_eq!(http.get(url).send().await.unwrap().status(), 401);
}

#[tokio::test]
async fn an_update_s_id_labels_replace_the_card_s_labels_with_an_action_per_label() {
    let (sb, b) = started().await;
    let card = sb.user_create_card(&b.lists["New"], "Ada", "").unwrap();
    let hot = sb
        .user_create_label(&b.board_id, "Hot", Some("red"))
        .unwrap();
    let vip = sb.user_create_label(&b.board_id, "VIP", None).unwrap();
    sb.user_card_label(&card, &hot, true).unwrap();
    let http = reqwest::Client::new();
    let put = |body: Value| {
        http.put(format!("{}/cards/{card}", sb.api_base()))
            .header("authorization", oauth(&sb))
            .json(&body)
            .send()
    };
    let r = put(json!({"idLabels": vip.clone()})).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(sb.card_label_names(&card), ["VIP"]);
    let kinds: Vec<Value> = (sb.card_actions(&card).iter().rev().take(2))
        .map(|a| json!([a["type"], a["data"]["label"]["name"], a["idMemberCreator"]]))
        .collect();
    let me = sb.api_member_id();
    assert_eq!(
        kinds,
        [
            json!(["addLabelToCard", "VIP", me]),
            json!(["removeLabelFromCard", "Hot", me])
        ]
    );
    let r = put(json!({"idLabels": "not-a-label"})).await.unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(
        sb.card_label_names(&card),
        ["VIP"],
        "a bad set changes nothing"
    );
    put(json!({"idLabels": ""})).await.unwrap();
    assert!(sb.card_label_names(&card).is_empty());
}
