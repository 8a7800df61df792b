//! The `mirrors`, `mirror_links` and `mirror_fields` tables: each configured mirror, each card
//! with its twin (the link row is the durable intent written before a twin is created), and per
//! link and field the base of the three-way merge with each side's latest change time.

use std::collections::BTreeMap;

use super::Exec;

use super::{StoreError, now_ms};

/// A mirror's side: the card on `board_a` or on `board_b`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MirrorSide {
    A,
    B,
}

impl MirrorSide {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::A => "a",
            Self::B => "b",
        }
    }

    pub fn other(self) -> Self {
        match self {
            Self::A => Self::B,
            Self::B => Self::A,
        }
    }

    fn card_column(self) -> &'static str {
        match self {
            Self::A => "card_a",
            Self::B => "card_b",
        }
    }
}

/// A card and its twin; the twin's id is `None` while it is being created.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct MirrorLink {
    pub link_id: String,
    pub card_a: Option<String>,
    pub card_b: Option<String>,
}

impl MirrorLink {
    pub fn card(&self, side: MirrorSide) -> Option<&str> {
        match side {
            MirrorSide::A => self.card_a.as_deref(),
            MirrorSide::B => self.card_b.as_deref(),
        }
    }
}

/// One field's merge base: the value both boards last agreed on, the latest change time (unix
/// ms) seen on each side, and when the pass that agreed it read the cards.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct FieldBase {
    pub base_value: String,
    pub a_changed_at: Option<i64>,
    pub b_changed_at: Option<i64>,
    /// A user's edit after this was not seen by that pass (`None`: unknown, agreed before
    /// migration 0013).
    pub read_at: Option<i64>,
}

/// Records a configured mirror (its events are then the mirror engine's, not the pairs' worker's).
pub async fn upsert_mirror(
    exec: impl Exec<'_>,
    name: &str,
    board_a: &str,
    board_b: &str,
) -> Result<(), StoreError> {
    let now = now_ms();
    sqlx::query(
        "INSERT INTO mirrors (name, board_a, board_b, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $4)
         ON CONFLICT (name) DO UPDATE SET board_a = $2, board_b = $3, updated_at = $4",
    )
    .bind(name)
    .bind(board_a)
    .bind(board_b)
    .bind(now)
    .execute(exec)
    .await?;
    Ok(())
}

/// Records a reconciliation's outcome: its time on success (clearing the error), else the error.
pub async fn reconciled(
    exec: impl Exec<'_>,
    name: &str,
    error: Option<&str>,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE mirrors SET last_error = $2, updated_at = $3,
             last_reconcile_at = CASE WHEN $2 IS NULL THEN $3 ELSE last_reconcile_at END
         WHERE name = $1",
    )
    .bind(name)
    .bind(error)
    .bind(now_ms())
    .execute(exec)
    .await?;
    Ok(())
}

/// name, links, inbox depth, last reconcile, last error.
type StatusRow = (String, i64, i64, Option<i64>, Option<String>);

/// Every stored mirror as `/admin/status` shows it, with a pair's fields: its links and
/// unprocessed events (a mirror writes cards itself: it has no outbox, so no dead letters).
pub async fn mirror_statuses(
    exec: impl Exec<'_>,
) -> Result<Vec<super::status::PairStatus>, StoreError> {
    let rows: Vec<StatusRow> = sqlx::query_as(
        "SELECT m.name,
                (SELECT count(*) FROM mirror_links l WHERE l.mirror = m.name),
                (SELECT count(*) FROM inbox i
                  WHERE i.pair = m.name AND i.status IN ('pending', 'processing')),
                m.last_reconcile_at,
                COALESCE(m.last_error,
                         (SELECT i.last_error FROM inbox i WHERE i.pair = m.name
                            AND i.status <> 'done' AND i.last_error IS NOT NULL
                          ORDER BY i.id DESC LIMIT 1))
         FROM mirrors m ORDER BY m.name",
    )
    .fetch_all(exec)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(name, links, inbox_depth, reconciled, last_error)| super::status::PairStatus {
                name,
                links,
                inbox_depth,
                outbox_depth: 0,
                dead_letters: 0,
                drained_last_minute: 0,
                drain_eta_secs: Some(0),
                last_reconcile_at: reconciled.map(super::activity::rfc3339),
                last_error,
            },
        )
        .collect())
}

/// The link of a card on `side`, if it has one.
pub async fn by_card(
    exec: impl Exec<'_>,
    mirror: &str,
    side: MirrorSide,
    card_id: &str,
) -> Result<Option<MirrorLink>, StoreError> {
    let sql = format!(
        "SELECT link_id, card_a, card_b FROM mirror_links WHERE mirror = $1 AND {} = $2",
        side.card_column()
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(mirror)
        .bind(card_id)
        .fetch_optional(exec)
        .await?)
}

pub async fn by_id(
    exec: impl Exec<'_>,
    mirror: &str,
    link_id: &str,
) -> Result<Option<MirrorLink>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT link_id, card_a, card_b FROM mirror_links WHERE mirror = $1 AND link_id = $2",
    )
    .bind(mirror)
    .bind(link_id)
    .fetch_optional(exec)
    .await?)
}

/// How many links a mirror has (for its status).
pub async fn count(exec: impl Exec<'_>, mirror: &str) -> Result<i64, StoreError> {
    Ok(
        sqlx::query_scalar("SELECT COUNT(*) FROM mirror_links WHERE mirror = $1")
            .bind(mirror)
            .fetch_one(exec)
            .await?,
    )
}

/// Sets the card of `side` on a link, creating the link (the create's durable intent) if it is
/// new. Fails on a card already linked elsewhere in the mirror (the unique index).
pub async fn set_card(
    exec: impl Exec<'_>,
    mirror: &str,
    link_id: &str,
    side: MirrorSide,
    card_id: &str,
) -> Result<(), StoreError> {
    let column = side.card_column();
    let sql = format!(
        "INSERT INTO mirror_links (mirror, link_id, {column}, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $4)
         ON CONFLICT (mirror, link_id) DO UPDATE SET {column} = $3, updated_at = $4"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(mirror)
        .bind(link_id)
        .bind(card_id)
        .bind(now_ms())
        .execute(exec)
        .await?;
    Ok(())
}

/// field, base value, a's and b's change times, the agreeing read's time.
type BaseRow = (String, String, Option<i64>, Option<i64>, Option<i64>);

/// A link's merge bases, by field name.
pub async fn fields(
    exec: impl Exec<'_>,
    mirror: &str,
    link_id: &str,
) -> Result<BTreeMap<String, FieldBase>, StoreError> {
    let rows: Vec<BaseRow> = sqlx::query_as(
        "SELECT field, base_value, a_changed_at, b_changed_at, read_at FROM mirror_fields
         WHERE mirror = $1 AND link_id = $2",
    )
    .bind(mirror)
    .bind(link_id)
    .fetch_all(exec)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(field, base_value, a_changed_at, b_changed_at, read_at)| {
            let base = FieldBase {
                base_value,
                a_changed_at,
                b_changed_at,
                read_at,
            };
            (field, base)
        })
        .collect())
}

pub async fn save_field(
    exec: impl Exec<'_>,
    mirror: &str,
    link_id: &str,
    field: &str,
    base: &FieldBase,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO mirror_fields
             (mirror, link_id, field, base_value, a_changed_at, b_changed_at, read_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (mirror, link_id, field) DO UPDATE SET base_value = $4,
             a_changed_at = $5, b_changed_at = $6, read_at = $7, updated_at = $8",
    )
    .bind(mirror)
    .bind(link_id)
    .bind(field)
    .bind(&base.base_value)
    .bind(base.a_changed_at)
    .bind(base.b_changed_at)
    .bind(base.read_at)
    .bind(now_ms())
    .execute(exec)
    .await?;
    Ok(())
}

/// Forgets a field's base (a checklist both cards no longer have).
pub async fn delete_field(
    exec: impl Exec<'_>,
    mirror: &str,
    link_id: &str,
    field: &str,
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM mirror_fields WHERE mirror = $1 AND link_id = $2 AND field = $3")
        .bind(mirror)
        .bind(link_id)
        .bind(field)
        .execute(exec)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testdb::temp_db;

    #[tokio::test]
    async fn a_link_is_its_intent_first_then_both_cards_and_its_field_bases() {
        let db = temp_db().await;
        upsert_mirror(&db.pool, "m", "board-x", "board-y")
            .await
            .unwrap();
        set_card(&db.pool, "m", "L1", MirrorSide::A, "card-1")
            .await
            .unwrap();
        let intent = by_card(&db.pool, "m", MirrorSide::A, "card-1")
            .await
            .unwrap();
        assert_eq!(intent.as_ref().and_then(|l| l.card(MirrorSide::B)), None);
        set_card(&db.pool, "m", "L1", MirrorSide::B, "card-2")
            .await
            .unwrap();
        let link = by_card(&db.pool, "m", MirrorSide::B, "card-2")
            .await
            .unwrap();
        assert_eq!(link, by_id(&db.pool, "m", "L1").await.unwrap());
        assert_eq!(link.unwrap().card(MirrorSide::A), Some("card-1"));
        assert_eq!(
            by_card(&db.pool, "m", MirrorSide::B, "card-1")
                .await
                .unwrap(),
            None
        );
        // A card is linked once per mirror.
        let again = set_card(&db.pool, "m", "L2", MirrorSide::A, "card-1").await;
        assert!(again.is_err(), "{again:?}");
        let base = FieldBase {
            base_value: "\"Ada\"".into(),
            a_changed_at: Some(5),
            b_changed_at: None,
            read_at: Some(4),
        };
        save_field(&db.pool, "m", "L1", "name", &base)
            .await
            .unwrap();
        let got = fields(&db.pool, "m", "L1").await.unwrap();
        assert_eq!(got.get("name"), Some(&base));
        save_field(&db.pool, "m", "L1", "checklist:QA", &base)
            .await
            .unwrap();
        delete_field(&db.pool, "m", "L1", "checklist:QA")
            .await
            .unwrap();
        let got = fields(&db.pool, "m", "L1").await.unwrap();
        assert_eq!(got.keys().collect::<Vec<_>>(), ["name"]);
        assert_eq!(count(&db.pool, "m").await.unwrap(), 1);
        reconciled(&db.pool, "m", Some("board gone")).await.unwrap();
        let status = mirror_statuses(&db.pool).await.unwrap();
        assert_eq!(
            (status[0].links, status[0].last_error.as_deref()),
            (1, Some("board gone"))
        );
        assert_eq!(status[0].last_reconcile_at, None);
        reconciled(&db.pool, "m", None).await.unwrap();
        let status = mirror_statuses(&db.pool).await.unwrap();
        assert!(status[0].last_reconcile_at.is_some() && status[0].last_error.is_none());
    }

    #[tokio::test]
    async fn a_mirror_s_events_are_not_the_pairs_worker_s() {
        let db = temp_db().await;
        upsert_mirror(&db.pool, "m", "board-a", "board-y")
            .await
            .unwrap();
        let event = crate::store::testdb::verified_trello("act-1");
        // One action of a board shared by pair `a` and mirror `m`: stored once per route.
        for route in ["a", "m", "m"] {
            crate::store::inbox::insert(&db, &event, route)
                .await
                .unwrap();
        }
        let pairs = crate::store::inbox_work::due_events(&db.pool, i64::MAX, 10)
            .await
            .unwrap();
        let mirrors =
            (crate::store::inbox_work::due_mirror_events(&db.pool, i64::MAX, 10).await).unwrap();
        let routes = |v: &[crate::store::inbox_work::InboxEvent]| {
            v.iter().map(|e| e.pair.clone()).collect::<Vec<_>>()
        };
        assert_eq!(routes(&pairs), ["a"]);
        assert_eq!(routes(&mirrors), ["m"]);
    }
}
