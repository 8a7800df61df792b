//! Webhook ingress: `POST /webhooks/trello`, `HEAD /webhooks/trello`, `POST /webhooks/sheets`
//! `POST /webhooks/airtable` and `POST /webhooks/notion`. Every other method on these paths answers 405.

mod airtable;
mod ingress;
mod notion;
mod receive;

use std::time::Duration;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
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
        .layer(axum::middleware::from_fn(bounded))
}

/// The longest a webhook is answered in. Each store step has a shorter bound of its own (the
/// pool's acquire timeout, the inbox writer's), which answers 503 naming it; this one catches a
/// statement sent on a connection whose server went silent (a dead link, no reset), which
/// nothing else ends: the sender gets 503 with `Retry-After`, never a hung request.
const WEBHOOK_BOUND: Duration = Duration::from_secs(10);

async fn bounded(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    match tokio::time::timeout(WEBHOOK_BOUND, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            metrics::counter!("leadsync_webhooks_timed_out_total").increment(1);
            tracing::error!("a webhook was not stored in time; answered 503");
            let mut response = receive::error(
                StatusCode::SERVICE_UNAVAILABLE,
                "the database did not answer in time, retry",
            );
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from_static(receive::RETRY_AFTER_SECS),
            );
            response
        }
    }
}
