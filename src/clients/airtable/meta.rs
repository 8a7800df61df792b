//! The meta API: a base's tables with their fields and select choices, and creating a field.

use reqwest::Method;

use super::wire::{Field, NewFieldType, Table, TablesWire};
use super::{AirtableClient, id};
use crate::clients::http::ClientError;

impl AirtableClient {
    /// Every table of the base with its fields (id, name, type, choices).
    pub async fn tables(&self, base_id: &str) -> Result<Vec<Table>, ClientError> {
        let base = id("tables", "base", base_id)?;
        let url = self.url(&["meta", "bases", base, "tables"]);
        let w: TablesWire = self.get(base, "tables", url, &[]).await?;
        Ok(w.tables)
    }

    /// The table with this id, or else with this name (ignoring case and surrounding spaces).
    pub async fn table(&self, base_id: &str, table: &str) -> Result<Option<Table>, ClientError> {
        let tables = self.tables(base_id).await?;
        let wanted = table.trim().to_lowercase();
        let found = (tables.iter().position(|t| t.id == table))
            .or_else(|| (tables.iter()).position(|t| t.name.trim().to_lowercase() == wanted));
        Ok(found.and_then(|i| tables.into_iter().nth(i)))
    }

    /// Adds a field to the table (by id, as the meta API wants it); answers the new field.
    /// Not retried on an unknown outcome: a second request would fail on the name, or add twice.
    pub async fn create_field(
        &self,
        base_id: &str,
        table_id: &str,
        name: &str,
        field_type: &NewFieldType,
    ) -> Result<Field, ClientError> {
        let endpoint = "create_field";
        let base = id(endpoint, "base", base_id)?;
        let table = id(endpoint, "table", table_id)?;
        let url = self.url(&["meta", "bases", base, "tables", table, "fields"]);
        let body = field_type.body(name);
        self.send(base, endpoint, (Method::POST, url), Some(&body), false)
            .await
    }
}
