//! The webhooks API: create (the MAC secret is shown once), list (without secrets), delete,
//! refresh, and list payloads by cursor (which, like a refresh, extends a live webhook's life).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use base64::Engine;
use chrono::Utc;
use rand::Rng;
use serde_json::{Value, json};

use super::error::ApiError;
use super::model::{SandboxWebhook, airtable_time, new_id};
use super::notify::Notifier;
use super::request::{Ctx, body_object, query_pairs};

type Answer = Result<Json<Value>, ApiError>;

/// Airtable's cap on webhooks per base, and on payloads per listing.
const MAX_WEBHOOKS: usize = 10;
const MAX_PAYLOADS: usize = 50;

fn not_found(id: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        format!("Could not find webhook {id}"),
    )
}

fn invalid_spec(message: impl Into<String>) -> ApiError {
    ApiError::invalid("INVALID_WEBHOOK_SPECIFICATION", message)
}

pub fn webhook_json(w: &SandboxWebhook, notifier: &Notifier) -> Value {
    let enabled = w.is_enabled(Utc::now());
    let last = notifier.last_result(&w.id);
    json!({"id": w.id, "areNotificationsEnabled": enabled && w.notification_url.is_some(),
        "cursorForNextPayload": w.cursor_for_next_payload(), "isHookEnabled": enabled,
        "lastSuccessfulNotificationTime": last.last_success, "notificationUrl": w.notification_url,
        "expirationTime": airtable_time(w.expiration_time), "lastNotificationResult": last.result,
        "specification": w.specification})
}

/// Checks the filters the emulator acts on; `recordChangeScope` must be one of the base's tables
/// (or its view).
fn check_spec(ctx: &Ctx, base: &str, spec: &Value) -> Result<(), ApiError> {
    let filters = &spec["options"]["filters"];
    let types = filters["dataTypes"].as_array().filter(|t| !t.is_empty());
    let known = ["tableData", "tableFields", "tableMetadata"];
    let types_ok = types.is_some_and(|t| {
        t.iter()
            .all(|v| v.as_str().is_some_and(|s| known.contains(&s)))
    });
    if !types_ok {
        return Err(invalid_spec(
            "specification.options.filters.dataTypes must list tableData, tableFields or tableMetadata",
        ));
    }
    if let Some(scope) = filters.get("recordChangeScope") {
        let m = ctx.core.lock();
        let tables = m.base(base).map(|b| b.tables.clone()).unwrap_or_default();
        let found = scope.as_str().is_some_and(|s| {
            tables
                .iter()
                .any(|t| t.id == s || format!("viw{}", &t.id[3..]) == s)
        });
        if !found {
            return Err(invalid_spec(format!(
                "recordChangeScope {scope} is not a table or view id of this base"
            )));
        }
    }
    Ok(())
}

/// Only loopback notification URLs are accepted, so the emulator never contacts another machine.
fn check_url(url: Option<&str>) -> Result<(), ApiError> {
    let Some(url) = url else { return Ok(()) };
    let parsed = reqwest::Url::parse(url).ok();
    let ok = parsed.as_ref().is_some_and(|u| {
        matches!(u.scheme(), "http" | "https")
            && matches!(u.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"))
    });
    if ok {
        Ok(())
    } else {
        let message = format!("notificationUrl {url} is not a loopback http(s) URL (sandbox)");
        Err(ApiError::invalid("INVALID_NOTIFICATION_URL", message))
    }
}

pub async fn create(State(ctx): State<Ctx>, Path(base): Path<String>, body: Bytes) -> Answer {
    let b = body_object(&body)?;
    let url = b
        .get("notificationUrl")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let spec = b.get("specification").cloned().unwrap_or(Value::Null);
    check_spec(&ctx, &base, &spec)?;
    check_url(url.as_deref())?;
    let mut secret = vec![0u8; 32];
    rand::rng().fill(&mut secret[..]);
    let now = Utc::now();
    let hook = SandboxWebhook {
        id: new_id("ach"),
        base_id: base.clone(),
        notification_url: url,
        mac_secret: secret,
        specification: spec,
        created_time: now,
        expiration_time: now + ctx.core.lifetime(),
        payloads: Vec::new(),
    };
    let mut m = ctx.core.lock();
    if m.webhooks.iter().filter(|w| w.base_id == base).count() >= MAX_WEBHOOKS {
        let message = format!("A base may have at most {MAX_WEBHOOKS} webhooks");
        return Err(ApiError::invalid("TOO_MANY_WEBHOOKS", message));
    }
    m.webhooks.push(hook.clone());
    let secret = base64::engine::general_purpose::STANDARD.encode(&hook.mac_secret);
    Ok(Json(json!({"id": hook.id, "macSecretBase64": secret,
        "expirationTime": airtable_time(hook.expiration_time)})))
}

pub async fn list(State(ctx): State<Ctx>, Path(base): Path<String>) -> Answer {
    let m = ctx.core.lock();
    let hooks: Vec<Value> = (m.webhooks.iter())
        .filter(|w| w.base_id == base)
        .map(|w| webhook_json(w, &ctx.core.notifier))
        .collect();
    Ok(Json(json!({ "webhooks": hooks })))
}

pub async fn delete(State(ctx): State<Ctx>, Path((base, id)): Path<(String, String)>) -> Answer {
    let mut m = ctx.core.lock();
    let before = m.webhooks.len();
    m.webhooks.retain(|w| !(w.base_id == base && w.id == id));
    if m.webhooks.len() == before {
        return Err(not_found(&id));
    }
    Ok(Json(json!({})))
}

/// A live webhook gets a new expiration a full lifetime from now; an expired one cannot be
/// refreshed (it has to be created again).
pub async fn refresh(State(ctx): State<Ctx>, Path((base, id)): Path<(String, String)>) -> Answer {
    let lifetime = ctx.core.lifetime();
    let mut m = ctx.core.lock();
    let hook = m.webhook_mut(&base, &id).ok_or_else(|| not_found(&id))?;
    let now = Utc::now();
    if !hook.is_enabled(now) {
        let message = format!("Webhook {id} has expired and is disabled; create a new one");
        return Err(ApiError::invalid(
            "CANNOT_REFRESH_DISABLED_WEBHOOK",
            message,
        ));
    }
    hook.expiration_time = now + lifetime;
    Ok(Json(
        json!({"expirationTime": airtable_time(hook.expiration_time)}),
    ))
}

/// `cursor` (default 1) is the number of the first payload wanted; the answer's `cursor` is the
/// number after the last one returned (unchanged when none is).
pub async fn payloads(
    State(ctx): State<Ctx>,
    Path((base, id)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> Answer {
    let pairs = query_pairs(q.as_deref());
    let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let cursor = match get("cursor") {
        None => 1,
        Some(c) => c.parse::<u64>().ok().filter(|c| *c >= 1).ok_or_else(|| {
            ApiError::invalid(
                "INVALID_REQUEST_UNKNOWN",
                format!("cursor {c} is not a positive integer"),
            )
        })?,
    };
    let limit = match get("limit") {
        None => MAX_PAYLOADS,
        Some(l) => l
            .parse::<usize>()
            .ok()
            .filter(|l| (1..=MAX_PAYLOADS).contains(l))
            .ok_or_else(|| {
                ApiError::invalid(
                    "INVALID_REQUEST_UNKNOWN",
                    format!("limit {l} is not between 1 and {MAX_PAYLOADS}"),
                )
            })?,
    };
    let lifetime = ctx.core.lifetime();
    let mut m = ctx.core.lock();
    let hook = m.webhook_mut(&base, &id).ok_or_else(|| not_found(&id))?;
    let now = Utc::now();
    if hook.is_enabled(now) {
        hook.expiration_time = now + lifetime;
    }
    let first = (cursor - 1) as usize;
    let page: Vec<Value> = hook
        .payloads
        .iter()
        .skip(first)
        .take(limit)
        .cloned()
        .collect();
    let next = cursor + page.len() as u64;
    let might_have_more = next < hook.cursor_for_next_payload();
    Ok(Json(
        json!({"payloads": page, "cursor": next, "mightHaveMore": might_have_more}),
    ))
}
