//! The operations behind both the REST handlers and the `user_*` methods: pages created,
//! updated, trashed and restored by an author (the bot or a person), each change announced as a
//! webhook event; data sources read and extended. Below `routes` and `mod`, so neither imports
//! the other.

use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::error::ApiError;
use super::events::Deliveries;
use super::model::{Author, PROPERTY_TYPES, PageState, PropDef, Store, new_id, parse_value};

pub struct Core {
    store: Mutex<Store>,
    /// A fixed time for tests of minute rounding; `None` is the real clock.
    clock: Mutex<Option<DateTime<Utc>>>,
    pub deliveries: Deliveries,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Notion ids are UUIDs, accepted with or without dashes; the canonical form has them.
pub fn canonical(id: &str) -> Option<String> {
    let hex: String = id.chars().filter(|c| *c != '-').collect();
    uuid::Uuid::try_parse(&hex).ok().map(|u| u.to_string())
}

impl Core {
    pub fn new(deliveries: Deliveries) -> Arc<Self> {
        Arc::new(Self {
            store: Mutex::default(),
            clock: Mutex::default(),
            deliveries,
        })
    }

    pub fn lock(&self) -> MutexGuard<'_, Store> {
        lock(&self.store)
    }

    pub fn now(&self) -> DateTime<Utc> {
        lock(&self.clock).unwrap_or_else(Utc::now)
    }

    pub fn set_time(&self, at: Option<DateTime<Utc>>) {
        *lock(&self.clock) = at;
    }

    /// A database with one data source holding `properties` (name, type, options).
    pub fn create_database(&self, title: &str, properties: Vec<PropDef>) -> (String, String) {
        let (db, ds) = (new_id(), new_id());
        let state = super::model::DataSourceState {
            id: ds.clone(),
            database_id: db.clone(),
            name: title.to_owned(),
            properties,
        };
        let mut store = self.lock();
        store.databases.insert(db.clone(), ds.clone());
        store.data_sources.insert(ds.clone(), state);
        (db, ds)
    }

    /// Creates a page under `data_source_id` from Notion's `properties` JSON.
    pub fn create_page(
        &self,
        by: &Author,
        data_source_id: &str,
        props: &Value,
    ) -> Result<Value, ApiError> {
        let ds_id = canonical(data_source_id).ok_or_else(|| ApiError::not_found(data_source_id))?;
        let now = self.now();
        let mut store = self.lock();
        let ds = store
            .data_sources
            .get_mut(&ds_id)
            .ok_or_else(|| ApiError::not_found(&ds_id))?;
        let values = parse_properties(&mut ds.properties, props)?;
        let page = PageState {
            id: new_id(),
            data_source_id: ds_id.clone(),
            created_time: now,
            created_by: by.user(),
            last_edited_time: now,
            last_edited_by: by.user(),
            in_trash: false,
            values: values.into_iter().collect(),
        };
        let id = page.id.clone();
        store.order.push(id.clone());
        store.pages.insert(id.clone(), page);
        let rendered = store.render_page(&id).unwrap_or(Value::Null);
        drop(store);
        self.deliveries
            .announce(("page.created", &id, &ds_id), by, now, &[]);
        Ok(rendered)
    }

    /// Updates the given properties and/or moves the page in or out of the trash. A trashed
    /// page's properties cannot be edited (Notion's 400), except by restoring it in the same call.
    pub fn update_page(
        &self,
        by: &Author,
        page_id: &str,
        props: Option<&Value>,
        in_trash: Option<bool>,
    ) -> Result<Value, ApiError> {
        let id = canonical(page_id).ok_or_else(|| ApiError::not_found(page_id))?;
        let now = self.now();
        let mut store = self.lock();
        let page = store
            .pages
            .get(&id)
            .ok_or_else(|| ApiError::not_found(&id))?;
        let ds_id = page.data_source_id.clone();
        let was_trashed = page.in_trash;
        let trashed = in_trash.unwrap_or(was_trashed);
        if trashed && props.is_some() {
            return Err(ApiError::validation(
                "Can't edit block that is archived. You must unarchive the block before editing.",
            ));
        }
        let ds = store
            .data_sources
            .get_mut(&ds_id)
            .ok_or_else(|| ApiError::not_found(&ds_id))?;
        let values = match props {
            Some(p) => parse_properties(&mut ds.properties, p)?,
            None => Vec::new(),
        };
        let updated: Vec<String> = values
            .iter()
            .filter_map(|(name, _)| ds.prop(name).map(|d| d.id.clone()))
            .collect();
        let page = store
            .pages
            .get_mut(&id)
            .ok_or_else(|| ApiError::not_found(&id))?;
        let changed = !values.is_empty() || trashed != was_trashed;
        for (name, text) in values {
            page.values.insert(name, text);
        }
        page.in_trash = trashed;
        if changed {
            page.last_edited_time = now;
            page.last_edited_by = by.user();
        }
        let rendered = store.render_page(&id).unwrap_or(Value::Null);
        drop(store);
        let kind = match (was_trashed, trashed) {
            (false, true) => Some("page.deleted"),
            (true, false) => Some("page.undeleted"),
            _ => None,
        };
        if let Some(kind) = kind {
            self.deliveries.announce((kind, &id, &ds_id), by, now, &[]);
        }
        if !updated.is_empty() {
            self.deliveries
                .announce(("page.properties_updated", &id, &ds_id), by, now, &updated);
        }
        Ok(rendered)
    }

    /// Adds the properties of a data-source update (`{"Name": {"<type>": {…}}}`); a status
    /// cannot be created through the API, a `null` removes a property.
    pub fn update_data_source(
        &self,
        data_source_id: &str,
        props: &Map<String, Value>,
    ) -> Result<Value, ApiError> {
        let id = canonical(data_source_id).ok_or_else(|| ApiError::not_found(data_source_id))?;
        let mut store = self.lock();
        let ds = store
            .data_sources
            .get_mut(&id)
            .ok_or_else(|| ApiError::not_found(&id))?;
        let mut next = ds.properties.clone();
        for (name, spec) in props {
            if spec.is_null() {
                next.retain(|p| &p.name != name);
                continue;
            }
            next.retain(|p| &p.name != name);
            next.push(new_prop(name, spec)?);
        }
        ds.properties = next;
        Ok(ds.render())
    }
}

/// A property definition from a data-source update's `{"<type>": {"options": […]}}`.
fn new_prop(name: &str, spec: &Value) -> Result<PropDef, ApiError> {
    let obj = spec.as_object().ok_or_else(|| {
        ApiError::validation(format!("body.properties.{name} should be an object"))
    })?;
    let kind = obj
        .keys()
        .find(|k| PROPERTY_TYPES.contains(&k.as_str()))
        .ok_or_else(|| {
            ApiError::validation(format!("body.properties.{name}: unsupported property type"))
        })?;
    if kind == "status" {
        return Err(ApiError::validation(format!(
            "body.properties.{name}: a status property cannot be created through the API"
        )));
    }
    let options = obj[kind]["options"]
        .as_array()
        .map(|o| {
            o.iter()
                .filter_map(|o| o["name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let id = if kind == "title" {
        "title".to_owned()
    } else {
        new_id()[..4].to_owned()
    };
    Ok(PropDef {
        id,
        name: name.to_owned(),
        kind: kind.clone(),
        options,
    })
}

/// A write's `properties` object as (name, plain text), each checked against its definition.
fn parse_properties(
    defs: &mut [PropDef],
    props: &Value,
) -> Result<Vec<(String, String)>, ApiError> {
    let map = props
        .as_object()
        .ok_or_else(|| ApiError::validation("body.properties should be an object"))?;
    let mut out = Vec::new();
    for (key, value) in map {
        let def = defs
            .iter_mut()
            .find(|d| &d.name == key || &d.id == key)
            .ok_or_else(|| ApiError::validation(format!("{key} is not a property that exists.")))?;
        let text = parse_value(def, value)?;
        out.push((def.name.clone(), text));
    }
    Ok(out)
}
