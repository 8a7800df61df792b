//! Liveness, readiness and the Prometheus scrape endpoint.

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::json;

use super::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
}

async fn healthz() -> impl IntoResponse {
    axum::Json(json!({"status": "ok"}))
}

async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let probe = tokio::time::timeout(std::time::Duration::from_secs(3), state.db.probe()).await;
    if state.engine.as_ref().is_some_and(|e| !e.is_running()) {
        return not_ready("the sync engine's workers are not running");
    }
    match probe {
        Ok(Ok(())) => (StatusCode::OK, axum::Json(json!({"status": "ready"}))),
        Ok(Err(err)) => {
            tracing::warn!(error = %err, "readiness probe failed");
            not_ready("database unavailable")
        }
        Err(_) => not_ready("database did not answer in time"),
    }
}

fn not_ready(reason: &str) -> (StatusCode, axum::Json<serde_json::Value>) {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        axum::Json(json!({"status": "not ready", "error": reason})),
    )
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    ::metrics::gauge!("leadsync_uptime_seconds").set(state.started.elapsed().as_secs_f64());
    // Read at scrape time: counting on every webhook would cost a query per event.
    match crate::store::inbox::depth(&state.db.pool).await {
        Ok(depth) => ::metrics::gauge!("leadsync_inbox_depth").set(depth as f64),
        Err(err) => tracing::warn!(error = %err, "inbox depth unavailable"),
    }
    match crate::store::outbox_depth::depths(&state.db.pool).await {
        Ok(depths) => {
            // Every configured pair, so an empty queue shows as 0 rather than as no series.
            for pair in &state.settings.pairs {
                let d = depths.get(&pair.name);
                let (depth, dead) = d.map_or((0, 0), |d| (d.depth, d.dead_letters));
                ::metrics::gauge!("leadsync_outbox_depth", "pair" => pair.name.clone())
                    .set(depth as f64);
                ::metrics::gauge!("leadsync_dead_letters", "pair" => pair.name.clone())
                    .set(dead as f64);
            }
        }
        Err(err) => tracing::warn!(error = %err, "outbox depth unavailable"),
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}
