//! Sheets API v4 and OAuth wire types: only the fields we send or read, tolerant of the rest.

use serde::{Deserialize, Serialize};

/// `GET spreadsheets/{id}?fields=sheets.properties`
#[derive(Debug, Deserialize)]
pub struct SpreadsheetWire {
    #[serde(default)]
    pub sheets: Vec<SheetWire>,
}

#[derive(Debug, Deserialize)]
pub struct SheetWire {
    pub properties: SheetPropertiesWire,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SheetPropertiesWire {
    #[serde(default)]
    pub sheet_id: i64,
    pub title: String,
    #[serde(default)]
    pub index: u32,
    #[serde(default)]
    pub grid_properties: Option<GridPropertiesWire>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GridPropertiesWire {
    #[serde(default)]
    pub row_count: u32,
    #[serde(default)]
    pub column_count: u32,
}

/// A `ValueRange`; `values` is omitted by the API when the range is empty. Cells are JSON values
/// because only FORMATTED_VALUE guarantees strings.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ValueRangeWire {
    #[serde(default)]
    pub range: String,
    #[serde(default)]
    pub values: Vec<Vec<serde_json::Value>>,
}

/// `GET values:batchGet`
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchGetWire {
    #[serde(default)]
    pub value_ranges: Vec<ValueRangeWire>,
}

/// One range of a write: rows of strings, written as typed (RAW).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ValueRangeOut<'a> {
    pub range: &'a str,
    pub major_dimension: &'static str,
    pub values: &'a [Vec<String>],
}

/// `POST values:batchUpdate` body.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchUpdateBody<'a> {
    pub value_input_option: &'static str,
    pub data: Vec<ValueRangeOut<'a>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchUpdateWire {
    #[serde(default)]
    pub total_updated_rows: u32,
    #[serde(default)]
    pub total_updated_cells: u32,
    #[serde(default)]
    pub responses: Vec<UpdateWire>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateWire {
    #[serde(default)]
    pub updated_range: String,
    #[serde(default)]
    pub updated_rows: u32,
}

/// `POST values/{range}:append` answer.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppendWire {
    #[serde(default)]
    pub table_range: Option<String>,
    pub updates: UpdateWire,
}

/// The OAuth token endpoint's success answer.
#[derive(Deserialize)]
pub struct TokenWire {
    pub access_token: secrecy::SecretString,
    pub expires_in: u64,
}

/// The OAuth token endpoint's error answer (`invalid_grant` …).
#[derive(Debug, Deserialize)]
pub struct TokenErrorWire {
    pub error: String,
    #[serde(default)]
    pub error_description: String,
}

/// A cell as the sheet displays it: strings as is, numbers and booleans as Sheets prints them.
pub fn cell_text(value: serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s,
        serde_json::Value::Null => String::new(),
        serde_json::Value::Bool(b) => if b { "TRUE" } else { "FALSE" }.to_owned(),
        other => other.to_string(),
    }
}
