//! A change as a webhook payload needs it: who made it and what it did to one table. Below both
//! the record operations that make changes and the payload builder that reads them.

use std::collections::BTreeMap;

use serde_json::Value;

/// Who made a change: `actionMetadata.source` and the user in `sourceMetadata`.
#[derive(Clone, Debug)]
pub struct Actor {
    /// `publicApi` for calls with the token, `client` for edits "in the browser".
    pub source: &'static str,
    pub user: Value,
}

/// What one change did to one table: the input of a webhook payload.
#[derive(Debug, Default)]
pub struct Txn {
    pub table_id: String,
    pub created: Vec<String>,
    /// Changed records with the previous stored value of each field that changed.
    pub changed: Vec<(String, BTreeMap<String, Option<String>>)>,
    pub destroyed: Vec<String>,
}

impl Txn {
    pub(super) fn is_empty(&self) -> bool {
        self.created.is_empty() && self.changed.is_empty() && self.destroyed.is_empty()
    }
}
