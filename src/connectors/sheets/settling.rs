//! A sheet batch's writes land by position and are checked by the read after them, which puts
//! back what landed on rows that moved. Until that check is done another row may hold a lead's
//! value; a reconciliation reading the sheet then took it for that row's person's edit and
//! copied it to that row's card (chaos seed 4, replayed with the check's read failing once: the
//! read again came 0.5 s later, after the reconciliation's). So a batch holds its sheet from its
//! first read to its check, and a reconciliation's read of that sheet waits for it: in this
//! process by a lock per sheet, and in every process sharing the database (a one-off
//! `leadsync reconcile` beside the daemon) by a lease in the store (`store::sheet_settling`):
//! one row written when a batch starts and deleted when it ends, polled by a waiting read.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::Rng;
use tokio::sync::{OwnedRwLockReadGuard, OwnedRwLockWriteGuard, RwLock};

use crate::store::sheet_settling::{self, Sheet};
use crate::store::{Db, now_ms};

/// A batch's lease: longer than a batch takes under faults (reads owed and retried, a
/// `Retry-After` or two), and the longest a holder that died keeps the others waiting.
pub(crate) const LEASE: Duration = Duration::from_secs(30);
/// How often a waiting read or batch looks at the lease again.
const POLL: Duration = Duration::from_millis(25);

/// A sheet: (spreadsheet id, sheet name).
type SheetKey = (String, String);

/// One lock per sheet: batches hold it exclusively, reads shared.
#[derive(Default)]
pub(crate) struct Settling {
    sheets: Mutex<HashMap<SheetKey, Arc<RwLock<()>>>>,
}

/// A batch's hold on its sheet: this process's lock and, unless the store could not be asked,
/// the lease. [`Held::release`] gives the lease back; dropped without it (the batch cancelled)
/// the lease is given back on the side, or lapses.
pub(crate) struct Held {
    _lock: OwnedRwLockWriteGuard<()>,
    lease: Option<Lease>,
}

struct Lease {
    db: Db,
    key: SheetKey,
    holder: String,
}

impl Lease {
    async fn release(self) {
        let at = sheet(&self.key);
        if let Err(e) = sheet_settling::release(&self.db.pool, at, &self.holder).await {
            tracing::warn!(sheet = %self.key.1, error = %e, "could not give the sheet's settling lease back; it lapses by itself");
        }
    }
}

impl Held {
    /// Ends the hold once the batch's check is done.
    pub(crate) async fn release(mut self) {
        if let Some(lease) = self.lease.take() {
            lease.release().await;
        }
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        if let Some(lease) = self.lease.take()
            && let Ok(rt) = tokio::runtime::Handle::try_current()
        {
            rt.spawn(lease.release());
        }
    }
}

fn sheet(key: &SheetKey) -> Sheet<'_> {
    Sheet {
        spreadsheet_id: &key.0,
        sheet: &key.1,
    }
}

impl Settling {
    fn lock_of(&self, spreadsheet: &str, sheet: &str) -> Arc<RwLock<()>> {
        // A poisoned map only means a holder panicked: the locks in it are still sound.
        let mut sheets = self.sheets.lock().unwrap_or_else(|e| e.into_inner());
        let key = (spreadsheet.to_owned(), sheet.to_owned());
        Arc::clone(sheets.entry(key).or_default())
    }

    /// Held by a batch from its first read to the end of its check. Waits for another
    /// process's batch at most [`LEASE`]; a store it cannot ask, or a wait that long, and the
    /// batch goes on without the lease (the window it closes is milliseconds wide).
    pub(crate) async fn batch(&self, db: &Db, spreadsheet: &str, name: &str) -> Held {
        let lock = self.lock_of(spreadsheet, name).write_owned().await;
        let key = (spreadsheet.to_owned(), name.to_owned());
        let holder = format!(
            "{}:{:016x}",
            std::process::id(),
            rand::rng().random::<u64>()
        );
        let started = Instant::now();
        let lease = loop {
            let now = now_ms();
            let until = now + i64::try_from(LEASE.as_millis()).unwrap_or(i64::MAX);
            match sheet_settling::take(&db.pool, sheet(&key), &holder, now, until).await {
                Ok(true) => break Some(holder),
                Ok(false) if started.elapsed() < LEASE => tokio::time::sleep(POLL).await,
                Ok(false) => {
                    tracing::warn!(
                        sheet = name,
                        "another process held the sheet's settling lease past its length; the batch goes on without it"
                    );
                    break None;
                }
                Err(e) => {
                    tracing::warn!(sheet = name, error = %e, "could not take the sheet's settling lease; the batch goes on without it");
                    break None;
                }
            }
        };
        let lease = lease.map(|holder| Lease {
            db: db.clone(),
            key,
            holder,
        });
        Held { _lock: lock, lease }
    }

    /// Held by a reconciliation's read: never between a batch's writes and their check, in
    /// this process or (waiting for its lease, at most [`LEASE`]) another one.
    pub(crate) async fn read(
        &self,
        db: &Db,
        spreadsheet: &str,
        name: &str,
    ) -> OwnedRwLockReadGuard<()> {
        let guard = self.lock_of(spreadsheet, name).read_owned().await;
        let at = Sheet {
            spreadsheet_id: spreadsheet,
            sheet: name,
        };
        let started = Instant::now();
        while started.elapsed() < LEASE {
            match sheet_settling::held(&db.pool, at, now_ms()).await {
                Ok(true) => tokio::time::sleep(POLL).await,
                Ok(false) => return guard,
                Err(e) => {
                    tracing::warn!(sheet = name, error = %e, "could not look at the sheet's settling lease; reading without waiting for it");
                    return guard;
                }
            }
        }
        tracing::warn!(
            sheet = name,
            "the sheet's settling lease was held past its length; reading anyway"
        );
        guard
    }
}
