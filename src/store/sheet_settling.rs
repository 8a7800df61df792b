//! A Sheets batch's settling lease (`sheet_settling`), shared by every process on the
//! database: a batch takes it from its first read of the sheet to the check after its writes
//! (until then a write may sit on another row by position), and a reconciliation's read of
//! that sheet waits while another holds it. The per-process lock beside it
//! (`connectors/sheets/settling.rs`) cannot see a one-off `leadsync reconcile` beside the
//! daemon. A lease lapses at `until_ms`, so a holder that died never blocks the others long.

use super::{Exec, StoreError};

/// A sheet: its spreadsheet and its tab.
#[derive(Debug, Clone, Copy)]
pub struct Sheet<'a> {
    pub spreadsheet_id: &'a str,
    pub sheet: &'a str,
}

/// Takes the lease of `at` for `holder` until `until` (unix ms), unless another holder's is
/// still running at `now`; true when taken. One statement: an upsert that overwrites only a
/// lapsed lease or the holder's own.
pub async fn take(
    exec: impl Exec<'_>,
    at: Sheet<'_>,
    holder: &str,
    now: i64,
    until: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "INSERT INTO sheet_settling (spreadsheet_id, sheet, holder, until_ms)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (spreadsheet_id, sheet) DO UPDATE
            SET holder = excluded.holder, until_ms = excluded.until_ms
          WHERE sheet_settling.until_ms <= $5 OR sheet_settling.holder = excluded.holder",
    )
    .bind(at.spreadsheet_id)
    .bind(at.sheet)
    .bind(holder)
    .bind(until)
    .bind(now)
    .execute(exec)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Gives the lease of `at` back, if `holder` still holds it.
pub async fn release(exec: impl Exec<'_>, at: Sheet<'_>, holder: &str) -> Result<(), StoreError> {
    sqlx::query(
        "DELETE FROM sheet_settling WHERE spreadsheet_id = $1 AND sheet = $2 AND holder = $3",
    )
    .bind(at.spreadsheet_id)
    .bind(at.sheet)
    .bind(holder)
    .execute(exec)
    .await?;
    Ok(())
}

/// Whether a lease of `at` is running at `now` (whoever holds it).
pub async fn held(exec: impl Exec<'_>, at: Sheet<'_>, now: i64) -> Result<bool, StoreError> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM sheet_settling
          WHERE spreadsheet_id = $1 AND sheet = $2 AND until_ms > $3",
    )
    .bind(at.spreadsheet_id)
    .bind(at.sheet)
    .bind(now)
    .fetch_one(exec)
    .await?;
    Ok(n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testdb::temp_db;

    const AT: Sheet<'static> = Sheet {
        spreadsheet_id: "book",
        sheet: "Leads",
    };

    #[tokio::test]
    async fn one_holder_at_a_time_until_it_releases_or_its_lease_lapses() {
        let db = temp_db().await;
        let pool = &db.pool;
        assert!(!held(pool, AT, 1_000).await.expect("held"));
        assert!(take(pool, AT, "a", 1_000, 2_000).await.expect("take"));
        assert!(held(pool, AT, 1_500).await.expect("held"));
        assert!(
            !take(pool, AT, "b", 1_500, 2_500).await.expect("take"),
            "a holds it"
        );
        assert!(
            take(pool, AT, "a", 1_500, 2_500).await.expect("take"),
            "its own, renewed"
        );
        release(pool, AT, "b").await.expect("release");
        assert!(
            held(pool, AT, 1_600).await.expect("held"),
            "b's release is no release of a's"
        );
        release(pool, AT, "a").await.expect("release");
        assert!(!held(pool, AT, 1_600).await.expect("held"));
        assert!(take(pool, AT, "b", 1_700, 2_700).await.expect("take"));
        // b died holding it: at its end, it is anyone's.
        assert!(!held(pool, AT, 2_700).await.expect("held"));
        assert!(take(pool, AT, "c", 2_700, 3_700).await.expect("take"));
        let other = Sheet {
            sheet: "Other",
            ..AT
        };
        assert!(
            take(pool, other, "d", 2_700, 3_700).await.expect("take"),
            "one lease per sheet"
        );
    }
}
