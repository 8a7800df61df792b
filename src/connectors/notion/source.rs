//! A Notion pair's data source: found at start-up from `database_id` (API 2025-09-03: a database
//! holds data sources, and pages live in one), or named by `data_source_id`; its properties read
//! once and remembered (read again when a write names a property the remembered ones lack); and
//! the integration's bot user id, asked once per start.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::clients::http::ClientError;
use crate::config::PairSettings;
use crate::connectors::notion::client::{
    DataSource, NotionClient, Page, PropertySchema, compact_id,
};

/// The data sources of the Notion pairs, by pair name. Cheap to clone.
#[derive(Clone)]
pub struct Sources {
    client: NotionClient,
    cache: Arc<Mutex<HashMap<String, Arc<DataSource>>>>,
    bot: Arc<tokio::sync::OnceCell<String>>,
}

impl Sources {
    pub fn new(client: NotionClient) -> Self {
        Self {
            client,
            cache: Arc::default(),
            bot: Arc::default(),
        }
    }

    /// The integration's bot user id (compact), asked once (`GET /v1/users/me`) and remembered;
    /// a failed ask is asked again next time. Pages name their last editor by id only, so this
    /// is how a page leadsync wrote last is told from a person's.
    pub async fn bot_id(&self) -> Result<&str, ClientError> {
        let id = (self.bot)
            .get_or_try_init(|| async {
                let me = self.client.retrieve_bot_user().await?;
                Ok::<_, ClientError>(compact_id(&me.id))
            })
            .await?;
        Ok(id.as_str())
    }

    pub fn client(&self) -> &NotionClient {
        &self.client
    }

    /// The pair's data source as remembered, else read.
    pub async fn get(&self, pair: &PairSettings) -> Result<Arc<DataSource>, ClientError> {
        if let Some(ds) = self.lock().get(&pair.name) {
            return Ok(ds.clone());
        }
        self.refresh(pair).await
    }

    /// The pair's data source read now (and remembered).
    pub async fn refresh(&self, pair: &PairSettings) -> Result<Arc<DataSource>, ClientError> {
        let id = data_source_id(&self.client, pair).await?;
        let ds = Arc::new(self.client.retrieve_data_source(&id).await?);
        self.lock().insert(pair.name.clone(), ds.clone());
        Ok(ds)
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Arc<DataSource>>> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The configured data source, or the one data source of the configured database. A database
/// with several is refused naming them: the pair must say which (`data_source_id`).
pub async fn data_source_id(
    client: &NotionClient,
    pair: &PairSettings,
) -> Result<String, ClientError> {
    if let Some(id) = pair
        .data_source_id
        .as_deref()
        .filter(|i| !i.trim().is_empty())
    {
        return Ok(id.trim().to_owned());
    }
    let db_id = pair.database_id.as_deref().unwrap_or_default().trim();
    let db = client.retrieve_database(db_id).await?;
    match db.data_sources.as_slice() {
        [one] => Ok(one.id.clone()),
        [] => Err(ClientError::Config(format!(
            "Notion database {db_id} has no data source (pair {})",
            pair.name
        ))),
        several => {
            let names: Vec<String> = several
                .iter()
                .map(|d| format!("{} (\"{}\")", d.id, d.name))
                .collect();
            Err(ClientError::Config(format!(
                "Notion database {db_id} holds {} data sources: set pairs.data_source_id \
                 (pair {}) to one of {}",
                several.len(),
                pair.name,
                names.join(", ")
            )))
        }
    }
}

/// The property a header names (case and surrounding spaces ignored, as columns match).
pub fn property<'a>(ds: &'a DataSource, header: &str) -> Option<&'a PropertySchema> {
    let wanted = header.trim().to_lowercase();
    (ds.properties.iter())
        .find(|(name, _)| name.trim().to_lowercase() == wanted)
        .map(|(_, p)| p)
}

/// A page's properties as text by name (plain text; formatting is not kept).
pub fn page_cells(page: &Page) -> BTreeMap<String, String> {
    (page.properties.iter())
        .map(|(name, v)| (name.clone(), v.text.clone()))
        .collect()
}

/// The page's cell under a header (case-insensitive); empty when the page has no such property.
pub fn cell<'a>(page: &'a Page, header: &str) -> &'a str {
    let wanted = header.trim().to_lowercase();
    (page.properties.iter())
        .find(|(name, _)| name.trim().to_lowercase() == wanted)
        .map_or("", |(_, v)| v.text.as_str())
}

/// True for a Notion page id as a lead id (32 hex digits); leadsync's own ids are `L…`.
pub fn is_page_id(id: &str) -> bool {
    id.len() == 32 && id.chars().all(|c| c.is_ascii_hexdigit())
}

/// Two Notion ids name the same object (dashes and case aside).
pub fn same_id(a: &str, b: &str) -> bool {
    compact_id(a) == compact_id(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_page_ids_are_taken_for_pages_and_ids_compare_without_dashes() {
        assert!(is_page_id("1a2b3c4d5e6f708192a3b4c5d6e7f809"));
        assert!(!is_page_id("L0123456789ab"));
        assert!(!is_page_id("1a2b3c4d-5e6f-7081-92a3-b4c5d6e7f809"));
        assert!(same_id(
            "1A2B3C4D-5E6F-7081-92A3-B4C5D6E7F809",
            "1a2b3c4d5e6f708192a3b4c5d6e7f809"
        ));
    }
}
