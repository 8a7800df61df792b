//! The daemon as a value: build it (database, migrations, listener), then run it until stopped.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::config::Settings;
use crate::connectors;
use crate::connectors::airtable::webhooks::upkeep::WebhookUpkeep;
use crate::connectors::sheets::client::SheetsClient;
use crate::connectors::trello::board_ids::{
    mirrors_need_resolution, needs_resolution, resolve_board_ids, resolve_mirror_board_ids,
};
use crate::connectors::trello::client::TrelloClient;
use crate::connectors::trello::client::build::trello_client;
use crate::http::{self, AppState};
use crate::shutdown;
use crate::store::Db;
use crate::sync::engine::Engine;
use crate::sync::outbox::DispatchOptions;

pub use crate::shutdown::SHUTDOWN_DEADLINE;

mod leader;

pub struct App {
    listener: TcpListener,
    addr: SocketAddr,
    state: AppState,
    engine: Option<Engine>,
    /// Board ↔ board mirrors, beside the pairs' engine.
    mirrors: Option<crate::mirror::Mirrors>,
    /// Refreshes Airtable webhooks before they expire; beside the HTTP door, so it runs with
    /// or without the engine.
    upkeep: Option<WebhookUpkeep>,
}

/// Whether and how the sync engine runs beside the HTTP server.
pub enum EngineMode {
    /// Only the HTTP side (webhooks are stored, nothing is synced): used by ingress tests.
    Off,
    /// Clients built from the settings (production).
    FromSettings,
    /// Clients and dispatch pacing given by the caller (the demo and tests, whose emulators
    /// answer in microseconds and whose quotas are scaled).
    WithClients(Box<EngineParts>),
}

/// What [`EngineMode::WithClients`] runs the engine with.
pub struct EngineParts {
    pub trello: TrelloClient,
    pub sheets: SheetsClient,
    /// For Airtable pairs.
    pub airtable: Option<crate::connectors::airtable::client::AirtableClient>,
    /// For Notion pairs.
    pub notion: Option<crate::connectors::notion::client::NotionClient>,
    pub dispatch: DispatchOptions,
}

impl App {
    /// The daemon as `serve` runs it: the engine starts when pairs are configured, after they
    /// resolve against the real APIs.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let mode = if settings.pairs.is_empty() && settings.mirrors.is_empty() {
            EngineMode::Off
        } else {
            EngineMode::FromSettings
        };
        Self::build_with(settings, mode).await
    }

    /// Binds `server.bind` (port 0 picks a free port, which is how tests run several apps at
    /// once), then builds as [`App::build_on`].
    pub async fn build_with(settings: Settings, mode: EngineMode) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(&settings.server.bind)
            .await
            .with_context(|| format!("binding server.bind {}", settings.server.bind))?;
        Self::build_on(settings, listener, mode).await
    }

    /// Opens the database, applies pending migrations and resolves the engine's pairs, on a
    /// listener bound by the caller (`server.bind` is then ignored). Tests use it to learn the
    /// port first and put it in `server.public_url`, which Trello's HEAD check of a new webhook
    /// must reach, without a window in which the port could be lost.
    pub async fn build_on(
        settings: Settings,
        listener: TcpListener,
        mode: EngineMode,
    ) -> anyhow::Result<Self> {
        let trello = daemon_trello_client(&settings, &mode)?;
        let settings = resolve_boards(settings, trello.as_ref()).await?;
        let db = Db::connect(&settings.database.url)
            .await
            .context("opening the database")?;
        let report = db.migrate().await.context("applying migrations")?;
        for name in &report.applied {
            tracing::info!(migration = %name, "migration applied");
        }
        let ingress = http::webhooks::Ingress::load(&settings, &db)
            .await
            .context("preparing webhook verification")?;
        let (engine, mirrors) = build_sync(&settings, &db, mode, trello.clone()).await?;
        let upkeep = WebhookUpkeep::for_settings(&settings, db.clone());
        let addr = listener.local_addr()?;
        let state = AppState {
            settings: Arc::new(settings),
            inbox: crate::store::inbox_writer::InboxWriter::spawn(db.clone()),
            db,
            metrics: http::metrics::handle(),
            started: Instant::now(),
            ingress: Arc::new(ingress),
            engine: engine.as_ref().map(Engine::handle),
            trello,
        };
        Ok(Self {
            listener,
            addr,
            state,
            engine,
            mirrors,
            upkeep,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` is cancelled (or the server fails), then stops within
    /// [`SHUTDOWN_DEADLINE`]: in-flight requests finish, the engine's tasks stop, the database
    /// closes; whatever is still running at the deadline is aborted and named in a warning.
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let App {
            listener,
            addr,
            state,
            engine,
            mirrors,
            upkeep,
        } = self;
        let background = leader::Background {
            engine,
            mirrors,
            upkeep,
        };
        let db_url = (state.settings.database.url.as_str(), state.db.dialect());
        let tasks = leader::start(background, db_url, state.engine.clone(), &shutdown);
        tracing::info!(%addr, "listening");
        let db = state.db.clone();
        let limits = http::serve::Limits::from_settings(&state.settings.server);
        let router = http::router(state);
        let server = http::serve::serve(listener, router, limits, shutdown.clone());
        let mut server = std::pin::pin!(server);
        let ended = tokio::select! {
            result = &mut server => Some(result),
            () = shutdown.cancelled() => None,
        };
        let deadline = tokio::time::Instant::now() + SHUTDOWN_DEADLINE;
        // A server that ended on its own (an accept error) stops the engine too.
        shutdown.cancel();
        let served = match ended {
            Some(result) => result,
            None => match tokio::time::timeout_at(deadline, &mut server).await {
                Ok(result) => result,
                Err(_) => {
                    tracing::warn!(
                        "in-flight requests did not finish before the shutdown deadline"
                    );
                    Ok(())
                }
            },
        };
        let unstopped = shutdown::join_until(tasks, deadline).await;
        if !unstopped.is_empty() {
            tracing::warn!(tasks = ?unstopped, deadline_secs = SHUTDOWN_DEADLINE.as_secs(), "tasks did not stop before the shutdown deadline; aborted");
        }
        // Closing waits for every pooled connection to come back; an aborted task returns its
        // own when dropped, so only a wedged connection thread could hold this up.
        let close_by = deadline.max(tokio::time::Instant::now() + DB_CLOSE_BOUND);
        if tokio::time::timeout_at(close_by, db.close()).await.is_err() {
            tracing::warn!("database connections still busy at shutdown; exiting without them");
        }
        tracing::info!("shutdown complete");
        served.context("HTTP server")
    }
}

/// The daemon's one Trello client, built once: the pairs' engine, the mirrors, the board
/// resolution and the `/admin` webhook calls all go through it, so one token's budget (one
/// limiter) is shared by all of them, and the console shows that one. `None` with the engine
/// off (ingress tests), where nothing calls Trello on its own.
fn daemon_trello_client(
    settings: &Settings,
    mode: &EngineMode,
) -> anyhow::Result<Option<TrelloClient>> {
    Ok(match mode {
        EngineMode::Off => None,
        EngineMode::FromSettings => Some(trello_client(settings)?),
        EngineMode::WithClients(parts) => Some(parts.trello.clone()),
    })
}

/// The pairs' engine (when pairs are configured) and the mirrors (when mirrors are), both on
/// the one board connector over `trello`. Mirrors alone need no tracker (nor its credentials)
/// and no pairs' engine.
async fn build_sync(
    settings: &Settings,
    db: &Db,
    mode: EngineMode,
    trello: Option<TrelloClient>,
) -> anyhow::Result<(Option<Engine>, Option<crate::mirror::Mirrors>)> {
    let Some(trello) = trello else {
        return Ok((None, None));
    };
    let board = connectors::board(trello);
    let mirrors = crate::mirror::Mirrors::build(settings, db.clone(), board.clone()).await?;
    if settings.pairs.is_empty() {
        return Ok((None, mirrors));
    }
    let (trackers, dispatch) = match mode {
        EngineMode::WithClients(parts) => {
            let EngineParts {
                sheets,
                airtable,
                notion,
                dispatch,
                ..
            } = *parts;
            let trackers = connectors::trackers_with(sheets, airtable);
            (
                connectors::with_notion(trackers, notion, settings),
                Some(dispatch),
            )
        }
        EngineMode::FromSettings | EngineMode::Off => (connectors::trackers(settings)?, None),
    };
    let engine = Engine::build(settings, db.clone(), board, trackers).await?;
    Ok((
        Some(match dispatch {
            Some(options) => engine.with_dispatch_options(options),
            None => engine,
        }),
        mirrors,
    ))
}

/// Replaces short links and board URLs in `board_id` with full ids before the webhook routes
/// and the engine are built from them. Without an engine there is no client to ask, and the
/// ids are used as given.
async fn resolve_boards(
    mut settings: Settings,
    client: Option<&TrelloClient>,
) -> anyhow::Result<Settings> {
    if !needs_resolution(&settings.pairs) && !mirrors_need_resolution(&settings.mirrors) {
        return Ok(settings);
    }
    let Some(client) = client else {
        return Ok(settings);
    };
    resolve_board_ids(&mut settings.pairs, client).await?;
    (resolve_mirror_board_ids(&mut settings.mirrors, client).await).map_err(anyhow::Error::msg)?;
    Ok(settings)
}

/// Time the database close always gets, even when the deadline has already passed.
const DB_CLOSE_BOUND: Duration = Duration::from_secs(2);
