//! Google Sheets client: service-account auth, typed values calls (metadata, get, batchGet,
//! batchUpdate, append) through the shared HTTP policy, and A1 notation.

pub mod a1;
pub mod auth;
pub mod build;
mod limits;
pub use limits::{BUDGET_FRACTION, REQUESTS_PER_MINUTE};
pub mod wire;

use std::path::Path;
use std::sync::Arc;

use reqwest::Url;
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;

use crate::clients::http::{ApiClient, ClientError, RateLimiter, RetryPolicy};
use a1::A1Range;
use auth::{ServiceAccountKey, TokenSource};
use wire::{
    AppendWire, BatchGetWire, BatchUpdateBody, BatchUpdateWire, SpreadsheetWire, ValueRangeOut,
    ValueRangeWire, cell_text,
};

const SYSTEM: &str = "sheets";
/// Reads as the sheet shows them, rows first: what `getDisplayValues()` gives the Apps Script.
const READ_QUERY: [(&str, &str); 2] = [
    ("majorDimension", "ROWS"),
    ("valueRenderOption", "FORMATTED_VALUE"),
];

/// One sheet (tab) of a spreadsheet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SheetInfo {
    pub sheet_id: i64,
    pub title: String,
    pub index: u32,
    pub row_count: u32,
    pub column_count: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpreadsheetInfo {
    pub sheets: Vec<SheetInfo>,
}

impl SpreadsheetInfo {
    /// Sheet titles are unique regardless of case in Google Sheets.
    pub fn sheet(&self, title: &str) -> Option<&SheetInfo> {
        self.sheets.iter().find(|s| s.title == title).or_else(|| {
            self.sheets
                .iter()
                .find(|s| s.title.eq_ignore_ascii_case(title))
        })
    }
}

/// A range and its cells as strings, trimmed as the API returns them (see `a1::pad_grid`).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ValueRange {
    pub range: String,
    pub values: Vec<Vec<String>>,
}

impl From<ValueRangeWire> for ValueRange {
    fn from(w: ValueRangeWire) -> Self {
        let values = w
            .values
            .into_iter()
            .map(|row| row.into_iter().map(cell_text).collect())
            .collect();
        Self {
            range: w.range,
            values,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchUpdateResult {
    pub total_updated_rows: u32,
    pub total_updated_cells: u32,
    pub updated_ranges: Vec<String>,
}

/// Where `values.append` wrote: `updated_range` as Google spelt it, and parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppendResult {
    pub updated_range: String,
    pub range: A1Range,
    pub table_range: Option<String>,
}

/// A Sheets API client acting as one service account.
#[derive(Clone)]
pub struct SheetsClient {
    api_base: Url,
    api: ApiClient,
    /// `None` for a daemon with no Sheets pair: it needs no service account, and every call
    /// fails naming the key to set.
    auth: Option<Arc<TokenSource>>,
}

impl SheetsClient {
    /// `api_base` is e.g. `https://sheets.googleapis.com/v4`; the token endpoint is the key's
    /// `token_uri`. `user_limiter` paces calls under the per-user quota.
    pub fn new(
        api_base: &str,
        key: ServiceAccountKey,
        policy: RetryPolicy,
        user_limiter: RateLimiter,
    ) -> Result<Self, ClientError> {
        let api_base = Url::parse(api_base.trim_end_matches('/'))
            .map_err(|e| ClientError::Config(format!("google.sheets_api_base: {e}")))?;
        if api_base.cannot_be_a_base() {
            return Err(ClientError::Config(
                "google.sheets_api_base: not a base URL".into(),
            ));
        }
        let api = ApiClient::new(SYSTEM, policy.clone(), vec![user_limiter])?;
        let oauth = ApiClient::new(TokenSource::oauth_system(), policy, Vec::new())?;
        let auth = Some(Arc::new(TokenSource::new(key, oauth)?));
        Ok(Self {
            api_base,
            api,
            auth,
        })
    }

    /// A client for a configuration without Sheets pairs: no key is read, and a call (which no
    /// such configuration makes) fails naming `google.credentials_file`.
    pub fn unconfigured(api_base: &str) -> Result<Self, ClientError> {
        let api_base = Url::parse(api_base.trim_end_matches('/'))
            .map_err(|e| ClientError::Config(format!("google.sheets_api_base: {e}")))?;
        let api = ApiClient::new(SYSTEM, RetryPolicy::default(), Vec::new())?;
        Ok(Self {
            api_base,
            api,
            auth: None,
        })
    }

    fn auth(&self) -> Result<&TokenSource, ClientError> {
        self.auth.as_deref().ok_or_else(|| {
            ClientError::Config(
                "google.credentials_file: no Sheets pair is configured, so no key was read".into(),
            )
        })
    }

    pub fn from_key_file(
        api_base: &str,
        key_file: &Path,
        policy: RetryPolicy,
        user_limiter: RateLimiter,
    ) -> Result<Self, ClientError> {
        Self::new(
            api_base,
            ServiceAccountKey::from_file(key_file)?,
            policy,
            user_limiter,
        )
    }

    pub fn service_account(&self) -> &str {
        self.auth.as_deref().map_or("", TokenSource::client_email)
    }

    /// Obtains (or reuses) an access token: proves the service account works.
    pub async fn authenticate(&self) -> Result<(), ClientError> {
        self.auth()?.token().await.map(drop)
    }

    /// Sheet titles, ids and grid sizes (`fields=sheets.properties`).
    pub async fn spreadsheet(&self, spreadsheet_id: &str) -> Result<SpreadsheetInfo, ClientError> {
        let url = self.url(spreadsheet_id, &[]);
        let wire: SpreadsheetWire = self
            .call("spreadsheets.get", |http| {
                http.get(url.clone())
                    .query(&[("fields", "sheets.properties")])
            })
            .await?;
        let sheets = wire
            .sheets
            .into_iter()
            .map(|s| {
                let grid = s.properties.grid_properties;
                SheetInfo {
                    sheet_id: s.properties.sheet_id,
                    title: s.properties.title,
                    index: s.properties.index,
                    row_count: grid.as_ref().map_or(0, |g| g.row_count),
                    column_count: grid.as_ref().map_or(0, |g| g.column_count),
                }
            })
            .collect();
        Ok(SpreadsheetInfo { sheets })
    }

    /// Every cell of one sheet, in one call (trimmed: pad with `a1::pad_grid`).
    pub async fn read_sheet(
        &self,
        spreadsheet_id: &str,
        sheet: &str,
    ) -> Result<ValueRange, ClientError> {
        self.read_range(spreadsheet_id, &A1Range::sheet(sheet).to_string())
            .await
    }

    /// `values.get` of one A1 range.
    pub async fn read_range(
        &self,
        spreadsheet_id: &str,
        range: &str,
    ) -> Result<ValueRange, ClientError> {
        let url = self.url(spreadsheet_id, &["values", range]);
        let wire: ValueRangeWire = self
            .call("values.get", |http| {
                http.get(url.clone()).query(&READ_QUERY)
            })
            .await?;
        Ok(wire.into())
    }

    /// `values.batchGet`: several ranges in one call, answered in the same order.
    pub async fn batch_get(
        &self,
        spreadsheet_id: &str,
        ranges: &[String],
    ) -> Result<Vec<ValueRange>, ClientError> {
        let url = self.url(spreadsheet_id, &["values:batchGet"]);
        let mut query: Vec<(&str, &str)> = READ_QUERY.to_vec();
        query.extend(ranges.iter().map(|r| ("ranges", r.as_str())));
        let wire: BatchGetWire = self
            .call("values.batchGet", |http| {
                http.get(url.clone()).query(&query)
            })
            .await?;
        Ok(wire
            .value_ranges
            .into_iter()
            .map(ValueRange::from)
            .collect())
    }

    /// `values.batchUpdate` with RAW input: every range written in one call.
    pub async fn batch_update(
        &self,
        spreadsheet_id: &str,
        data: &[ValueRange],
    ) -> Result<BatchUpdateResult, ClientError> {
        self.batch_update_with(spreadsheet_id, data, true).await
    }

    /// `batch_update` tried once past refusals: after a lost answer the server may have written
    /// and a user typed over it since, so the caller reads to settle it (`sheets::settle`).
    pub async fn batch_update_once(
        &self,
        spreadsheet_id: &str,
        data: &[ValueRange],
    ) -> Result<(), ClientError> {
        self.batch_update_with(spreadsheet_id, data, false)
            .await
            .map(drop)
    }

    async fn batch_update_with(
        &self,
        spreadsheet_id: &str,
        data: &[ValueRange],
        idempotent: bool,
    ) -> Result<BatchUpdateResult, ClientError> {
        let url = self.url(spreadsheet_id, &["values:batchUpdate"]);
        let data = (data.iter())
            .map(|d| ValueRangeOut {
                range: &d.range,
                major_dimension: "ROWS",
                values: &d.values,
            })
            .collect();
        let body = BatchUpdateBody {
            value_input_option: "RAW",
            data,
        };
        let wire: BatchUpdateWire = self
            .call_with("values.batchUpdate", idempotent, |http| {
                http.post(url.clone()).json(&body)
            })
            .await?;
        Ok(BatchUpdateResult {
            total_updated_rows: wire.total_updated_rows,
            total_updated_cells: wire.total_updated_cells,
            updated_ranges: (wire.responses.into_iter())
                .map(|r| r.updated_range)
                .collect(),
        })
    }

    /// `values.append` (RAW, INSERT_ROWS) after the table found in `range`; returns where the rows
    /// landed. Not idempotent: a retry after an unknown outcome may append twice.
    pub async fn append(
        &self,
        spreadsheet_id: &str,
        range: &str,
        rows: &[Vec<String>],
    ) -> Result<AppendResult, ClientError> {
        let url = self.url(spreadsheet_id, &["values", &format!("{range}:append")]);
        let body = ValueRangeOut {
            range,
            major_dimension: "ROWS",
            values: rows,
        };
        let query = [
            ("valueInputOption", "RAW"),
            ("insertDataOption", "INSERT_ROWS"),
        ];
        // Not idempotent: a blind retry after a lost answer would add the rows twice.
        let wire: AppendWire = self
            .call_with("values.append", false, |http| {
                http.post(url.clone()).query(&query).json(&body)
            })
            .await?;
        let updated_range = wire.updates.updated_range;
        let parsed = A1Range::parse(&updated_range).map_err(|e| ClientError::Decode {
            system: SYSTEM,
            endpoint: "values.append",
            message: e.to_string(),
        })?;
        Ok(AppendResult {
            updated_range,
            range: parsed,
            table_range: wire.table_range,
        })
    }

    fn url(&self, spreadsheet_id: &str, tail: &[&str]) -> Url {
        let mut url = self.api_base.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments
                .push("spreadsheets")
                .push(spreadsheet_id)
                .extend(tail);
        }
        url
    }

    /// One authorised call; a 401 means the token died early (revoked, clock skew): drop it and
    /// try once more with a fresh one.
    async fn call<T: DeserializeOwned>(
        &self,
        endpoint: &'static str,
        make: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> Result<T, ClientError> {
        self.call_with(endpoint, true, make).await
    }

    /// `idempotent: false` (an append) is retried here only on a 429: a 5xx, a timeout or a
    /// reset may have added the rows, so the caller must read before sending it again.
    async fn call_with<T: DeserializeOwned>(
        &self,
        endpoint: &'static str,
        idempotent: bool,
        make: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> Result<T, ClientError> {
        let auth = self.auth()?;
        let token = auth.token().await?;
        match self.attempt(endpoint, idempotent, &make, &token).await {
            Err(ClientError::Auth { status: 401, .. }) => {
                auth.invalidate(&token).await;
                let fresh = auth.token().await?;
                self.attempt(endpoint, idempotent, &make, &fresh).await
            }
            other => other,
        }
    }

    async fn attempt<T: DeserializeOwned>(
        &self,
        endpoint: &'static str,
        idempotent: bool,
        make: &impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
        token: &SecretString,
    ) -> Result<T, ClientError> {
        let authed = |http: &reqwest::Client| make(http).bearer_auth(token.expose_secret());
        self.api.send_json_as(endpoint, idempotent, authed).await
    }
}

#[cfg(test)]
mod resilience_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_quota;
