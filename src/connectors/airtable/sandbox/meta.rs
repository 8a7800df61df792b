//! The meta API: the token's bases, a base's schema (tables with their fields, types and select choices), creating a
//! field, and renaming or describing one (the only field changes Airtable's API allows).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use serde_json::{Value, json};

use super::error::ApiError;
use super::model::{FIELD_TYPES, SandboxField, field_json, new_id, table_json};
use super::ops::table_mut;
use super::request::{Ctx, body_object};

type Answer = Result<Json<Value>, ApiError>;

/// The bases the token was granted, as `GET /v0/meta/bases` lists them.
pub async fn bases(State(ctx): State<Ctx>) -> Answer {
    let m = ctx.core.lock();
    let bases: Vec<Value> = (m.bases.iter())
        .filter(|b| b.token_access)
        .map(|b| json!({"id": b.id, "name": b.name, "permissionLevel": "create"}))
        .collect();
    Ok(Json(json!({ "bases": bases })))
}

pub async fn tables(State(ctx): State<Ctx>, Path(base): Path<String>) -> Answer {
    let m = ctx.core.lock();
    let b = m.base(&base).ok_or_else(ApiError::no_access)?;
    let tables: Vec<Value> = b.tables.iter().map(table_json).collect();
    Ok(Json(json!({ "tables": tables })))
}

fn text(body: &serde_json::Map<String, Value>, key: &str) -> Result<Option<String>, ApiError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ApiError::invalid(
            "INVALID_REQUEST_UNKNOWN",
            format!("\"{key}\" must be a string"),
        )),
    }
}

/// A new field from `{"name", "type", "description"?, "options"?}`; a `singleSelect` needs
/// `options.choices` (`[{"name"}]`).
pub fn new_field(
    existing: &[SandboxField],
    body: &serde_json::Map<String, Value>,
) -> Result<SandboxField, ApiError> {
    let name = text(body, "name")?.unwrap_or_default();
    let taken = existing
        .iter()
        .any(|f| f.name.trim().eq_ignore_ascii_case(name.trim()));
    if name.trim().is_empty() || taken {
        let message = format!("Field name \"{name}\" is empty or already used in this table");
        return Err(ApiError::invalid("DUPLICATE_OR_EMPTY_FIELD_NAME", message));
    }
    let field_type = text(body, "type")?.unwrap_or_default();
    if !FIELD_TYPES.contains(&field_type.as_str()) {
        let message = format!(
            "Field type \"{field_type}\" is not one of the emulated types: {}",
            FIELD_TYPES.join(", ")
        );
        return Err(ApiError::invalid("INVALID_FIELD_TYPE", message));
    }
    let mut field = SandboxField {
        id: new_id("fld"),
        name,
        field_type,
        description: text(body, "description")?,
        choices: Vec::new(),
    };
    if field.field_type == "singleSelect" {
        let choices = body
            .get("options")
            .and_then(|o| o.get("choices"))
            .and_then(Value::as_array)
            .ok_or_else(|| {
                let message = "A singleSelect field needs options.choices";
                ApiError::invalid("INVALID_FIELD_TYPE_OPTIONS_FOR_CREATE", message)
            })?;
        for choice in choices {
            let name = choice.get("name").and_then(Value::as_str).unwrap_or("");
            if name.is_empty() || field.choices.iter().any(|c| c.name == name) {
                let message = format!("Choice \"{name}\" is empty or repeated");
                return Err(ApiError::invalid(
                    "INVALID_FIELD_TYPE_OPTIONS_FOR_CREATE",
                    message,
                ));
            }
            field.add_choice(name);
        }
    }
    Ok(field)
}

pub async fn create_field(
    State(ctx): State<Ctx>,
    Path((base, table)): Path<(String, String)>,
    body: Bytes,
) -> Answer {
    let body = body_object(&body)?;
    let mut m = ctx.core.lock();
    let t = table_mut(&mut m, &base, &table)?;
    let field = new_field(&t.fields, &body)?;
    t.fields.push(field.clone());
    Ok(Json(field_json(&field)))
}

/// Only `name` and `description` can change through the API (choices are added by writing a
/// value with `typecast`).
pub async fn update_field(
    State(ctx): State<Ctx>,
    Path((base, table, field)): Path<(String, String, String)>,
    body: Bytes,
) -> Answer {
    let body = body_object(&body)?;
    if let Some(key) = body.keys().find(|k| *k != "name" && *k != "description") {
        let message = format!("\"{key}\" cannot be changed; only name and description can");
        return Err(ApiError::invalid("INVALID_REQUEST_UNKNOWN", message));
    }
    let name = text(&body, "name")?;
    let description = text(&body, "description")?;
    let mut m = ctx.core.lock();
    let t = table_mut(&mut m, &base, &table)?;
    let others: Vec<SandboxField> = t.fields.iter().filter(|f| f.id != field).cloned().collect();
    if let Some(n) = &name {
        new_field(
            &others,
            &serde_json::Map::from_iter([
                ("name".to_owned(), json!(n)),
                ("type".to_owned(), json!("singleLineText")),
            ]),
        )?;
    }
    let f = t
        .fields
        .iter_mut()
        .find(|f| f.id == field)
        .ok_or_else(ApiError::no_access)?;
    if let Some(n) = name {
        f.name = n;
    }
    if description.is_some() {
        f.description = description;
    }
    Ok(Json(field_json(f)))
}
