//! Scaffolding for the webhook ingress tests: an app with secrets and one pair configured, the
//! signers a real Trello and Apps Script would use, and inbox queries.

use leadsync::app::{App, EngineMode};
use leadsync::config::{self, Sources};
use leadsync::inbound::signature::{StandardWebhooksKey, TrelloVerifier};
use secrecy::SecretString;

use crate::helpers::TestApp;

pub const TRELLO_SECRET: &str = "trello-app-secret";
pub const SHEETS_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
pub const PUBLIC_URL: &str = "https://sync.example.com";
pub const CALLBACK: &str = "https://sync.example.com/webhooks/trello";
pub const BOARD: &str = "board-1";
pub const SPREADSHEET: &str = "spreadsheet-1";
pub const SHEET: &str = "Leads";

/// The config file text for an app whose database lives in `dir`.
pub fn config_toml(dir: &std::path::Path, max_body_bytes: usize) -> String {
    format!(
        r#"
[server]
bind = "127.0.0.1:0"
public_url = "{PUBLIC_URL}"
max_body_bytes = {max_body_bytes}

[database]
url = "{db}"

[trello]
api_base = "http://127.0.0.1:9/1"
api_secret = "{TRELLO_SECRET}"

[google]
sheets_api_base = "http://127.0.0.1:9/v4"

[apps_script]
secret = "{SHEETS_SECRET}"

[sync]
on_card_archived = "ignore"

[[pairs]]
name = "default"
spreadsheet_id = "{SPREADSHEET}"
sheet = "{SHEET}"
board_id = "{BOARD}"

[pairs.status_lists]
New = "New"
"#,
        db = crate::helpers::database_url(dir)
    )
}

pub async fn spawn_ingress_app() -> TestApp {
    spawn_ingress_app_limited(1_048_576).await
}

pub async fn spawn_ingress_app_limited(max_body_bytes: usize) -> TestApp {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("leadsync.toml");
    std::fs::write(&file, config_toml(dir.path(), max_body_bytes)).expect("write config");
    let settings = config::load(&Sources {
        file: Some(file),
        ..Sources::default()
    })
    .expect("valid config");
    let app = App::build_with(settings, EngineMode::Off)
        .await
        .expect("app builds");
    crate::helpers::run(app, dir)
}

pub fn trello_signer() -> TrelloVerifier {
    TrelloVerifier::new(&SecretString::from(TRELLO_SECRET), vec![]).expect("key")
}

pub fn sheets_key() -> StandardWebhooksKey {
    StandardWebhooksKey::from_secret(&SecretString::from(SHEETS_SECRET)).expect("key")
}

pub fn trello_action(action_id: &str, board_id: &str) -> String {
    format!(
        r#"{{"action":{{"id":"{action_id}","idMemberCreator":"member-1","type":"updateCard","date":"2026-11-21T10:15:02.123Z","data":{{"card":{{"id":"c1","name":"Ada"}},"board":{{"id":"{board_id}"}}}}}},"model":{{"id":"{board_id}","name":"Leads"}}}}"#
    )
}

pub fn sheets_edit(spreadsheet: &str, name: &str) -> String {
    format!(
        r#"{{"spreadsheet_id":"{spreadsheet}","sheet":"{SHEET}","kind":"edit","edited_at":"2026-11-21T10:15:02.123Z","rows":[{{"row":2,"values":{{"Lead ID":"","Name":"{name}","Status":"New"}}}}]}}"#
    )
}

pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

impl TestApp {
    pub async fn post_trello(&self, body: &str, signature: Option<&str>) -> reqwest::Response {
        self.post_trello_bytes(body.as_bytes(), signature).await
    }

    /// As [`TestApp::post_trello`], for bodies that need not be UTF-8.
    pub async fn post_trello_bytes(
        &self,
        body: &[u8],
        signature: Option<&str>,
    ) -> reqwest::Response {
        let mut request = self
            .client
            .post(self.url("/webhooks/trello"))
            .header("content-type", "application/json")
            .body(body.to_owned());
        if let Some(signature) = signature {
            request = request.header("x-trello-webhook", signature);
        }
        request.send().await.expect("request")
    }

    /// Signed as Trello would for the configured callback URL.
    pub async fn post_signed_trello(&self, body: &str) -> reqwest::Response {
        self.post_signed_trello_bytes(body.as_bytes()).await
    }

    pub async fn post_signed_trello_bytes(&self, body: &[u8]) -> reqwest::Response {
        let signature = trello_signer().sign(body, CALLBACK);
        self.post_trello_bytes(body, Some(&signature)).await
    }

    pub async fn post_sheets(&self, body: &str, headers: &[(&str, &str)]) -> reqwest::Response {
        self.post_sheets_bytes(body.as_bytes(), headers).await
    }

    /// As [`TestApp::post_sheets`], for bodies that need not be UTF-8.
    pub async fn post_sheets_bytes(
        &self,
        body: &[u8],
        headers: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut request = self
            .client
            .post(self.url("/webhooks/sheets"))
            .header("content-type", "application/json")
            .body(body.to_owned());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().await.expect("request")
    }

    /// Signed now, as the Apps Script does on every attempt.
    pub async fn post_signed_sheets(&self, id: &str, body: &str) -> reqwest::Response {
        self.post_signed_sheets_bytes(id, body.as_bytes()).await
    }

    pub async fn post_signed_sheets_bytes(&self, id: &str, body: &[u8]) -> reqwest::Response {
        let ts = now();
        let signature = sheets_key().sign(id, ts, body);
        let ts = ts.to_string();
        let headers = [
            ("webhook-id", id),
            ("webhook-timestamp", ts.as_str()),
            ("webhook-signature", signature.as_str()),
        ];
        self.post_sheets_bytes(body, &headers).await
    }

    pub async fn inbox_rows(&self) -> Vec<(String, String, String, Vec<u8>)> {
        sqlx::query_as("SELECT source, dedupe_key, pair, body FROM inbox ORDER BY id")
            .fetch_all(&self.state.db.pool)
            .await
            .expect("inbox query")
    }
}

/// Status and JSON body of a response.
pub async fn status_and_json(response: reqwest::Response) -> (u16, serde_json::Value) {
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(serde_json::Value::Null);
    (status, body)
}
