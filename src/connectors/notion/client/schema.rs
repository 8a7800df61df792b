//! Databases and data sources: which data sources a database holds, a data source's properties,
//! and adding properties to it (for `check --fix`).

use std::collections::BTreeMap;

use reqwest::Method;
use serde_json::{Value, json};

use super::wire::{DataSource, Database, NewProperty};
use super::{NotionClient, id};
use crate::clients::http::ClientError;

impl NotionClient {
    /// `GET /v1/databases/{id}`: the database and its `data_sources`.
    pub async fn retrieve_database(&self, database_id: &str) -> Result<Database, ClientError> {
        let ep = "retrieve_database";
        let db = id(ep, "database", database_id)?;
        let url = self.url(&["databases", db]);
        self.call(ep, (Method::GET, url), None, true).await
    }

    /// `GET /v1/data_sources/{id}`: its properties by name, with types and options.
    pub async fn retrieve_data_source(
        &self,
        data_source_id: &str,
    ) -> Result<DataSource, ClientError> {
        let ep = "retrieve_data_source";
        let ds = id(ep, "data source", data_source_id)?;
        let url = self.url(&["data_sources", ds]);
        self.call(ep, (Method::GET, url), None, true).await
    }

    /// `PATCH /v1/data_sources/{id}` adding (or retyping) the named properties; answers the
    /// data source as it is afterwards.
    pub async fn update_data_source(
        &self,
        data_source_id: &str,
        properties: &BTreeMap<String, NewProperty>,
    ) -> Result<DataSource, ClientError> {
        let ep = "update_data_source";
        let ds = id(ep, "data source", data_source_id)?;
        let props: serde_json::Map<String, Value> = properties
            .iter()
            .map(|(name, p)| (name.clone(), p.to_wire()))
            .collect();
        let body = json!({ "properties": props });
        let url = self.url(&["data_sources", ds]);
        self.call(ep, (Method::PATCH, url), Some(&body), true).await
    }
}
