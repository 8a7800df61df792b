//! What the webhook handlers need from the configuration: the two verifiers and the table that
//! routes an event to its pair. Built once at start-up; Trello callback URLs can be refreshed
//! after a webhook is registered.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use secrecy::{ExposeSecret, SecretString};

use crate::config::Settings;
use crate::inbound::TRELLO_PATH;
use crate::inbound::signature::{
    KeyError, RouteKey, SheetsVerifier, StandardWebhooksKey, TrelloVerifier,
};
use crate::store::{Db, StoreError, inbox};

pub struct Ingress {
    trello_secret: SecretString,
    current_callback: String,
    /// `None` while `trello.api_secret` is empty: nothing can be verified then.
    trello: RwLock<Option<Arc<TrelloVerifier>>>,
    sheets: Option<SheetsVerifier>,
    /// Board id → every pair and mirror of that board, in config order.
    boards: HashMap<String, Vec<String>>,
    /// (spreadsheet id, sheet name lower-cased, pair)
    sheet_routes: Vec<(String, String, String)>,
}

impl std::fmt::Debug for Ingress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ingress")
            .field("current_callback", &self.current_callback)
            .field("boards", &self.boards)
            .field("sheet_routes", &self.sheet_routes)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum IngressError {
    #[error("apps_script.secret: {0}")]
    AppsScriptSecret(KeyError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Ingress {
    /// Reads the callback URLs of webhooks registered earlier from the database.
    pub async fn load(settings: &Settings, db: &Db) -> Result<Self, IngressError> {
        let sheets = if settings.apps_script.secret.expose_secret().is_empty() {
            None
        } else {
            let key = StandardWebhooksKey::from_secret(&settings.apps_script.secret)
                .map_err(IngressError::AppsScriptSecret)?;
            Some(SheetsVerifier::new(
                key,
                settings.apps_script.tolerance_secs,
            ))
        };
        let mut boards: HashMap<String, Vec<String>> = HashMap::new();
        let mirror_boards =
            (settings.mirrors.iter()).flat_map(|m| [(&m.board_a, &m.name), (&m.board_b, &m.name)]);
        let pair_boards = settings.pairs.iter().map(|p| (&p.board_id, &p.name));
        for (board, name) in pair_boards.chain(mirror_boards) {
            boards.entry(board.clone()).or_default().push(name.clone());
        }
        let sheet_routes = settings
            .pairs
            .iter()
            .map(|p| {
                let sheet = p.sheet.trim().to_lowercase();
                (p.spreadsheet_id.clone(), sheet, p.name.clone())
            })
            .collect();
        let ingress = Self {
            trello_secret: settings.trello.api_secret.clone(),
            current_callback: format!("{}{TRELLO_PATH}", settings.server.public_url),
            trello: RwLock::new(None),
            sheets,
            boards,
            sheet_routes,
        };
        ingress.refresh_callback_urls(db).await?;
        Ok(ingress)
    }

    /// Re-reads the registered callback URLs; call after registering a webhook.
    pub async fn refresh_callback_urls(&self, db: &Db) -> Result<(), StoreError> {
        let mut urls = vec![self.current_callback.clone()];
        for url in inbox::registered_callback_urls(&db.pool).await? {
            if !urls.contains(&url) {
                urls.push(url);
            }
        }
        // An empty secret is the only way construction fails; verification is then refused.
        let verifier = TrelloVerifier::new(&self.trello_secret, urls)
            .ok()
            .map(Arc::new);
        *self.trello.write().unwrap_or_else(|e| e.into_inner()) = verifier;
        Ok(())
    }

    /// `{public_url}/webhooks/trello`: the callback URL new webhooks are registered with.
    pub fn trello_callback_url(&self) -> &str {
        &self.current_callback
    }

    pub fn trello(&self) -> Option<Arc<TrelloVerifier>> {
        self.trello
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn sheets(&self) -> Option<&SheetsVerifier> {
        self.sheets.as_ref()
    }

    /// The configured pair an event belongs to, if any. Sheet names compare like Google does:
    /// ignoring case.
    pub fn pair_for(&self, route: &RouteKey) -> Option<&str> {
        self.routes_for(route).into_iter().next()
    }

    /// Every pair and mirror an event goes to: a board's action to each pair and mirror of the
    /// board (stored once per route), a sheet's event to its pair.
    pub fn routes_for(&self, route: &RouteKey) -> Vec<&str> {
        match route {
            RouteKey::Board { board_id } => (self.boards.get(board_id).into_iter().flatten())
                .map(String::as_str)
                .collect(),
            RouteKey::Sheet {
                spreadsheet_id,
                sheet,
            } => {
                let sheet = sheet.trim().to_lowercase();
                self.sheet_routes
                    .iter()
                    .find(|(id, name, _)| id == spreadsheet_id && *name == sheet)
                    .map(|(_, _, pair)| pair.as_str())
                    .into_iter()
                    .collect()
            }
        }
    }
}
