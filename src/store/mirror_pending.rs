//! The `mirror_pending` table: per link and field, the value a mirror pass is about to write and
//! the side it writes, kept until the pass's bases are saved. A pass stopped partway leaves them
//! for its retry, which tells its own partial write from a user's edit with them.

use std::collections::BTreeMap;

use super::mirror_links::MirrorSide;
use super::{Exec, StoreError, now_ms};

/// A write on its way: the card of `side`, which held `was`, is being given `value`, decided
/// at `at` (unix ms; `set` notes the time itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub side: MirrorSide,
    pub value: String,
    pub was: String,
    pub at: i64,
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
        "INSERT INTO mirror_pending (mirror, link_id, field, side, value, was, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (mirror, link_id, field)
         DO UPDATE SET side = $4, value = $5, was = $6, updated_at = $7",
    )
    .bind(mirror)
    .bind(link_id)
    .bind(field)
    .bind(pending.side.as_str())
    .bind(&pending.value)
    .bind(&pending.was)
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
    let rows: Vec<(String, String, String, String, i64)> = sqlx::query_as(
        "SELECT field, side, value, was, updated_at FROM mirror_pending
          WHERE mirror = $1 AND link_id = $2",
    )
    .bind(mirror)
    .bind(link_id)
    .fetch_all(exec)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(field, side, value, was, at)| {
            let side = if side == "a" {
                MirrorSide::A
            } else {
                MirrorSide::B
            };
            let pending = Pending {
                side,
                value,
                was,
                at,
            };
            (field, pending)
        })
        .collect())
}

/// One field's write landed (its base saved with this): it is on its way no more.
pub async fn clear_field(
    exec: impl Exec<'_>,
    mirror: &str,
    link_id: &str,
    field: &str,
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM mirror_pending WHERE mirror = $1 AND link_id = $2 AND field = $3")
        .bind(mirror)
        .bind(link_id)
        .bind(field)
        .execute(exec)
        .await?;
    Ok(())
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

/// Whether a pass saved anything of a link (its cards, a base, a write on its way) at or after
/// `since` (unix ms): a listing read before then may be older than that pass's writes.
pub async fn touched_since(
    exec: impl Exec<'_>,
    mirror: &str,
    link_id: &str,
    since: i64,
) -> Result<bool, StoreError> {
    // An integer on both backends (Any decodes a bool only from PostgreSQL's boolean).
    let touched: i64 = sqlx::query_scalar(
        "SELECT CAST(CASE WHEN EXISTS (SELECT 1 FROM mirror_links
                         WHERE mirror = $1 AND link_id = $2 AND updated_at >= $3)
             OR EXISTS (SELECT 1 FROM mirror_fields
                         WHERE mirror = $1 AND link_id = $2 AND updated_at >= $3)
             OR EXISTS (SELECT 1 FROM mirror_pending
                         WHERE mirror = $1 AND link_id = $2 AND updated_at >= $3)
             THEN 1 ELSE 0 END AS BIGINT)",
    )
    .bind(mirror)
    .bind(link_id)
    .bind(since)
    .fetch_one(exec)
    .await?;
    Ok(touched != 0)
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
            was: String::new(),
            at: 0,
        };
        let read = |p: Option<&Pending>| p.map(|p| (p.side, p.value.clone()));
        set(&db.pool, "m", "L1", "labels", &to_b("[1]"))
            .await
            .unwrap();
        set(&db.pool, "m", "L1", "labels", &to_b("[2]"))
            .await
            .unwrap();
        set(&db.pool, "m", "L2", "name", &to_b("n")).await.unwrap();
        let got = of_link(&db.pool, "m", "L1").await.unwrap();
        assert_eq!(read(got.get("labels")), Some((MirrorSide::B, "[2]".into())));
        assert!(got["labels"].at > 0, "the time it was noted");
        assert_eq!(got.len(), 1);
        set(&db.pool, "m", "L1", "name", &to_b("n")).await.unwrap();
        clear_field(&db.pool, "m", "L1", "name").await.unwrap();
        assert_eq!(of_link(&db.pool, "m", "L1").await.unwrap().len(), 1);
        let later = now_ms() + 60_000;
        assert!(touched_since(&db.pool, "m", "L1", 0).await.unwrap());
        assert!(!touched_since(&db.pool, "m", "L1", later).await.unwrap());
        clear(&db.pool, "m", "L1").await.unwrap();
        assert!(of_link(&db.pool, "m", "L1").await.unwrap().is_empty());
        assert_eq!(of_link(&db.pool, "m", "L2").await.unwrap().len(), 1);
    }
}
