//! `/admin/ui`: the operator's console. The page itself is a data-free shell (login form,
//! inline CSS and JS, all compiled into the binary: no external asset, so it works where the
//! internet is not reachable); everything it shows comes from the data routes below, which sit
//! behind the admin token exactly like `/admin/status`.
//!
//! The token lives in the tab's `sessionStorage` and is sent by the page's script as
//! `Authorization: Bearer …`: never in a URL (logs, history, referrers) and never in a cookie.
//! That is also what makes the actions CSRF-safe: they are POSTs that need that header, and a
//! cross-site form or link cannot set it (a cross-site `fetch` with it needs a CORS preflight,
//! which this server never grants).

mod actions;
mod activity;
mod chart;
mod conflict;
mod lead;
mod overview;
mod page;
mod reconcile;
mod webhooks;

use axum::Router;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};

use super::AppState;
use super::admin::{ApiError, guarded};

/// The shell route and the token-guarded data routes, or `None` without an admin token (then
/// `/admin/ui` answers 404 like every other admin path).
pub fn router(state: &AppState) -> Option<Router<AppState>> {
    let data = Router::new()
        .route("/admin/ui/overview", get(overview::fragment))
        .route("/admin/ui/activity", get(activity::fragment))
        .route("/admin/ui/actions", get(actions::fragment))
        .route("/admin/ui/lead", get(lead::fragment))
        .route("/admin/ui/lead/resync", post(lead::resync))
        .route("/admin/ui/conflict/apply", post(conflict::apply_losing))
        .route("/admin/ui/webhooks", get(webhooks::list))
        .route("/admin/ui/webhooks/register", post(webhooks::register))
        .route("/admin/ui/apps-script", get(actions::apps_script))
        .route("/admin/ui/dead-letters/requeue", post(actions::requeue))
        .route("/admin/ui/reconcile/preview", post(reconcile::preview))
        .route("/admin/ui/reconcile", post(reconcile::confirm));
    let shell = Router::new().route("/admin/ui", get(page::shell));
    Some(shell.merge(guarded(state, data)?))
}

/// A server-rendered piece of a page, never cached (it holds live data behind the token).
fn send_fragment(markup: maud::Markup) -> Response {
    (
        [(axum::http::header::CACHE_CONTROL, "no-store")],
        Html(markup.into_string()),
    )
        .into_response()
}

/// The pair named by a request must be one of the configured ones.
fn known_pair(state: &AppState, pair: Option<&str>) -> Result<String, ApiError> {
    let pair = pair.filter(|p| !p.is_empty()).ok_or_else(|| {
        ApiError::new(StatusCode::BAD_REQUEST, "pair: name the pair (?pair=NAME)")
    })?;
    match state.settings.pair(pair) {
        Some(p) => Ok(p.name.clone()),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("pair: no pair named \"{pair}\" in the configuration"),
        )),
    }
}

/// Query-string escaping (anything but unreserved characters) of a value put in a URL.
fn percent(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
