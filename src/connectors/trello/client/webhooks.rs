//! The Trello client's webhook calls: register one, list the token's, delete one.

use reqwest::header::AUTHORIZATION;
use secrecy::ExposeSecret;
use serde_json::json;

use super::wire::WireWebhook;
use super::{ClientError, TrelloClient, Webhook, id_segment};

impl TrelloClient {
    pub async fn create_webhook(
        &self,
        callback_url: &str,
        id_model: &str,
        description: &str,
    ) -> Result<Webhook, ClientError> {
        let body =
            json!({"callbackURL": callback_url, "idModel": id_model, "description": description});
        let url = self.url("/webhooks");
        let w: WireWebhook = self
            .write("create_webhook", reqwest::Method::POST, url, &body)
            .await?;
        Ok(w.into())
    }

    /// The webhooks registered with this token (on every model).
    pub async fn webhooks(&self) -> Result<Vec<Webhook>, ClientError> {
        let token = id_segment("list_webhooks", self.token.expose_secret())?;
        let url = self.url(&format!("/tokens/{token}/webhooks"));
        let w: Vec<WireWebhook> = self.get("list_webhooks", url, &[]).await?;
        Ok(w.into_iter().map(Into::into).collect())
    }

    pub async fn delete_webhook(&self, webhook_id: &str) -> Result<(), ClientError> {
        let url = self.url(&format!(
            "/webhooks/{}",
            id_segment("delete_webhook", webhook_id)?
        ));
        let auth = self.auth.clone();
        self.api
            .send("delete_webhook", |c| {
                c.delete(&url).header(AUTHORIZATION, auth.clone())
            })
            .await?;
        Ok(())
    }
}
