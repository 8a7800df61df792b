//! The overview fragment: the Trello API budget, and one card per pair with its systems, its
//! tracker's API budget, webhooks, queues, dead letters, drain estimate, last reconcile and last
//! error (the numbers `/admin/status` computes).

use axum::extract::State;
use axum::response::Response;
use maud::{Markup, html};

use super::send_fragment;
use crate::clients::http::LimiterStats;
use crate::config::PairSettings;
use crate::http::AppState;
use crate::http::admin::ApiError;
use crate::model::TrackerKind;
use crate::store::activity::rfc3339;
use crate::store::status::{PairStatus, pair_statuses};
use crate::store::{Dialect, now_ms, throughput, tracker_webhooks, webhooks};
use crate::sync::connector::Budget;

/// An Airtable webhook this close to expiry is shown as a problem (the daemon refreshes them
/// two days ahead, so one this close means refreshing failed).
const EXPIRY_WARNING_MS: i64 = 24 * 3_600_000;

/// What the overview knows of a pair's webhooks.
struct Hooks {
    trello: usize,
    /// `(expires_at, last_error)` of each tracker webhook (Airtable).
    tracker: Vec<(Option<i64>, Option<String>)>,
}

async fn markup(state: &AppState) -> Result<Markup, ApiError> {
    let pool = &state.db.pool;
    let statuses = pair_statuses(pool).await?;
    let trello_hooks = webhooks::list(pool).await?;
    let tracker_hooks = tracker_webhooks::list(pool).await?;
    let engine = state.engine.as_ref().is_some_and(|e| e.is_running());
    let standby = state.engine.as_ref().is_some_and(|e| !e.is_leader());
    let now = now_ms();
    let hour = throughput::last_hour(pool, now).await?;
    Ok(html! {
        p.muted {
            "Engine: "
            @if !engine { span.bad { "not running" } }
            @else if standby { span { "standby" } }
            @else { span.ok { "running" } }
            " · " (leadership(state))
            " · refreshed " (rfc3339(now))
        }
        @if let Some(trello) = &state.trello { (trello_budget(trello.limiter_stats())) }
        (super::chart::throughput(&hour))
        div.cards {
            @for status in &statuses {
                @let settings = state.settings.pair(&status.name);
                @let hooks = Hooks {
                    trello: trello_hooks.iter().filter(|w| {
                        w.pair.as_deref() == Some(status.name.as_str())
                            || settings.is_some_and(|p| p.board_id == w.board_id)
                    }).count(),
                    tracker: tracker_hooks.iter().filter(|w| w.pair == status.name)
                        .map(|w| (w.expires_at, w.last_error.clone())).collect(),
                };
                @let budgets = state.engine.as_ref().map(|e| e.tracker_budget(&status.name)).unwrap_or_default();
                (pair_card(status, settings, &hooks, &budgets, now))
            }
        }
        @if statuses.is_empty() { p { "No pair is stored yet: the daemon records its pairs when it starts." } }
    })
}

/// Whether this replica leads the engine (CONTRACT §9): on PostgreSQL it is one of several
/// replicas and only the leader runs the background work, so an operator looking at a standby
/// knows why its queues move without it.
fn leadership(state: &AppState) -> Markup {
    let leads = state.engine.as_ref().is_some_and(|e| e.is_leader());
    let several = state.db.dialect() == Dialect::Postgres;
    html! {
        span #leadership data-leader=(leads) {
            @match (several, leads) {
                (false, _) => "one process (SQLite): it runs the engine's work",
                (true, true) => "this replica leads: one of the replicas on PostgreSQL, it runs the engine's work",
                (true, false) => "standby: one of the replicas on PostgreSQL; another leads and runs the engine's work, this one serves webhooks and the console",
            }
        }
    }
}

pub async fn fragment(State(state): State<AppState>) -> Result<Response, ApiError> {
    Ok(send_fragment(markup(&state).await?))
}

/// The pair's two systems as `(tracker, board)`.
fn systems(settings: Option<&PairSettings>) -> (String, String) {
    let Some(p) = settings else {
        return ("not in the configuration".into(), String::new());
    };
    let tracker = match p.tracker {
        TrackerKind::Sheets => format!("Google Sheet {} ({})", p.spreadsheet_id, p.sheet),
        TrackerKind::Airtable => format!(
            "Airtable base {}, table {}",
            p.base_id.as_deref().unwrap_or("?"),
            p.table.as_deref().unwrap_or("?")
        ),
        TrackerKind::Notion => match (&p.database_id, &p.data_source_id) {
            (Some(db), _) => format!("Notion database {db}"),
            (None, ds) => format!("Notion data source {}", ds.as_deref().unwrap_or("?")),
        },
    };
    (tracker, format!("board {}", p.board_id))
}

/// The tracker's API as the overview names it.
fn tracker_system(settings: Option<&PairSettings>) -> &'static str {
    match settings.map(|p| p.tracker) {
        Some(TrackerKind::Sheets) => "Google Sheets",
        Some(TrackerKind::Airtable) => "Airtable",
        Some(TrackerKind::Notion) => "Notion",
        None => "Tracker",
    }
}

fn webhook_health(hooks: &Hooks, tracker: Option<TrackerKind>, now: i64) -> Markup {
    html! {
        @if hooks.trello == 0 { span.bad { "Trello: none registered" } }
        @else { span.ok { "Trello: " (hooks.trello) " registered" } }
        @if tracker == Some(TrackerKind::Airtable) {
            br;
            @if hooks.tracker.is_empty() { span.bad { "Airtable: none registered" } }
            @for (expires, error) in &hooks.tracker {
                @let soon = expires.is_some_and(|t| t - now < EXPIRY_WARNING_MS);
                span class=(if soon || error.is_some() { "bad" } else { "ok" }) {
                    "Airtable: expires " (expires.map_or("unknown".to_owned(), rfc3339))
                    @if let Some(e) = error { " · " (e) }
                }
            }
        }
    }
}

fn pair_card(
    s: &PairStatus,
    settings: Option<&PairSettings>,
    hooks: &Hooks,
    budgets: &[Budget],
    now: i64,
) -> Markup {
    let eta = match s.drain_eta_secs {
        Some(0) => "drained".to_owned(),
        Some(secs) => format!("about {secs} s"),
        None => "stalled (nothing sent in the last minute)".to_owned(),
    };
    html! {
        article.card data-pair=(s.name) {
            h2 { (s.name) }
            dl {
                @let (tracker, board) = systems(settings);
                dt { "Tracker" } dd { (tracker) }
                dt { "Trello" } dd { (board) }
                dt { "Webhooks" } dd { (webhook_health(hooks, settings.map(|p| p.tracker), now)) }
                @if !budgets.is_empty() {
                    dt { (tracker_system(settings)) " API budget" } dd.tracker-budget { (budget(budgets)) }
                }
                dt { "Links" } dd.links { (s.links) }
                dt { "Inbox" } dd { (s.inbox_depth) " waiting" }
                dt { "Outbox" } dd { (s.outbox_depth) " waiting · " (s.drained_last_minute) " sent last minute" }
                dt { "Drain" } dd { (eta) }
                dt { "Dead letters" }
                dd class=(if s.dead_letters > 0 { "dead-letters bad" } else { "dead-letters" }) {
                    (s.dead_letters)
                }
                dt { "Last reconcile" }
                dd.last-reconcile { (s.last_reconcile_at.as_deref().unwrap_or("never")) }
                dt { "Last error" }
                dd class=(if s.last_error.is_some() { "bad" } else { "" }) {
                    (s.last_error.as_deref().unwrap_or("none"))
                }
            }
        }
    }
}

/// The Trello API budget, per token and per key (the daemon's one Trello client serves every
/// pair, every mirror and the admin calls).
fn trello_budget(limiters: Vec<LimiterStats>) -> Markup {
    let budgets: Vec<Budget> = ["per token", "per key"]
        .into_iter()
        .zip(limiters)
        .map(|(scope, stats)| Budget {
            scope: scope.to_owned(),
            stats,
        })
        .collect();
    html! {
        @if !budgets.is_empty() {
            p #budget.muted { "Trello API budget: " (budget(&budgets)) }
        }
    }
}

/// Each limit's allowance and the calls within its current window (the budget in use now),
/// the calls made through it since start and how many had to wait for a slot (a budget in
/// steady use shows waits growing).
fn budget(budgets: &[Budget]) -> Markup {
    html! {
        @for (i, b) in budgets.iter().enumerate() {
            @let l = &b.stats;
            @if i > 0 { "; " }
            span.budget data-scope=(b.scope) {
                (b.scope) ": " (l.in_window) " of " (l.max) " per " (l.per.as_secs()) " s in use, "
                (l.granted) " calls since start, " (l.delayed) " waited for the budget"
                @if l.paused { span.bad { " (paused by the API now)" } }
            }
        }
    }
}
