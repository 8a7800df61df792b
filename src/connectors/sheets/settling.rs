//! A sheet batch's writes land by position and are checked by the read after them, which puts
//! back what landed on rows that moved. Until that check is done another row may hold a lead's
//! value; a reconciliation reading the sheet then took it for that row's person's edit and
//! copied it to that row's card (chaos seed 4, replayed with the check's read failing once: the
//! read again came 0.5 s later, after the reconciliation's). So a batch holds its sheet from its
//! first read to its check, and a reconciliation's read of that sheet waits for it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedRwLockReadGuard, OwnedRwLockWriteGuard, RwLock};

/// A sheet: (spreadsheet id, sheet name).
type SheetKey = (String, String);

/// One lock per sheet: batches hold it exclusively, reads shared.
#[derive(Default)]
pub(crate) struct Settling {
    sheets: Mutex<HashMap<SheetKey, Arc<RwLock<()>>>>,
}

impl Settling {
    fn lock_of(&self, spreadsheet: &str, sheet: &str) -> Arc<RwLock<()>> {
        // A poisoned map only means a holder panicked: the locks in it are still sound.
        let mut sheets = self.sheets.lock().unwrap_or_else(|e| e.into_inner());
        let key = (spreadsheet.to_owned(), sheet.to_owned());
        Arc::clone(sheets.entry(key).or_default())
    }

    /// Held by a batch from its first read to the end of its check.
    pub(crate) async fn batch(&self, spreadsheet: &str, sheet: &str) -> OwnedRwLockWriteGuard<()> {
        self.lock_of(spreadsheet, sheet).write_owned().await
    }

    /// Held by a reconciliation's read: never between a batch's writes and their check.
    pub(crate) async fn read(&self, spreadsheet: &str, sheet: &str) -> OwnedRwLockReadGuard<()> {
        self.lock_of(spreadsheet, sheet).read_owned().await
    }
}
