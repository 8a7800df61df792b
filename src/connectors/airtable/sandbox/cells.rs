//! Cell values by field type: what a write may set (with or without `typecast`), and how a stored
//! value reads back through the records API (cell format v1, and whole records) and in webhook
//! payloads (v2).

use serde_json::{Map, Value, json};

use super::error::ApiError;
use super::model::{SandboxField, SandboxRecord, SandboxTable, airtable_time};

/// Parses a written value into its stored form; `None` means the cell is empty (absent).
/// A `singleSelect` value naming an unknown choice adds that choice only with `typecast`.
pub fn parse(
    field: &mut SandboxField,
    value: &Value,
    typecast: bool,
) -> Result<Option<String>, ApiError> {
    let text = match value {
        Value::Null => return Ok(None),
        Value::String(s) => s.clone(),
        Value::Number(_) | Value::Bool(_) if typecast => value.to_string(),
        _ => return Err(cannot_accept(field)),
    };
    if text.is_empty() {
        return Ok(None);
    }
    if field.field_type != "singleSelect" {
        return Ok(Some(text));
    }
    if let Some(choice) = field.choices.iter().find(|c| c.name == text) {
        return Ok(Some(choice.id.clone()));
    }
    if typecast {
        return Ok(Some(field.add_choice(&text)));
    }
    // Airtable's wording, doubled quotes included.
    Err(ApiError::invalid(
        "INVALID_MULTIPLE_CHOICE_OPTIONS",
        format!("Insufficient permissions to create new select option \"\"{text}\"\""),
    ))
}

fn cannot_accept(field: &SandboxField) -> ApiError {
    ApiError::invalid(
        "INVALID_VALUE_FOR_COLUMN",
        format!("Field \"{}\" cannot accept the provided value", field.name),
    )
}

fn choice_name<'a>(field: &'a SandboxField, stored: &'a str) -> &'a str {
    field
        .choices
        .iter()
        .find(|c| c.id == stored)
        .map_or(stored, |c| c.name.as_str())
}

/// The records API's (v1) cell: every emulated type reads as a string; a select as its name.
pub fn v1(field: &SandboxField, stored: &str) -> Value {
    if field.field_type == "singleSelect" {
        json!(choice_name(field, stored))
    } else {
        json!(stored)
    }
}

/// The webhook payloads' (v2) cell: a select is `{"id", "name", "color"}`, text is a string.
pub fn v2(field: &SandboxField, stored: Option<&str>) -> Value {
    let Some(stored) = stored else {
        return Value::Null;
    };
    if field.field_type != "singleSelect" {
        return json!(stored);
    }
    match field.choices.iter().find(|c| c.id == stored) {
        Some(c) => json!({"id": c.id, "name": c.name, "color": c.color}),
        None => json!({"id": stored}),
    }
}

/// A record as the records API answers it; empty cells are absent from `fields`.
pub fn record_json(table: &SandboxTable, r: &SandboxRecord, by_field_id: bool) -> Value {
    let mut fields = Map::new();
    for (field_id, stored) in &r.cells {
        let Some(field) = table.field(field_id) else {
            continue;
        };
        let key = if by_field_id { &field.id } else { &field.name };
        fields.insert(key.clone(), v1(field, stored));
    }
    json!({"id": r.id, "createdTime": airtable_time(r.created_time), "fields": fields})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn select() -> SandboxField {
        let mut f = SandboxField {
            id: "fldStatus000000000".into(),
            name: "Status".into(),
            field_type: "singleSelect".into(),
            description: None,
            choices: Vec::new(),
        };
        f.add_choice("New");
        f
    }

    #[test]
    fn a_select_takes_known_choices_and_new_ones_only_with_typecast() {
        let mut f = select();
        let new_id = f.choices[0].id.clone();
        assert_eq!(
            parse(&mut f, &json!("New"), false),
            Ok(Some(new_id.clone()))
        );
        let err = parse(&mut f, &json!("Won"), false).unwrap_err();
        assert_eq!(err.kind, "INVALID_MULTIPLE_CHOICE_OPTIONS");
        assert_eq!(err.status.as_u16(), 422);
        assert_eq!(f.choices.len(), 1);
        let won = parse(&mut f, &json!("Won"), true).unwrap().unwrap();
        assert_eq!(f.choices.len(), 2);
        assert_eq!(v1(&f, &won), json!("Won"));
        assert_eq!(v2(&f, Some(&won))["name"], "Won");
        assert_eq!(v2(&f, Some(&won))["id"], json!(won));
        assert_eq!(v2(&f, None), Value::Null);
    }

    #[test]
    fn empty_values_clear_and_non_text_needs_typecast() {
        let mut f = select();
        f.field_type = "email".into();
        assert_eq!(parse(&mut f, &json!(""), false), Ok(None));
        assert_eq!(parse(&mut f, &Value::Null, false), Ok(None));
        let err = parse(&mut f, &json!(42), false).unwrap_err();
        assert_eq!(err.kind, "INVALID_VALUE_FOR_COLUMN");
        assert_eq!(parse(&mut f, &json!(42), true), Ok(Some("42".into())));
        assert!(parse(&mut f, &json!(["a"]), true).is_err());
    }
}
