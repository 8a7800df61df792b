//! The data-source query: `filter` on `last_edited_time` or `created_time` (compared with the
//! minute-rounded times, as Notion does), `sorts` on those timestamps, and `start_cursor` /
//! `page_size` pagination. A cursor holds the rest of its query's result ids as of the first
//! call, so a page edited mid-read (which moves in an edit-time sort) is neither skipped nor
//! read twice; pages are rendered as they are when their result page is read. Trashed pages
//! are left out.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::error::ApiError;
use super::model::{PageState, Store, minute, new_id};
use super::ops::canonical;

/// The largest `page_size` Notion takes.
pub const MAX_PAGE_SIZE: usize = 100;
/// How many open cursors are remembered; an older one is answered as invalid.
const CURSORS_KEPT: usize = 64;

pub fn run(
    store: &mut Store,
    data_source_id: &str,
    body: &Map<String, Value>,
) -> Result<Value, ApiError> {
    let ds_id = canonical(data_source_id).ok_or_else(|| ApiError::not_found(data_source_id))?;
    if !store.data_sources.contains_key(&ds_id) {
        return Err(ApiError::not_found(&ds_id));
    }
    let size = match body.get("page_size") {
        None => MAX_PAGE_SIZE,
        Some(v) => v
            .as_u64()
            .filter(|n| (1..=MAX_PAGE_SIZE as u64).contains(n))
            .ok_or_else(|| {
                ApiError::validation("body.page_size should be a number from 1 to 100")
            })? as usize,
    };
    let mut ids = match body.get("start_cursor").and_then(Value::as_str) {
        None => matching(store, &ds_id, body)?,
        Some(c) => store
            .cursors
            .iter()
            .find(|(cursor, _)| cursor == c)
            .map(|(_, rest)| rest.clone())
            .ok_or_else(|| ApiError::validation("body.start_cursor should be a valid cursor"))?,
    };
    let rest = ids.split_off(size.min(ids.len()));
    let results: Vec<Value> = ids.iter().filter_map(|id| store.render_page(id)).collect();
    let next = (!rest.is_empty()).then(new_id);
    if let Some(cursor) = &next {
        store.cursors.push_back((cursor.clone(), rest));
        if store.cursors.len() > CURSORS_KEPT {
            store.cursors.pop_front();
        }
    }
    Ok(
        json!({"object": "list", "results": results, "has_more": next.is_some(),
        "next_cursor": next, "type": "page_or_data_source", "page_or_data_source": {}}),
    )
}

/// The ids of the data source's pages the filter keeps, in the sorts' order (creation order
/// without sorts), trashed pages left out.
fn matching(
    store: &Store,
    ds_id: &str,
    body: &Map<String, Value>,
) -> Result<Vec<String>, ApiError> {
    let filter = match body.get("filter") {
        None | Some(Value::Null) => None,
        Some(f) => Some(timestamp_filter(f)?),
    };
    let mut pages: Vec<&PageState> = store
        .order
        .iter()
        .filter_map(|id| store.pages.get(id))
        .filter(|p| p.data_source_id == ds_id && !p.in_trash)
        .filter(|p| filter.as_ref().is_none_or(|f| f.matches(p)))
        .collect();
    sort(&mut pages, body.get("sorts"))?;
    Ok(pages.iter().map(|p| p.id.clone()).collect())
}

struct TimestampFilter {
    created: bool,
    op: String,
    at: DateTime<Utc>,
}

impl TimestampFilter {
    fn matches(&self, p: &PageState) -> bool {
        let t = minute(if self.created {
            p.created_time
        } else {
            p.last_edited_time
        });
        match self.op.as_str() {
            "on_or_after" => t >= self.at,
            "after" => t > self.at,
            "on_or_before" => t <= self.at,
            "before" => t < self.at,
            _ => t == self.at,
        }
    }
}

/// `{"timestamp": "last_edited_time", "last_edited_time": {"on_or_after": "…"}}`; property
/// filters and compound filters are not emulated and refused by name.
fn timestamp_filter(f: &Value) -> Result<TimestampFilter, ApiError> {
    let kind = f["timestamp"].as_str().unwrap_or("");
    if kind != "last_edited_time" && kind != "created_time" {
        return Err(ApiError::validation(
            "body.filter: only timestamp filters on last_edited_time or created_time are emulated",
        ));
    }
    let cond = f[kind]
        .as_object()
        .filter(|c| c.len() == 1)
        .ok_or_else(|| {
            ApiError::validation(format!("body.filter.{kind} should hold one condition"))
        })?;
    let (op, value) = cond
        .iter()
        .next()
        .ok_or_else(|| ApiError::validation("body.filter: empty"))?;
    if !["on_or_after", "after", "on_or_before", "before", "equals"].contains(&op.as_str()) {
        return Err(ApiError::validation(format!(
            "body.filter.{kind}.{op} is not a condition"
        )));
    }
    let at = value
        .as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .ok_or_else(|| {
            ApiError::validation(format!(
                "body.filter.{kind}.{op} should be an ISO 8601 date"
            ))
        })?;
    Ok(TimestampFilter {
        created: kind == "created_time",
        op: op.clone(),
        at: at.with_timezone(&Utc),
    })
}

/// Stable sorts on `last_edited_time` / `created_time` (rounded, so pages of one minute keep
/// their creation order); property sorts are not emulated.
fn sort(pages: &mut [&PageState], sorts: Option<&Value>) -> Result<(), ApiError> {
    let Some(sorts) = sorts.filter(|s| !s.is_null()) else {
        return Ok(());
    };
    let sorts = sorts
        .as_array()
        .ok_or_else(|| ApiError::validation("body.sorts should be an array"))?;
    for s in sorts.iter().rev() {
        let created = match s["timestamp"].as_str() {
            Some("created_time") => true,
            Some("last_edited_time") => false,
            _ => {
                return Err(ApiError::validation(
                    "body.sorts: only timestamp sorts are emulated",
                ));
            }
        };
        let descending = match s["direction"].as_str() {
            Some("ascending") => false,
            Some("descending") => true,
            _ => {
                return Err(ApiError::validation(
                    "body.sorts[].direction should be ascending or descending",
                ));
            }
        };
        let key = |p: &&PageState| {
            minute(if created {
                p.created_time
            } else {
                p.last_edited_time
            })
        };
        pages.sort_by(|a, b| {
            let order = key(a).cmp(&key(b));
            if descending { order.reverse() } else { order }
        });
    }
    Ok(())
}
