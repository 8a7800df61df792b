//! The records API: list (pages of ≤ 100 with an `offset` iterator), get one, create, update
//! (PATCH merges, PUT replaces) and delete, at most 10 records per write.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use serde_json::{Map, Value, json};

use super::cells::record_json;
use super::error::ApiError;
use super::model::{Model, SandboxTable, new_id};
use super::ops;
use super::request::{Ctx, body_object, flag, query_pairs};

type Answer = Result<Json<Value>, ApiError>;

/// Airtable's cap on records per write request.
pub const MAX_BATCH: usize = 10;
const MAX_PAGE: usize = 100;

fn table<'a>(m: &'a Model, base: &str, table: &str) -> Result<&'a SandboxTable, ApiError> {
    m.base(base)
        .and_then(|b| b.table(table))
        .ok_or_else(ApiError::no_access)
}

fn batch_size(n: usize) -> Result<(), ApiError> {
    if n == 0 || n > MAX_BATCH {
        let message = format!("A request may write between 1 and {MAX_BATCH} records; got {n}");
        return Err(ApiError::invalid("INVALID_RECORDS", message));
    }
    Ok(())
}

fn fields_of(v: &Value) -> Result<Map<String, Value>, ApiError> {
    match v.get("fields") {
        None => Ok(Map::new()),
        Some(Value::Object(f)) => Ok(f.clone()),
        Some(_) => Err(ApiError::invalid(
            "INVALID_RECORDS",
            "\"fields\" must be an object",
        )),
    }
}

fn records_of(b: &Map<String, Value>) -> Result<&Vec<Value>, ApiError> {
    let records = b.get("records").and_then(Value::as_array).ok_or_else(|| {
        ApiError::invalid(
            "INVALID_REQUEST_MISSING_FIELDS",
            "Could not find field \"records\" in the request body",
        )
    })?;
    batch_size(records.len())?;
    Ok(records)
}

fn page_size(raw: Option<&str>) -> Result<usize, ApiError> {
    let Some(raw) = raw else { return Ok(MAX_PAGE) };
    raw.parse::<usize>()
        .ok()
        .filter(|n| (1..=MAX_PAGE).contains(n))
        .ok_or_else(|| {
            ApiError::invalid(
                "INVALID_PAGE_SIZE",
                format!("pageSize {raw} is not between 1 and {MAX_PAGE}"),
            )
        })
}

/// Where a page starts: a new iterator over the table's records now, or the one an `offset`
/// (`itr…/rec…`, naming the first record of the page) continues. Reading the same offset again
/// answers the same page, so a retried call is harmless.
fn iterator(
    m: &mut Model,
    t: &SandboxTable,
    offset: Option<&str>,
    max: Option<usize>,
) -> Result<(String, Vec<String>, usize), ApiError> {
    let Some(offset) = offset else {
        let mut ids: Vec<String> = t.records.iter().map(|r| r.id.clone()).collect();
        ids.truncate(max.unwrap_or(usize::MAX));
        let itr = new_id("itr");
        if m.expire_next_iterators > 0 {
            m.expire_next_iterators -= 1;
        } else {
            m.iterators.insert(itr.clone(), ids.clone());
        }
        return Ok((itr, ids, 0));
    };
    let invalid = || {
        ApiError::invalid(
            "INVALID_OFFSET_VALUE",
            format!("The value of offset {offset} is invalid"),
        )
    };
    let (itr, rec) = offset.split_once('/').ok_or_else(invalid)?;
    if !itr.starts_with("itr") {
        return Err(invalid());
    }
    let ids = m.iterators.get(itr).cloned().ok_or_else(|| {
        ApiError::invalid(
            "LIST_RECORDS_ITERATOR_NOT_AVAILABLE",
            "The list records iterator is not available; start the listing again",
        )
    })?;
    let start = ids.iter().position(|id| id == rec).ok_or_else(invalid)?;
    Ok((itr.to_owned(), ids, start))
}

pub async fn list(
    State(ctx): State<Ctx>,
    Path((base, name)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> Answer {
    let pairs = query_pairs(q.as_deref());
    let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    if get("filterByFormula").is_some() {
        let message = "filterByFormula is not emulated by the sandbox";
        return Err(ApiError::invalid("INVALID_FILTER_BY_FORMULA", message));
    }
    let size = page_size(get("pageSize"))?;
    let max = get("maxRecords").and_then(|v| v.parse::<usize>().ok());
    let by_id = get("returnFieldsByFieldId").is_some_and(|v| v == "true" || v == "1");
    let only: Vec<&str> = (pairs.iter())
        .filter(|(k, _)| k == "fields[]" || k == "fields")
        .map(|(_, v)| v.as_str())
        .collect();
    let mut m = ctx.core.lock();
    let t = table(&m, &base, &name)?.clone();
    let (itr, ids, start) = iterator(&mut m, &t, get("offset"), max)?;
    let end = (start + size).min(ids.len());
    let mut out = Vec::new();
    for r in ids[start..end].iter().filter_map(|id| t.record(id)) {
        let mut v = record_json(&t, r, by_id);
        if !only.is_empty() {
            // `fields[]` may name a field by name or id, whichever way the answer keys it.
            let wanted = |k: &String| {
                (t.fields.iter()).any(|f| {
                    (f.id == *k || f.name == *k)
                        && (only.contains(&f.name.as_str()) || only.contains(&f.id.as_str()))
                })
            };
            if let Some(fields) = v["fields"].as_object_mut() {
                fields.retain(|k, _| wanted(k));
            }
        }
        out.push(v);
    }
    let mut answer = json!({ "records": out });
    if end < ids.len() {
        answer["offset"] = json!(format!("{itr}/{}", ids[end]));
    }
    Ok(Json(answer))
}

pub async fn get_one(
    State(ctx): State<Ctx>,
    Path((base, name, id)): Path<(String, String, String)>,
    RawQuery(q): RawQuery,
) -> Answer {
    let by_id = query_pairs(q.as_deref())
        .iter()
        .any(|(k, v)| k == "returnFieldsByFieldId" && (v == "true" || v == "1"));
    let m = ctx.core.lock();
    let t = table(&m, &base, &name)?;
    let r = t
        .record(&id)
        .ok_or_else(|| ApiError::record_not_found(&id))?;
    Ok(Json(record_json(t, r, by_id)))
}

fn render(
    ctx: &Ctx,
    base: &str,
    name: &str,
    records: &[super::model::SandboxRecord],
    by_id: bool,
) -> Result<Vec<Value>, ApiError> {
    let m = ctx.core.lock();
    let t = table(&m, base, name)?;
    Ok(records.iter().map(|r| record_json(t, r, by_id)).collect())
}

/// One record (`{"fields"}`) or a batch (`{"records": [{"fields"}]}`), with `typecast`.
pub async fn create(
    State(ctx): State<Ctx>,
    Path((base, name)): Path<(String, String)>,
    body: Bytes,
) -> Answer {
    let b = body_object(&body)?;
    let typecast = flag(b.get("typecast"));
    let by_id = flag(b.get("returnFieldsByFieldId"));
    let single = !b.contains_key("records");
    let inputs: Vec<Map<String, Value>> = if single {
        vec![fields_of(&Value::Object(b.clone()))?]
    } else {
        records_of(&b)?
            .iter()
            .map(fields_of)
            .collect::<Result<_, _>>()?
    };
    let created = ctx.core.change(&base, &ctx.api_actor, |m| {
        ops::create_records(m, &base, &name, &inputs, typecast)
    })?;
    let mut out = render(&ctx, &base, &name, &created, by_id)?;
    if single {
        return Ok(Json(out.pop().unwrap_or(Value::Null)));
    }
    Ok(Json(json!({ "records": out })))
}

fn update_batch(ctx: &Ctx, base: &str, name: &str, body: &Bytes, replace: bool) -> Answer {
    let b = body_object(body)?;
    if b.contains_key("performUpsert") {
        return Err(ApiError::invalid(
            "INVALID_REQUEST_UNKNOWN",
            "performUpsert is not emulated by the sandbox",
        ));
    }
    let mut updates = Vec::new();
    for r in records_of(&b)? {
        let id = r.get("id").and_then(Value::as_str).ok_or_else(|| {
            ApiError::invalid("INVALID_RECORDS", "Every record to update needs an \"id\"")
        })?;
        updates.push((id.to_owned(), fields_of(r)?));
    }
    let typecast = flag(b.get("typecast"));
    let changed = ctx.core.change(base, &ctx.api_actor, |m| {
        ops::update_records(m, base, name, &updates, replace, typecast)
    })?;
    let out = render(
        ctx,
        base,
        name,
        &changed,
        flag(b.get("returnFieldsByFieldId")),
    )?;
    Ok(Json(json!({ "records": out })))
}

fn update_single(
    ctx: &Ctx,
    base: &str,
    name: &str,
    id: &str,
    body: &Bytes,
    replace: bool,
) -> Answer {
    let b = body_object(body)?;
    let updates = [(id.to_owned(), fields_of(&Value::Object(b.clone()))?)];
    let typecast = flag(b.get("typecast"));
    let changed = ctx.core.change(base, &ctx.api_actor, |m| {
        ops::update_records(m, base, name, &updates, replace, typecast)
    })?;
    let mut out = render(
        ctx,
        base,
        name,
        &changed,
        flag(b.get("returnFieldsByFieldId")),
    )?;
    Ok(Json(out.pop().unwrap_or(Value::Null)))
}

pub async fn update(
    State(ctx): State<Ctx>,
    Path((base, name)): Path<(String, String)>,
    body: Bytes,
) -> Answer {
    update_batch(&ctx, &base, &name, &body, false)
}

pub async fn replace(
    State(ctx): State<Ctx>,
    Path((base, name)): Path<(String, String)>,
    body: Bytes,
) -> Answer {
    update_batch(&ctx, &base, &name, &body, true)
}

pub async fn update_one(
    State(ctx): State<Ctx>,
    Path((base, name, id)): Path<(String, String, String)>,
    body: Bytes,
) -> Answer {
    update_single(&ctx, &base, &name, &id, &body, false)
}

pub async fn replace_one(
    State(ctx): State<Ctx>,
    Path((base, name, id)): Path<(String, String, String)>,
    body: Bytes,
) -> Answer {
    update_single(&ctx, &base, &name, &id, &body, true)
}

/// `DELETE …?records[]=recA&records[]=recB`.
pub async fn delete_many(
    State(ctx): State<Ctx>,
    Path((base, name)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> Answer {
    let ids: Vec<String> = (query_pairs(q.as_deref()).into_iter())
        .filter(|(k, _)| k == "records[]" || k == "records")
        .map(|(_, v)| v)
        .collect();
    batch_size(ids.len())?;
    let deleted = ctx.core.change(&base, &ctx.api_actor, |m| {
        ops::delete_records(m, &base, &name, &ids)
    })?;
    let out: Vec<Value> = deleted
        .iter()
        .map(|id| json!({"id": id, "deleted": true}))
        .collect();
    Ok(Json(json!({ "records": out })))
}

pub async fn delete_one(
    State(ctx): State<Ctx>,
    Path((base, name, id)): Path<(String, String, String)>,
) -> Answer {
    let ids = [id];
    ctx.core.change(&base, &ctx.api_actor, |m| {
        ops::delete_records(m, &base, &name, &ids)
    })?;
    Ok(Json(json!({"id": ids[0], "deleted": true})))
}
