//! The batch custom-field endpoint seen with a plain HTTP client: what it changes, what it
//! refuses (changing nothing), and the one action per changed item it records and delivers.

use std::time::Duration;

use serde_json::{Value, json};

use crate::connectors::trello::sandbox::{BoardSetup, SandboxWebhook, TrelloSandbox};

struct Env {
    sb: TrelloSandbox,
    b: BoardSetup,
    card: String,
    http: reqwest::Client,
}

async fn env() -> Env {
    let sb = TrelloSandbox::start().await.unwrap();
    let b = sb.setup_board("Leads", &["New"], &["Email", "Phone", "Company"]);
    let card = sb.user_create_card(&b.lists["New"], "Ada", "").unwrap();
    Env {
        sb,
        b,
        card,
        http: reqwest::Client::new(),
    }
}

impl Env {
    async fn put(&self, card: &str, body: Value) -> (u16, String) {
        let url = format!("{}/cards/{card}/customFields", self.sb.api_base());
        let auth = format!(
            r#"OAuth oauth_consumer_key="{}", oauth_token="{}""#,
            self.sb.api_key(),
            self.sb.api_token()
        );
        let r = self
            .http
            .put(url)
            .header("authorization", auth)
            .json(&body)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    fn field(&self, name: &str) -> String {
        self.b.fields[name].clone()
    }

    fn texts(&self) -> Vec<(String, String)> {
        let card = self.sb.card(&self.card).unwrap();
        let name = |id: &str| self.b.fields.iter().find(|(_, v)| *v == id).unwrap().0;
        let mut texts: Vec<(String, String)> = card
            .custom_texts
            .iter()
            .map(|(id, t)| (name(id).clone(), t.clone()))
            .collect();
        texts.sort();
        texts
    }

    /// The `updateCustomFieldItem` actions recorded on the card: (field name, new text).
    fn item_actions(&self) -> Vec<(String, Value)> {
        let m = self.sb.core.lock();
        m.card_actions
            .get(&self.card)
            .into_iter()
            .flatten()
            .filter(|a| a["type"] == "updateCustomFieldItem")
            .map(|a| {
                let d = &a["data"];
                let name = d["customField"]["name"].as_str().unwrap().to_owned();
                (name, d["customFieldItem"]["value"].clone())
            })
            .collect()
    }
}

fn item(field: &str, text: &str) -> Value {
    json!({"idCustomField": field, "value": {"text": text}})
}

#[tokio::test]
async fn sets_and_clears_several_fields_with_one_action_per_changed_item() {
    let e = env().await;
    e.sb.user_set_custom_field(&e.card, &e.field("Company"), "Acme")
        .unwrap();
    let body = json!({"customFieldItems": [
        item(&e.field("Email"), "ada@example.com"),
        item(&e.field("Phone"), "+44 1"),
        item(&e.field("Company"), "Acme"),
    ]});
    let (status, answer) = e.put(&e.card, body.clone()).await;
    assert_eq!(status, 200, "{answer}");
    let answer: Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(answer.as_array().map(Vec::len), Some(3), "{answer}");
    assert_eq!(answer[0]["value"], json!({"text": "ada@example.com"}));
    assert_eq!(answer[0]["idModel"], e.card.as_str());
    assert_eq!(
        e.texts(),
        [
            ("Company".into(), "Acme".into()),
            ("Email".into(), "ada@example.com".into()),
            ("Phone".into(), "+44 1".into())
        ]
    );
    let acts = e.item_actions();
    assert_eq!(
        acts.len(),
        3,
        "the user's Company, then Email and Phone: {acts:?}"
    );
    assert_eq!(
        acts[1],
        ("Email".into(), json!({"text": "ada@example.com"}))
    );
    assert_eq!(acts[2], ("Phone".into(), json!({"text": "+44 1"})));

    // The same PUT again changes nothing and records nothing: a retry is safe.
    assert_eq!(e.put(&e.card, body).await.0, 200);
    assert_eq!(e.item_actions().len(), 3);

    let clear = json!({"customFieldItems": [
        {"idCustomField": e.field("Email"), "value": ""},
        {"idCustomField": e.field("Phone"), "value": {}},
    ]});
    assert_eq!(e.put(&e.card, clear).await.0, 200);
    assert_eq!(e.texts(), [("Company".into(), "Acme".into())]);
    let acts = e.item_actions();
    assert_eq!(acts.len(), 5);
    assert_eq!(acts[3], ("Email".into(), Value::Null));
}

#[tokio::test]
async fn a_bad_item_fails_the_whole_batch_and_changes_nothing() {
    let e = env().await;
    let other = e.sb.setup_board("Other", &["New"], &["Email"]);
    let email = e.field("Email");
    let cases = [
        (json!({}), 400, "invalid value for customFieldItems"),
        (
            json!({"customFieldItems": {}}),
            400,
            "invalid value for customFieldItems",
        ),
        (
            json!({"customFieldItems": ["x"]}),
            400,
            "invalid value for customFieldItems",
        ),
        (
            json!({"customFieldItems": [{"value": {"text": "a"}}]}),
            400,
            "invalid value for idCustomField",
        ),
        (
            json!({"customFieldItems": [item(&email, "a"), {"idCustomField": e.field("Phone"), "value": {"number": "3"}}]}),
            400,
            "invalid value for value",
        ),
        (
            json!({"customFieldItems": [item(&email, "a"), {"idCustomField": e.field("Phone")}]}),
            400,
            "invalid value for value",
        ),
        (
            json!({"customFieldItems": [item(&email, "a"), item(&email, "b")]}),
            400,
            "invalid value for customFieldItems",
        ),
        (
            json!({"customFieldItems": [item(&email, &"x".repeat(16385))]}),
            400,
            "invalid value for value",
        ),
        (
            json!({"customFieldItems": [item(&email, "a"), item(&other.fields["Email"], "b")]}),
            404,
            "The requested resource was not found.",
        ),
        (
            json!({"customFieldItems": [item(&email, "a"), item("0123456789abcdef01234567", "b")]}),
            404,
            "The requested resource was not found.",
        ),
    ];
    for (body, status, message) in cases {
        let answer = e.put(&e.card, body.clone()).await;
        assert_eq!(answer, (status, message.to_owned()), "{body}");
    }
    assert!(e.texts().is_empty(), "nothing was applied");
    assert!(e.item_actions().is_empty());
    let gone = e
        .put("0123456789abcdef01234567", json!({"customFieldItems": []}))
        .await;
    assert_eq!(gone.0, 404);
    assert_eq!(
        e.put("not-an-id", json!({"customFieldItems": []})).await.0,
        400
    );
    let empty = e.put(&e.card, json!({"customFieldItems": []})).await;
    assert_eq!(
        empty,
        (200, "[]".to_owned()),
        "an empty batch changes nothing"
    );
}

#[tokio::test]
async fn each_changed_item_is_delivered_to_the_board_s_webhooks() {
    let e = env().await;
    {
        let mut m = e.sb.core.lock();
        let id = m.new_id();
        m.webhooks.push(SandboxWebhook {
            id,
            description: String::new(),
            id_model: e.b.board_id.clone(),
            callback_url: "http://127.0.0.1:9/webhooks/trello".into(),
            active: true,
            token: e.sb.api_token().to_owned(),
        });
    }
    e.sb.drop_deliveries(true);
    let body = json!({"customFieldItems": [
        item(&e.field("Email"), "ada@example.com"),
        item(&e.field("Company"), "Acme"),
    ]});
    assert_eq!(e.put(&e.card, body).await.0, 200);
    assert!(e.sb.wait_deliveries(Duration::from_secs(5)).await);
    let kinds: Vec<String> =
        e.sb.deliveries()
            .into_iter()
            .map(|d| d.action_type)
            .collect();
    assert_eq!(kinds, ["updateCustomFieldItem", "updateCustomFieldItem"]);
    let m = e.sb.core.lock();
    let creators: Vec<&str> = m.card_actions[&e.card]
        .iter()
        .filter(|a| a["type"] == "updateCustomFieldItem")
        .filter_map(|a| a["idMemberCreator"].as_str())
        .collect();
    assert_eq!(
        creators,
        [e.sb.api_member_id(); 2],
        "made by the token's member"
    );
}
