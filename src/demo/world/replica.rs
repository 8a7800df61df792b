//! More daemons on the world's database (CONTRACT §9: replicas on PostgreSQL): each one a real
//! app in this process on its own loopback port, with clients like the world's own daemon, and
//! the engine parts every daemon of the world is built with.

use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::{World, airtable, notion};
use crate::app::{App, EngineMode, EngineParts};
use crate::http::AppState;
use crate::sync::outbox::DispatchOptions;

/// One more daemon of the world, serving on its own port.
pub struct Replica {
    pub state: AppState,
    pub base_url: String,
    shutdown: CancellationToken,
    handle: JoinHandle<anyhow::Result<()>>,
}

impl Replica {
    /// Whether this replica runs the engine now (one leader per database).
    pub fn is_leader(&self) -> bool {
        (self.state.engine.as_ref()).is_some_and(|e| e.is_leader())
    }

    /// Stops it gracefully and waits for it.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        self.handle.await?
    }
}

impl World {
    /// The clients and dispatch pacing of every daemon this world starts in-process.
    pub(crate) fn engine_parts(&self) -> anyhow::Result<EngineParts> {
        let (trello, sheets) = self.clients()?;
        // The emulators answer at once: retry after milliseconds, not seconds.
        let dispatch = DispatchOptions {
            base_backoff: self.options.dispatch_backoff,
            max_backoff: Duration::from_secs(2),
            idle: Duration::from_millis(50),
            ..DispatchOptions::default()
        };
        let airtable = (self.airtable.as_ref())
            .map(|sandbox| airtable::client(sandbox, self.options.airtable_limited))
            .transpose()?;
        Ok(EngineParts {
            trello,
            sheets,
            airtable,
            notion: self.notion.as_ref().map(notion::client).transpose()?,
            dispatch,
        })
    }

    /// Starts one more daemon on this world's database and config, on a free loopback port
    /// (its public URL stays the world's: webhooks are signed for the one address a load
    /// balancer would have).
    pub async fn start_replica(&self) -> anyhow::Result<Replica> {
        let mut settings = self.settings.clone();
        settings.server.bind = "127.0.0.1:0".into();
        let parts = self.engine_parts()?;
        let app = App::build_with(settings, EngineMode::WithClients(Box::new(parts))).await?;
        let base_url = format!("http://{}", app.local_addr());
        let state = app.state().clone();
        let shutdown = CancellationToken::new();
        let handle = tokio::spawn(app.run_until_stopped(shutdown.clone()));
        Ok(Replica {
            state,
            base_url,
            shutdown,
            handle,
        })
    }
}
