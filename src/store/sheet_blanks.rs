//! Cells the sheet's write check emptied in a row a person typed without an id (a write meant
//! for another row landed there): what the person typed is known only to that row's Apps Script
//! event, not read yet. Kept here until the lead made from that event writes it back; an event
//! the worker sets aside for a reconciliation leaves its value (`typed`) for the reconciler.
//! A cell put back in a row with an id from a read older than a person's edit is kept the same
//! way (its row told by the id alone, [`keep_put_back`]) for that lead's next event.

use std::collections::{BTreeMap, HashMap};

use super::{Conn, Exec};
use super::{StoreError, now_ms};

/// How long a blank waits for its row's event (an Apps Script event may be resent for a while).
pub const KEEP_MS: i64 = 60 * 60 * 1000;

/// One emptied cell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SheetBlank {
    pub key: String,
    /// The row's other non-empty cells by header, as read after the misplaced write.
    pub row: BTreeMap<String, String>,
    pub header: String,
    /// What the misplaced write had put there.
    pub written: String,
    /// What the row's event showed there, once an event set aside for a reconciliation said.
    pub typed: Option<String>,
}

impl SheetBlank {
    /// Whether a row showing `values` (by header) is the row this cell was emptied in: it agrees
    /// on every other cell both show, two at least (rows are told apart by content until their
    /// id lands: a name and a phone, say; one shared status is no proof).
    pub fn is_row(&self, values: &HashMap<String, String>) -> bool {
        let norm = |h: &str| h.trim().to_lowercase();
        let shown: HashMap<String, &str> = (values.iter())
            .map(|(h, v)| (norm(h), v.trim()))
            .filter(|(_, v)| !v.is_empty())
            .collect();
        let mut shared = 0;
        for (h, v) in &self.row {
            match shown.get(&norm(h)) {
                Some(s) if *s == v.trim() => shared += 1,
                Some(_) => return false,
                None => {}
            }
        }
        shared >= 2
    }

    /// Whether this is a cell put back in the row of `lead` ([`keep_put_back`]).
    pub fn is_lead_row(&self, id_header: &str, lead: &str) -> bool {
        self.row.len() == 1
            && (self.row.iter())
                .all(|(h, v)| h.trim().eq_ignore_ascii_case(id_header.trim()) && v.trim() == lead)
    }

    /// The value of this blank's cell in `values`, trimmed.
    pub fn value_in<'a>(&self, values: &'a HashMap<String, String>) -> &'a str {
        (values.iter())
            .find(|(h, _)| h.trim().eq_ignore_ascii_case(self.header.trim()))
            .map_or("", |(_, v)| v.trim())
    }
}

/// Keeps an emptied cell (once: the same cell of the same row is one blank), and forgets the
/// ones older than [`KEEP_MS`].
pub async fn keep(
    conn: &mut Conn,
    pair: &str,
    row: &BTreeMap<String, String>,
    header: &str,
    written: &str,
) -> Result<(), StoreError> {
    let now = now_ms();
    let cells = serde_json::to_string(row).unwrap_or_default();
    let key = key_of(pair, row, header);
    sqlx::query("DELETE FROM sheet_blanks WHERE created_at < $1")
        .bind(now - KEEP_MS)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO sheet_blanks (key, pair, row_cells, header, written, created_at)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (key) DO NOTHING",
    )
    .bind(key)
    .bind(pair)
    .bind(cells)
    .bind(header)
    .bind(written)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

fn key_of(pair: &str, row: &BTreeMap<String, String>, header: &str) -> String {
    let cells = serde_json::to_string(row).unwrap_or_default();
    format!("{pair}\n{header}\n{cells}")
}

/// Keeps a cell the write check put back in the row of `lead` (a row with an id) to `put`,
/// what the read before the write showed: a person may have typed there after that read
/// (seed 298), and that lead's next event writes back what it shows. A newer put-back of the
/// same cell replaces an older one.
pub async fn keep_put_back(
    conn: &mut Conn,
    pair: &str,
    id_header: &str,
    lead: &str,
    header: &str,
    put: &str,
) -> Result<(), StoreError> {
    let row = BTreeMap::from([(id_header.trim().to_owned(), lead.to_owned())]);
    forget(&mut *conn, &key_of(pair, &row, header)).await?;
    keep(conn, pair, &row, header, put).await
}

/// The pair's blanks, oldest first.
pub async fn of_pair(exec: impl Exec<'_>, pair: &str) -> Result<Vec<SheetBlank>, StoreError> {
    let rows: Vec<(String, String, String, String, Option<String>)> = sqlx::query_as(
        "SELECT key, row_cells, header, written, typed FROM sheet_blanks
         WHERE pair = $1 AND created_at >= $2 ORDER BY created_at, key",
    )
    .bind(pair)
    .bind(now_ms() - KEEP_MS)
    .fetch_all(exec)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(key, cells, header, written, typed)| SheetBlank {
            key,
            row: serde_json::from_str(&cells).unwrap_or_default(),
            header,
            written,
            typed,
        })
        .collect())
}

/// Records what the row's event showed in the blank's cell (the event was set aside).
pub async fn set_typed(exec: impl Exec<'_>, key: &str, typed: &str) -> Result<(), StoreError> {
    sqlx::query("UPDATE sheet_blanks SET typed = $1 WHERE key = $2")
        .bind(typed)
        .bind(key)
        .execute(exec)
        .await?;
    Ok(())
}

/// Forgets a blank: its cell is written back (or was typed empty).
pub async fn forget(exec: impl Exec<'_>, key: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM sheet_blanks WHERE key = $1")
        .bind(key)
        .execute(exec)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testdb::temp_db;

    fn values(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        (pairs.iter())
            .map(|(h, v)| ((*h).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[tokio::test]
    async fn a_blank_is_kept_once_told_its_typed_value_and_forgotten() {
        let db = temp_db().await;
        let row = BTreeMap::from([
            ("Name".to_owned(), "Cy".to_owned()),
            ("Phone".to_owned(), "+1-9".to_owned()),
        ]);
        let mut conn = db.pool.acquire().await.unwrap();
        keep(&mut conn, "a", &row, "Status", "Won").await.unwrap();
        keep(&mut conn, "a", &row, "Status", "Won").await.unwrap();
        drop(conn);
        let kept = of_pair(&db.pool, "a").await.unwrap();
        assert_eq!(kept.len(), 1);
        assert!(of_pair(&db.pool, "b").await.unwrap().is_empty());
        set_typed(&db.pool, &kept[0].key, "Lost").await.unwrap();
        let kept = of_pair(&db.pool, "a").await.unwrap();
        assert_eq!(kept[0].typed.as_deref(), Some("Lost"));
        assert_eq!(
            (kept[0].header.as_str(), kept[0].written.as_str()),
            ("Status", "Won")
        );
        forget(&db.pool, &kept[0].key).await.unwrap();
        assert!(of_pair(&db.pool, "a").await.unwrap().is_empty());
    }

    #[test]
    fn a_row_is_the_blank_s_row_when_it_agrees_on_two_cells_and_differs_on_none() {
        let blank = SheetBlank {
            key: String::new(),
            row: BTreeMap::from([
                ("Name".to_owned(), "Cy".to_owned()),
                ("Phone".to_owned(), "+1-9".to_owned()),
                ("Company".to_owned(), "Acme".to_owned()),
            ]),
            header: "Status".into(),
            written: "Won".into(),
            typed: None,
        };
        // The event, older than the read: the company typed later is not in it yet.
        let event = values(&[("name", "Cy"), ("Phone", "+1-9"), ("Status", "Lost")]);
        assert!(blank.is_row(&event));
        assert_eq!(blank.value_in(&event), "Lost");
        assert!(!blank.is_row(&values(&[("Name", "Cy"), ("Phone", "+1-8")])));
        assert!(!blank.is_row(&values(&[("Name", "Cy"), ("Status", "Lost")])));
    }
}
