//! What the REST handlers (`meta`, `records`, `webhooks`) share with the router: the handler
//! context and the body and query helpers. Below all of them, so no handler imports the router.

use std::sync::Arc;

use axum::body::Bytes;
use serde_json::{Map, Value};

use super::change::Actor;
use super::error::ApiError;
use super::limit::Limiter;
use super::ops::Core;

/// What every handler needs: the state, the expected token and who the token belongs to.
#[derive(Clone)]
pub struct Ctx {
    pub core: Arc<Core>,
    pub token: String,
    pub limiter: Arc<Limiter>,
    /// The token's user: the author of every change made through the API (`publicApi`).
    pub api_actor: Actor,
}

/// A JSON object body; anything else is Airtable's 400.
pub fn body_object(body: &Bytes) -> Result<Map<String, Value>, ApiError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(ApiError::bad_json()),
    }
}

/// The decoded query string as ordered pairs (keys may repeat, like `records[]`).
pub fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    let url = format!("http://q.invalid/?{}", query.unwrap_or(""));
    reqwest::Url::parse(&url)
        .map(|u| u.query_pairs().into_owned().collect())
        .unwrap_or_default()
}

pub fn flag(v: Option<&Value>) -> bool {
    matches!(v, Some(Value::Bool(true))) || v.and_then(Value::as_str) == Some("true")
}
