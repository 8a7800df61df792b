//! Pages: the data-source query (every page edited on or after a time, all pages of results),
//! one page, creating a page under a data source, updating its properties, and the trash.

use chrono::{DateTime, SecondsFormat, Utc};
use reqwest::Method;
use serde_json::{Value, json};

use super::wire::{Page, Properties, QueryPage, properties_to_wire};
use super::{NotionClient, id, invalid};
use crate::clients::http::ClientError;

/// The largest page of query results Notion answers.
pub const PAGE_SIZE: u32 = 100;

impl NotionClient {
    /// `POST /v1/data_sources/{id}/query`, oldest edit first, following `next_cursor` until
    /// `has_more` is false: either every matching page or an error, never a part. With `since`,
    /// only pages whose `last_edited_time` is on or after it; Notion rounds that time down to the
    /// minute, so a caller polling from its last poll subtracts a minute itself.
    pub async fn query_data_source(
        &self,
        data_source_id: &str,
        since: Option<DateTime<Utc>>,
    ) -> Result<Vec<Page>, ClientError> {
        let ep = "query_data_source";
        let ds = id(ep, "data source", data_source_id)?;
        let url = self.url(&["data_sources", ds, "query"]);
        let mut pages = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let body = query_body(since, cursor.as_deref());
            let page: QueryPage = self
                .call(ep, (Method::POST, url.clone()), Some(&body), true)
                .await?;
            pages.extend(page.results);
            match page.next_cursor {
                Some(next) if page.has_more => cursor = Some(next),
                _ => return Ok(pages),
            }
        }
    }

    /// `GET /v1/pages/{id}`; a trashed page is answered too, with `in_trash`.
    pub async fn retrieve_page(&self, page_id: &str) -> Result<Page, ClientError> {
        let ep = "retrieve_page";
        let page = id(ep, "page", page_id)?;
        let url = self.url(&["pages", page]);
        self.call(ep, (Method::GET, url), None, true).await
    }

    /// `POST /v1/pages` with `parent: {"data_source_id"}`. Not retried on an unknown outcome:
    /// a second POST would create twice, so the caller looks for the page before it tries again.
    pub async fn create_page(
        &self,
        data_source_id: &str,
        properties: &Properties,
    ) -> Result<Page, ClientError> {
        let ep = "create_page";
        let ds = id(ep, "data source", data_source_id)?;
        let props = properties_to_wire(properties).map_err(|e| invalid(ep, e))?;
        let body = json!({
            "parent": { "type": "data_source_id", "data_source_id": ds },
            "properties": props,
        });
        let url = self.url(&["pages"]);
        self.call(ep, (Method::POST, url), Some(&body), false).await
    }

    /// `PATCH /v1/pages/{id}` with the given properties only; the others are left as they are.
    pub async fn update_page(
        &self,
        page_id: &str,
        properties: &Properties,
    ) -> Result<Page, ClientError> {
        let ep = "update_page";
        let page = id(ep, "page", page_id)?;
        let props = properties_to_wire(properties).map_err(|e| invalid(ep, e))?;
        let body = json!({ "properties": props });
        let url = self.url(&["pages", page]);
        self.call(ep, (Method::PATCH, url), Some(&body), true).await
    }

    /// Moves the page to the trash (`in_trash: true`) or restores it (`false`).
    pub async fn set_in_trash(&self, page_id: &str, in_trash: bool) -> Result<Page, ClientError> {
        let ep = "trash_page";
        let page = id(ep, "page", page_id)?;
        let body = json!({ "in_trash": in_trash });
        let url = self.url(&["pages", page]);
        self.call(ep, (Method::PATCH, url), Some(&body), true).await
    }
}

/// The query's body: the edit-time filter, oldest edit first, the largest page, the cursor.
fn query_body(since: Option<DateTime<Utc>>, cursor: Option<&str>) -> Value {
    let mut body = json!({
        "sorts": [{ "timestamp": "last_edited_time", "direction": "ascending" }],
        "page_size": PAGE_SIZE,
    });
    if let Some(since) = since {
        let at = since.to_rfc3339_opts(SecondsFormat::Millis, true);
        body["filter"] = json!({
            "timestamp": "last_edited_time",
            "last_edited_time": { "on_or_after": at },
        });
    }
    if let Some(cursor) = cursor {
        body["start_cursor"] = json!(cursor);
    }
    body
}
