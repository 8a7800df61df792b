//! The meta API: the bases the token was granted, a base's tables with their fields and select
//! choices, and creating a field.

use reqwest::Method;
use serde::Deserialize;

use super::wire::{Field, NewFieldType, Table, TablesWire};
use super::{AirtableClient, id};
use crate::clients::http::ClientError;

/// A base the token was granted (`GET /v0/meta/bases`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Base {
    pub id: String,
    pub name: String,
    /// `read`, `comment`, `edit` or `create`.
    #[serde(default)]
    pub permission_level: String,
}

#[derive(Debug, Deserialize)]
struct BasesWire {
    bases: Vec<Base>,
    #[serde(default)]
    offset: Option<String>,
}

/// Pages of bases read at most: a token granted more than 100 × this is not a lead tracker's.
const MAX_BASE_PAGES: usize = 100;

impl AirtableClient {
    /// Every base the token was granted: the one call that tells whether the token itself is
    /// usable (401 when it is not a token, 403 when it lacks `schema.bases:read`). Airtable pages
    /// the list with `offset`.
    pub async fn bases(&self) -> Result<Vec<Base>, ClientError> {
        let url = self.url(&["meta", "bases"]);
        let mut out = Vec::new();
        let mut offset: Option<String> = None;
        for _ in 0..MAX_BASE_PAGES {
            let query: Vec<(&str, String)> = offset.iter().map(|o| ("offset", o.clone())).collect();
            // No base is involved: the empty key paces these calls apart from every base's.
            let page: BasesWire = self.get("", "bases", url.clone(), &query).await?;
            out.extend(page.bases);
            offset = page.offset;
            if offset.is_none() {
                break;
            }
        }
        Ok(out)
    }

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
