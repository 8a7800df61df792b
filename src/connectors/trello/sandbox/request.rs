//! What the REST handlers share, reads (`routes`) and writes (`writes`) alike: the handler
//! context, the query type and the id check. Below both, so neither imports the other.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::Query;
use axum::http::StatusCode;

use super::ops::{ApiError, Core};

/// What every handler needs: the state, the expected credentials and who the token belongs to.
#[derive(Clone)]
pub struct Ctx {
    pub core: Arc<Core>,
    pub key: String,
    pub token: String,
    pub api_member_id: String,
    pub http: reqwest::Client,
}

pub type Q = Query<HashMap<String, String>>;

/// Trello ids are 24 hex digits; boards and cards may also be named by their 8-char short link.
pub fn check_id(id: &str) -> Result<(), ApiError> {
    let hex = id.len() == 24 && id.chars().all(|c| c.is_ascii_hexdigit());
    let short = id.len() == 8 && id.chars().all(|c| c.is_ascii_alphanumeric());
    if hex || short {
        Ok(())
    } else {
        Err(ApiError::new(StatusCode::BAD_REQUEST, "invalid id"))
    }
}
