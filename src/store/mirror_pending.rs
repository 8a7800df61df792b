//! The `mirror_pending` table: per link and field, the value a mirror pass is about to write and
//! the side it writes, kept until the pass's bases are saved. A pass stopped partway leaves them
//! for its retry, which tells its own partial write from a user's edit with them.

use std::collections::BTreeMap;

use super::mirror_links::MirrorSide;
use super::{Exec, StoreError, now_ms};

/// A write on its way: the card of `side` is being given `value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub side: MirrorSide,
    pub value: String,
}

/// Notes the write of `value` to `side`'s card for a link's field (replacing an older one).
pub async fn set(
    exec: impl Exec<'_>,
    mirror: &str,
    link_id: &str,
    field: &str,
    pending: &Pending,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO mirror_pending (mirror, link_id, field, side, value, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (mirror, link_id, field) DO UPDATE SET side = $4, value = $5, updated_at = $6",
    )
    .bind(mirror)
    .bind(link_id)
    .bind(field)
    .bind(pending.side.as_str())
    .bind(&pending.value)
    .bind(now_ms())
    .execute(exec)
    .await?;
    Ok(())
}

/// A link's writes on their way, by field.
pub async fn of_link(
    exec: impl Exec<'_>,
    mirror: &str,
    link_id: &str,
) -> Result<BTreeMap<String, Pending>, StoreError> {
    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT field, side, value FROM mirror_pending WHERE mirror = $1 AND link_id = $2",
    )
    .bind(mirror)
    .bind(link_id)
    .fetch_all(exec)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(field, side, value)| {
            let side = if side == "a" {
                MirrorSide::A
            } else {
                MirrorSide::B
            };
            (field, Pending { side, value })
        })
        .collect())
}

/// The link's writes are done (its bases saved with them): none is on its way any more.
pub async fn clear(exec: impl Exec<'_>, mirror: &str, link_id: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM mirror_pending WHERE mirror = $1 AND link_id = $2")
        .bind(mirror)
        .bind(link_id)
        .execute(exec)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::mirror_links::{set_card, upsert_mirror};
    use crate::store::testdb::temp_db;

    #[tokio::test]
    async fn a_pending_write_is_kept_replaced_and_cleared_per_link() {
        let db = temp_db().await;
        upsert_mirror(&db.pool, "m", "x", "y").await.unwrap();
        for link in ["L1", "L2"] {
            set_card(&db.pool, "m", link, MirrorSide::A, link)
                .await
                .unwrap();
        }
        let to_b = |value: &str| Pending {
            side: MirrorSide::B,
            value: value.into(),
        };
        set(&db.pool, "m", "L1", "labels", &to_b("[1]"))
            .await
            .unwrap();
        set(&db.pool, "m", "L1", "labels", &to_b("[2]"))
            .await
            .unwrap();
        set(&db.pool, "m", "L2", "name", &to_b("n")).await.unwrap();
        let got = of_link(&db.pool, "m", "L1").await.unwrap();
        assert_eq!(got.get("labels"), Some(&to_b("[2]")));
        assert_eq!(got.len(), 1);
        clear(&db.pool, "m", "L1").await.unwrap();
        assert!(of_link(&db.pool, "m", "L1").await.unwrap().is_empty());
        assert_eq!(of_link(&db.pool, "m", "L2").await.unwrap().len(), 1);
    }
}
