//! Webhook ingress: `POST /webhooks/trello`, `HEAD /webhooks/trello`, `POST /webhooks/sheets`
//! `POST /webhooks/airtable` and `POST /webhooks/notion`. Every other method on these paths answers 405.

mod airtable;
mod ingress;
mod notion;
mod receive;

use axum::Router;
use axum::routing::post;

pub use ingress::{Ingress, IngressError};

use super::AppState;
use crate::inbound::{AIRTABLE_PATH, NOTION_PATH, SHEETS_PATH, TRELLO_PATH};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            TRELLO_PATH,
            post(receive::trello)
                .head(receive::trello_head)
                .fallback(receive::method_not_allowed),
        )
        .route(
            SHEETS_PATH,
            post(receive::sheets).fallback(receive::method_not_allowed),
        )
        .route(
            AIRTABLE_PATH,
            post(airtable::ping).fallback(receive::method_not_allowed),
        )
        .route(
            NOTION_PATH,
            post(notion::receive).fallback(receive::method_not_allowed),
        )
}
