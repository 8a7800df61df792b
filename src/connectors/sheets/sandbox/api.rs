//! The emulated Sheets v4 endpoints (spreadsheets.get, values get/batchGet/batchUpdate/append),
//! their bearer-token check and Google's error envelope.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use reqwest::Url;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::time::Instant;

use super::model::{ApiError, Spreadsheet};
use super::{Shared, lock};

fn status_name(code: u16) -> &'static str {
    match code {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        429 => "RESOURCE_EXHAUSTED",
        503 => "UNAVAILABLE",
        _ => "INTERNAL",
    }
}

/// Google's error answer for `status`; a 502 comes from Google's front end as an HTML page.
pub fn error_response(status: StatusCode, message: &str) -> Response {
    let code = status.as_u16();
    if code == 502 {
        let html = "<!DOCTYPE html><html lang=en><title>Error 502 (Server Error)!!1</title><p><b>502.</b> That’s an error.";
        return (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=UTF-8")],
            html,
        )
            .into_response();
    }
    let body =
        json!({ "error": { "code": code, "message": message, "status": status_name(code) } });
    (status, Json(body)).into_response()
}

/// Messages for errors the gate injects or enforces.
pub fn gate_error(status: StatusCode) -> Response {
    let message = match status.as_u16() {
        429 => {
            "Quota exceeded for quota metric 'Requests' and limit 'Requests per minute per user' of service 'sheets.googleapis.com' for consumer 'project_number:000000000000'."
        }
        503 => "The service is currently unavailable.",
        _ => "Internal error encountered.",
    };
    error_response(status, message)
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        error_response(status, &self.message)
    }
}

/// The service account a request's bearer token belongs to, if the token is live.
pub fn caller(shared: &Shared, headers: &HeaderMap) -> Result<String, ApiError> {
    let unauthenticated = |m: &str| ApiError {
        code: 401,
        message: m.to_owned(),
    };
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| unauthenticated("Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential."))?;
    lock(&shared.tokens)
        .get(token.trim())
        .filter(|t| Instant::now() < t.expires_at)
        .map(|t| t.email.clone())
        .ok_or_else(|| unauthenticated("Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential."))
}

/// Runs `f` on the spreadsheet after checking the caller may use it.
fn with_spreadsheet<T>(
    shared: &Shared,
    headers: &HeaderMap,
    id: &str,
    f: impl FnOnce(&mut Spreadsheet) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    let email = caller(shared, headers)?;
    let mut books = lock(&shared.spreadsheets);
    let book = books.get_mut(id).ok_or(ApiError {
        code: 404,
        message: "Requested entity was not found.".into(),
    })?;
    if !book.editors.contains(&email) {
        return Err(ApiError {
            code: 403,
            message: "The caller does not have permission".into(),
        });
    }
    f(book)
}

type AppState = State<Arc<Shared>>;

pub async fn get_spreadsheet(
    State(s): AppState,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let fields = query_values(q.as_deref(), "fields");
    with_spreadsheet(&s, &headers, &id, |book| {
        let sheets: Vec<Value> = book.sheets.iter().enumerate().map(|(index, sheet)| json!({ "properties": {
            "sheetId": sheet.sheet_id, "title": sheet.title, "index": index, "sheetType": "GRID",
            "gridProperties": { "rowCount": sheet.row_count, "columnCount": sheet.column_count } } })).collect();
        if fields.iter().any(|f| f == "sheets.properties") {
            return Ok(Json(json!({ "sheets": sheets })));
        }
        Ok(Json(
            json!({ "spreadsheetId": id, "properties": { "title": id }, "sheets": sheets }),
        ))
    })
}

fn query_values(query: Option<&str>, name: &str) -> Vec<String> {
    let Ok(url) = Url::parse(&format!("http://q.invalid/?{}", query.unwrap_or(""))) else {
        return Vec::new();
    };
    url.query_pairs()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .collect()
}

fn check_major_dimension(query: Option<&str>) -> Result<(), ApiError> {
    match query_values(query, "majorDimension")
        .first()
        .map(String::as_str)
    {
        None | Some("ROWS") => Ok(()),
        Some(other) => Err(ApiError::bad(format!(
            "The emulator answers majorDimension ROWS only, not {other}"
        ))),
    }
}

fn read_range(book: &mut Spreadsheet, text: &str) -> Result<Value, ApiError> {
    let (sheet, rect) = book.locate(text)?;
    let values = sheet.read(rect);
    // Beside the writes' lines below: a replay's log then shows what each read saw, and when
    // (a check or a reconciliation reading between a write and another edit).
    tracing::debug!(target: "sandbox::sheets", range = %text, at = %sheet.a1(rect), ?values, "read");
    let mut out = json!({ "range": sheet.a1(rect), "majorDimension": "ROWS" });
    if !values.is_empty() {
        out["values"] = json!(values);
    }
    Ok(out)
}

/// `GET values/{range}`, and `POST values/{range}:append` on the same path pattern.
pub async fn get_values(
    State(s): AppState,
    Path((id, range)): Path<(String, String)>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    check_major_dimension(q.as_deref())?;
    with_spreadsheet(&s, &headers, &id, |book| read_range(book, &range)).map(Json)
}

pub async fn batch_get(
    State(s): AppState,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    check_major_dimension(q.as_deref())?;
    let ranges = query_values(q.as_deref(), "ranges");
    with_spreadsheet(&s, &headers, &id, |book| {
        let value_ranges = ranges
            .iter()
            .map(|r| read_range(book, r))
            .collect::<Result<Vec<_>, _>>()?;
        let mut out = json!({ "spreadsheetId": id });
        if !value_ranges.is_empty() {
            out["valueRanges"] = json!(value_ranges);
        }
        Ok(Json(out))
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WriteRange {
    /// Required by batchUpdate (an empty one cannot be parsed); optional in an append body.
    #[serde(default)]
    range: String,
    #[serde(default)]
    major_dimension: Option<String>,
    #[serde(default)]
    values: Vec<Vec<Value>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BatchUpdate {
    value_input_option: Option<String>,
    #[serde(default)]
    data: Vec<WriteRange>,
}

fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad(format!("Invalid JSON payload received. {e}")))
}

/// RAW and USER_ENTERED both store the text as given: the emulator evaluates no formulas.
fn input_option(option: Option<&str>) -> Result<(), ApiError> {
    match option {
        Some("RAW" | "USER_ENTERED") => Ok(()),
        Some(other) => Err(ApiError::bad(format!(
            "Invalid value at 'value_input_option' (ValueInputOption), \"{other}\""
        ))),
        None => Err(ApiError::bad(
            "'valueInputOption' is required but not specified",
        )),
    }
}

fn strings(rows: &[Vec<Value>], major: Option<&str>) -> Result<Vec<Vec<String>>, ApiError> {
    if major.is_some_and(|m| m != "ROWS") {
        return Err(ApiError::bad(
            "The emulator accepts majorDimension ROWS only",
        ));
    }
    Ok(rows
        .iter()
        .map(|r| {
            r.iter()
                .map(|v| match v {
                    Value::String(s) => s.clone(),
                    Value::Null => String::new(),
                    other => other.to_string(),
                })
                .collect()
        })
        .collect())
}

fn update_json(id: &str, range: String, rows: u32, cols: u32, cells: u32) -> Value {
    json!({ "spreadsheetId": id, "updatedRange": range, "updatedRows": rows, "updatedColumns": cols, "updatedCells": cells })
}

fn counts(values: &[Vec<String>]) -> (u32, u32, u32) {
    let rows = values.len() as u32;
    let cols = values.iter().map(Vec::len).max().unwrap_or(0) as u32;
    let cells = values.iter().map(Vec::len).sum::<usize>() as u32;
    (rows, cols, cells)
}

pub async fn batch_update(
    State(s): AppState,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let req: BatchUpdate = parse_json(&body)?;
    input_option(req.value_input_option.as_deref())?;
    with_spreadsheet(&s, &headers, &id, |book| {
        // All ranges or none: the writes go to a copy that replaces the original only on success.
        let mut draft = book.clone();
        let (mut responses, mut totals, mut sheets) =
            (Vec::new(), (0, 0, 0), std::collections::BTreeSet::new());
        for item in &req.data {
            let values = strings(&item.values, item.major_dimension.as_deref())?;
            let (sheet, rect) = draft.locate(&item.range)?;
            let written = sheet.write(rect, &values, &item.range)?;
            // What landed where, for reading a chaos seed's log (the emulator keeps no history).
            tracing::debug!(target: "sandbox::sheets", range = %item.range, ?values, "batchUpdate wrote");
            let (rows, cols, cells) = counts(&values);
            totals = (totals.0 + rows, totals.1.max(cols), totals.2 + cells);
            sheets.insert(sheet.sheet_id);
            responses.push(update_json(&id, sheet.a1(written), rows, cols, cells));
        }
        *book = draft;
        Ok(Json(
            json!({ "spreadsheetId": id, "totalUpdatedRows": totals.0, "totalUpdatedColumns": totals.1,
            "totalUpdatedCells": totals.2, "totalUpdatedSheets": sheets.len(), "responses": responses }),
        ))
    })
}

pub async fn append(
    State(s): AppState,
    Path((id, target)): Path<(String, String)>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let Some(range) = target.strip_suffix(":append") else {
        return Err(ApiError {
            code: 404,
            message: "Requested entity was not found.".into(),
        });
    };
    input_option(
        query_values(q.as_deref(), "valueInputOption")
            .first()
            .map(String::as_str),
    )?;
    let insert = match query_values(q.as_deref(), "insertDataOption")
        .first()
        .map(String::as_str)
    {
        None | Some("OVERWRITE") => false,
        Some("INSERT_ROWS") => true,
        Some(other) => {
            return Err(ApiError::bad(format!(
                "Invalid value at 'insert_data_option' (InsertDataOption), \"{other}\""
            )));
        }
    };
    let req: WriteRange = parse_json(&body)?;
    let values = strings(&req.values, req.major_dimension.as_deref())?;
    with_spreadsheet(&s, &headers, &id, |book| {
        let (sheet, rect) = book.locate(range)?;
        let (table, written) = sheet.append(rect, &values, insert);
        tracing::debug!(target: "sandbox::sheets", at = %sheet.a1(written), ?values, "append wrote");
        let (rows, cols, cells) = counts(&values);
        let mut out = json!({ "spreadsheetId": id, "updates": update_json(&id, sheet.a1(written), rows, cols, cells) });
        if let Some(table) = table {
            out["tableRange"] = json!(sheet.a1(table));
        }
        Ok(Json(out))
    })
}
