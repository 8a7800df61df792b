//! Trello board ↔ board mirrors (CONTRACT §8, issue 14): each mirror's stored webhook actions
//! (inbox rows whose `pair` is the mirror's name) re-read the card and its twin and merge name,
//! description, list, archived state, labels, due date and checklists three-way;
//! reconciliation reads both boards whole. Above `store` and `sync::board`, below `app`; it names no connector.

mod context;
mod decide;
mod details;
mod diff;
mod history;
mod link;
mod lock;
mod log;
mod merge;
mod overwritten;
mod reader;
mod twin;
mod undo;
mod unlanded;
mod values;
mod worker;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio_util::sync::CancellationToken;

use crate::clients::http::ClientError;
use crate::config::Settings;
use crate::store::mirror_links::{self, MirrorSide};
use crate::store::{Db, StoreError};
use crate::sync::board::BoardConnector;

pub use context::{MirrorContext, MissingList};

/// The latest change time (unix ms) the events of a pass show, per side and field.
pub type Times = HashMap<(MirrorSide, String), i64>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("mirror link id: {0}")]
    Link(String),
    #[error("{0}")]
    Value(String),
}

/// Every configured mirror, run by one task (cloned for each run: a replica that leads again
/// starts it afresh).
#[derive(Clone)]
pub struct Mirrors {
    db: Db,
    board: Arc<dyn BoardConnector>,
    mirrors: HashMap<String, Arc<MirrorContext>>,
    debounce: Duration,
    reconcile_every: Option<Duration>,
}

impl Mirrors {
    /// Resolves each mirror's lists on its two boards and records it; `None` without mirrors.
    pub async fn build(
        settings: &Settings,
        db: Db,
        board: Arc<dyn BoardConnector>,
    ) -> anyhow::Result<Option<Self>> {
        if settings.mirrors.is_empty() {
            return Ok(None);
        }
        let member_id = board
            .member_id()
            .await
            .context("reading the token's member")?;
        let mut mirrors = HashMap::new();
        for m in &settings.mirrors {
            // Written differently in the config (a short link and an id), one board after all.
            anyhow::ensure!(
                m.board_a != m.board_b,
                "mirror {}: board_a and board_b are the same board {}",
                m.name,
                m.board_a
            );
            let layout_a = (board.layout(&m.board_a).await)
                .with_context(|| format!("mirror {}: reading board_a {}", m.name, m.board_a))?;
            let layout_b = (board.layout(&m.board_b).await)
                .with_context(|| format!("mirror {}: reading board_b {}", m.name, m.board_b))?;
            let ctx = MirrorContext::resolve(m, member_id.clone(), &layout_a, &layout_b)?;
            mirror_links::upsert_mirror(&db.pool, &m.name, &m.board_a, &m.board_b).await?;
            mirrors.insert(m.name.clone(), Arc::new(ctx));
        }
        let secs = settings.sync.reconcile_interval_secs;
        Ok(Some(Self {
            db,
            board,
            mirrors,
            debounce: Duration::from_millis(settings.sync.debounce_ms),
            reconcile_every: (secs > 0).then(|| Duration::from_secs(secs)),
        }))
    }

    /// Reconciles every mirror, then works through their events until `shutdown`, reconciling
    /// again every `sync.reconcile_interval_secs`.
    pub async fn run(self, shutdown: CancellationToken) {
        let idle = Duration::from_millis(200).min(self.debounce.max(Duration::from_millis(20)));
        let mut next_reconcile = tokio::time::Instant::now();
        while !shutdown.is_cancelled() {
            if tokio::time::Instant::now() >= next_reconcile {
                self.reconcile_all().await;
                next_reconcile = match self.reconcile_every {
                    Some(every) => tokio::time::Instant::now() + every,
                    None => tokio::time::Instant::now() + Duration::from_secs(u64::from(u32::MAX)),
                };
            }
            match self.run_once().await {
                Ok(done) if done > 0 => continue,
                Ok(_) => {}
                Err(err) => tracing::error!(error = %err, "mirror worker pass failed"),
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(idle) => {}
            }
        }
    }

    /// Reconciles every mirror, recording each outcome; answers whether all succeeded.
    pub async fn reconcile_all(&self) -> bool {
        let mut ok = true;
        for ctx in self.mirrors.values() {
            let outcome = self.reconcile(ctx).await;
            if let Err(err) = &outcome {
                tracing::warn!(mirror = %ctx.name, error = %err, "mirror reconciliation failed; the next one repairs it");
            }
            ok &= outcome.is_ok();
            let error = outcome.err().map(|e| e.to_string());
            if let Err(err) =
                mirror_links::reconciled(&self.db.pool, &ctx.name, error.as_deref()).await
            {
                tracing::warn!(mirror = %ctx.name, error = %err, "mirror reconciliation not recorded");
            }
        }
        ok
    }

    /// Both boards read whole: every card is paired by its link or its marker and merged, and a
    /// card in a mapped list without a twin gets one.
    pub async fn reconcile(&self, ctx: &MirrorContext) -> Result<(), Error> {
        let reader =
            reader::Reader::whole(Arc::clone(&self.board), [&ctx.board_a, &ctx.board_b]).await?;
        let mut done = std::collections::HashSet::new();
        let times = Times::new();
        for side in [MirrorSide::A, MirrorSide::B] {
            for card in reader.listed(ctx.board(side)) {
                let link = mirror_links::by_card(&self.db.pool, &ctx.name, side, &card.id).await?;
                if link.is_some_and(|link| !done.insert(link.link_id)) {
                    continue;
                }
                self.pass(ctx, side, &card.id, &reader, &times, false)
                    .await?;
                if let Some(l) =
                    mirror_links::by_card(&self.db.pool, &ctx.name, side, &card.id).await?
                {
                    done.insert(l.link_id);
                }
            }
        }
        tracing::info!(mirror = %ctx.name, "mirror reconciled");
        Ok(())
    }

    /// One card's pass: merged with its twin, its twin's create finished, or given a twin. Held
    /// by the card, then by its link (`lock`), each read again once held: another engine's pass
    /// on the same link (a one-off reconciliation beside the worker) is waited for, not raced.
    async fn pass(
        &self,
        ctx: &MirrorContext,
        side: MirrorSide,
        card_id: &str,
        reader: &reader::Reader,
        times: &Times,
        ours: bool,
    ) -> Result<(), Error> {
        let key = format!("{}:{card_id}", side.as_str());
        let _card = lock::hold(&ctx.name, &key).await;
        let pool = &self.db.pool;
        let Some(link) = mirror_links::by_card(pool, &ctx.name, side, card_id).await? else {
            return self.unlinked(ctx, side, card_id, reader, times).await;
        };
        let _link = lock::hold(&ctx.name, &link.link_id).await;
        match mirror_links::by_id(pool, &ctx.name, &link.link_id).await? {
            Some(link) if link.card(side.other()).is_some() => {
                self.sync_link(ctx, &link, reader, times, ours).await
            }
            Some(link) => self.resume(ctx, &link, reader).await,
            None => Ok(()),
        }
    }
}
