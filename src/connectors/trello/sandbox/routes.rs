//! The emulated REST surface under `/1`: router, auth check, and the read endpoints.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Router, middleware};
use serde_json::{Value, json};

use super::actions::matches_filter;
use super::auth::{credentials, quota_keys};
use super::model::{self, card_json, field_json, list_json};
use super::ops::ApiError;
use super::request::{Ctx, Q, check_id};
use super::{details, details_http, writes};
use crate::sandbox::common::{Gate, GateHooks, gate_middleware};

pub fn router(ctx: Ctx, gate: Gate) -> Router {
    let hooks = GateHooks {
        gate,
        quota_keys: Arc::new(|req: &Request| quota_keys(req.headers(), req.uri())),
        error_response: Arc::new(gate_error),
    };
    let api = Router::new()
        .route("/members/me", get(member_me))
        .route("/boards/{id}", get(board))
        .route("/boards/{id}/lists", get(board_lists))
        .route("/boards/{id}/customFields", get(board_fields))
        .route("/boards/{id}/cards", get(board_cards_open))
        .route("/boards/{id}/cards/{filter}", get(board_cards))
        .route("/cards", post(writes::create_card))
        .route(
            "/cards/{id}",
            get(card)
                .put(writes::update_card)
                .delete(writes::delete_card),
        )
        .route("/cards/{id}/customFieldItems", get(card_items))
        .route("/cards/{id}/customFields", put(writes::set_items))
        .route("/cards/{id}/actions", get(card_actions))
        .route(
            "/cards/{id}/customField/{field}/item",
            put(writes::set_item),
        )
        .route(
            "/boards/{id}/labels",
            get(details_http::board_labels).post(details_http::create_label),
        )
        .route("/cards/{id}/idLabels", post(details_http::add_label))
        .route(
            "/cards/{id}/idLabels/{label}",
            delete(details_http::remove_label),
        )
        .route(
            "/cards/{id}/checklists",
            post(details_http::create_checklist),
        )
        .route(
            "/checklists/{id}",
            put(details_http::update_checklist).delete(details_http::delete_checklist),
        )
        .route(
            "/checklists/{id}/checkItems",
            post(details_http::create_item),
        )
        .route(
            "/checklists/{id}/checkItems/{item}",
            delete(details_http::delete_item),
        )
        .route(
            "/cards/{id}/checkItem/{item}",
            put(details_http::update_item),
        )
        .route("/lists", post(writes::create_list))
        .route("/customFields", post(writes::create_field))
        .route("/webhooks", post(writes::create_webhook))
        .route(
            "/webhooks/{id}",
            get(writes::get_webhook).delete(writes::delete_webhook),
        )
        .route("/tokens/{token}/webhooks", get(writes::token_webhooks))
        .fallback(|| async { ApiError::not_found() })
        .layer(middleware::from_fn_with_state(ctx.clone(), require_auth))
        .with_state(ctx);
    Router::new()
        .nest("/1", api)
        .layer(middleware::from_fn_with_state(hooks, gate_middleware))
}

/// Trello answers quota errors in JSON and injected server errors in plain text.
fn gate_error(status: StatusCode) -> Response {
    if status == StatusCode::TOO_MANY_REQUESTS {
        let body = json!({"error": "API_TOKEN_LIMIT_EXCEEDED", "message": "Rate limit exceeded"});
        return (status, Json(body)).into_response();
    }
    ApiError::new(status, status.canonical_reason().unwrap_or("error")).into_response()
}

async fn require_auth(State(ctx): State<Ctx>, req: Request, next: Next) -> Response {
    let c = credentials(req.headers(), req.uri());
    let verdict = match (c.key, c.token) {
        (Some(k), _) if k != ctx.key => Err("invalid key"),
        (None, _) => Err("invalid key"),
        (_, None) => Err("unauthorized permission requested"),
        (_, Some(t)) if t != ctx.token => Err("invalid token"),
        _ => Ok(()),
    };
    match verdict {
        Ok(()) => next.run(req).await,
        Err(message) => ApiError::new(StatusCode::UNAUTHORIZED, message).into_response(),
    }
}

async fn member_me(State(ctx): State<Ctx>) -> Result<Json<Value>, ApiError> {
    let m = ctx.core.lock();
    let member = m
        .member(&ctx.api_member_id)
        .ok_or_else(ApiError::not_found)?;
    Ok(Json(model::member_json(member)))
}

async fn board(State(ctx): State<Ctx>, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    check_id(&id)?;
    let m = ctx.core.lock();
    Ok(Json(model::board_json(
        m.board(&id).ok_or_else(ApiError::not_found)?,
    )))
}

async fn board_lists(
    State(ctx): State<Ctx>,
    Path(id): Path<String>,
    Query(q): Q,
) -> Result<Json<Value>, ApiError> {
    check_id(&id)?;
    let m = ctx.core.lock();
    let board = m.board(&id).ok_or_else(ApiError::not_found)?;
    let filter = q.get("filter").map_or("open", String::as_str);
    let keep = |closed: bool| match filter {
        "open" => Ok(!closed),
        "closed" => Ok(closed),
        "all" => Ok(true),
        _ => Err(ApiError::invalid("filter")),
    };
    let mut lists = Vec::new();
    for l in m.lists.iter().filter(|l| l.id_board == board.id) {
        if keep(l.closed)? {
            lists.push(l);
        }
    }
    lists.sort_by(|a, b| a.pos.total_cmp(&b.pos));
    Ok(Json(Value::Array(
        lists.into_iter().map(list_json).collect(),
    )))
}

async fn board_fields(
    State(ctx): State<Ctx>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    check_id(&id)?;
    let m = ctx.core.lock();
    let board = m.board(&id).ok_or_else(ApiError::not_found)?;
    let mut fields: Vec<_> = m.fields.iter().filter(|f| f.id_board == board.id).collect();
    fields.sort_by(|a, b| a.pos.total_cmp(&b.pos));
    Ok(Json(Value::Array(
        fields.into_iter().map(field_json).collect(),
    )))
}

async fn board_cards_open(
    ctx: State<Ctx>,
    Path(id): Path<String>,
    q: Q,
) -> Result<Json<Value>, ApiError> {
    list_cards(ctx, id, "open".into(), q).await
}

async fn board_cards(
    ctx: State<Ctx>,
    Path((id, filter)): Path<(String, String)>,
    q: Q,
) -> Result<Json<Value>, ApiError> {
    list_cards(ctx, id, filter, q).await
}

/// At most `limit` (≤ 1000) cards per call; with `limit` or `before` they come newest id first,
/// which is what lets a client page back with `before` = the smallest id it got.
async fn list_cards(
    State(ctx): State<Ctx>,
    id: String,
    filter: String,
    Query(q): Q,
) -> Result<Json<Value>, ApiError> {
    check_id(&id)?;
    let limit = match q.get("limit") {
        None => 1000,
        Some(l) => l
            .parse::<usize>()
            .ok()
            .filter(|l| (1..=1000).contains(l))
            .ok_or_else(|| ApiError::invalid("limit"))?,
    };
    let with_items = q.get("customFieldItems").is_some_and(|v| v == "true");
    let m = ctx.core.lock();
    let board = m.board(&id).ok_or_else(ApiError::not_found)?;
    let keep = |closed: bool| match filter.as_str() {
        "open" | "visible" => Ok(!closed),
        "closed" => Ok(closed),
        "all" => Ok(true),
        _ => Err(ApiError::invalid("filter")),
    };
    let mut cards = Vec::new();
    for c in m.cards.iter().filter(|c| c.id_board == board.id) {
        let before_ok = q.get("before").is_none_or(|b| c.id < *b);
        if keep(c.closed)? && before_ok {
            cards.push(c);
        }
    }
    if q.contains_key("limit") || q.contains_key("before") {
        cards.sort_by(|a, b| b.id.cmp(&a.id));
    } else {
        let list_pos = |id: &str| m.list(id).map_or(0.0, |l| l.pos);
        cards.sort_by(|a, b| {
            list_pos(&a.id_list)
                .total_cmp(&list_pos(&b.id_list))
                .then(a.pos.total_cmp(&b.pos))
        });
    }
    let with_lists = q.get("checklists").is_some_and(|v| v == "all");
    let out = cards
        .into_iter()
        .take(limit)
        .map(|c| {
            let mut json = card_json(&m, c, with_items);
            if with_lists {
                details::with_checklists(&m, &c.id, &mut json);
            }
            json
        })
        .collect();
    Ok(Json(Value::Array(out)))
}

async fn card(
    State(ctx): State<Ctx>,
    Path(id): Path<String>,
    Query(q): Q,
) -> Result<Json<Value>, ApiError> {
    check_id(&id)?;
    let with_items = q.get("customFieldItems").is_some_and(|v| v == "true");
    let m = ctx.core.lock();
    let c = m.card(&id).ok_or_else(ApiError::not_found)?;
    let mut json = card_json(&m, c, with_items);
    if q.get("checklists").is_some_and(|v| v == "all") {
        details::with_checklists(&m, &c.id, &mut json);
    }
    Ok(Json(json))
}

async fn card_items(
    State(ctx): State<Ctx>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    check_id(&id)?;
    let m = ctx.core.lock();
    let c = m.card(&id).ok_or_else(ApiError::not_found)?;
    Ok(Json(card_json(&m, c, true)["customFieldItems"].take()))
}

/// The card's actions, newest first, that pass `filter` (Trello's default: comments and list
/// moves), at most `limit` (default 50, ≤ 1000); each shaped as a webhook delivers it.
async fn card_actions(
    State(ctx): State<Ctx>,
    Path(id): Path<String>,
    Query(q): Q,
) -> Result<Json<Value>, ApiError> {
    check_id(&id)?;
    let filter = q
        .get("filter")
        .map_or("commentCard,updateCard:idList", String::as_str);
    let limit = match q.get("limit") {
        None => 50,
        Some(l) => l
            .parse::<usize>()
            .ok()
            .filter(|l| (1..=1000).contains(l))
            .ok_or_else(|| ApiError::invalid("limit"))?,
    };
    let m = ctx.core.lock();
    let card = m.card(&id).ok_or_else(ApiError::not_found)?;
    let log = m.card_actions.get(&card.id).map_or(&[][..], Vec::as_slice);
    let out = log
        .iter()
        .rev()
        .filter(|a| matches_filter(a, filter))
        .take(limit)
        .cloned()
        .collect();
    Ok(Json(Value::Array(out)))
}
