//! Test support: a migrated database in a temp folder, with one or two pairs configured.

use super::Db;
use super::pairs::{self, NewPair};

/// Keeps the folder alive as long as the database is used.
pub(crate) struct TestDb {
    pub db: Db,
    _dir: tempfile::TempDir,
}

impl std::ops::Deref for TestDb {
    type Target = Db;
    fn deref(&self) -> &Db {
        &self.db
    }
}

/// A fresh migrated database with pairs `a` and `b`.
pub(crate) async fn temp_db() -> TestDb {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Db::connect(&format!("sqlite://{}", dir.path().join("t.db").display()))
        .await
        .expect("connect");
    db.migrate().await.expect("migrate");
    let configured = [pair("a"), pair("b")];
    pairs::upsert_all(&db, &configured).await.expect("pairs");
    TestDb { db, _dir: dir }
}

pub(crate) fn pair(name: &str) -> NewPair {
    NewPair::sheets(
        name,
        &format!("sheet-{name}"),
        "Leads",
        &format!("board-{name}"),
    )
}
