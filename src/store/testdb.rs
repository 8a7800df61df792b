//! Test support: a migrated database in a temp folder, with one or two pairs configured. With
//! `LEADSYNC_TEST_BACKEND=postgres` (and `LEADSYNC_TEST_PG_URL`), a fresh database on that
//! PostgreSQL server instead, so the store's tests run against either backend.

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

/// A fresh migrated database with pairs `a` and `b`, on the backend the run asks for.
pub(crate) async fn temp_db() -> TestDb {
    let postgres = std::env::var("LEADSYNC_TEST_BACKEND").as_deref() == Ok("postgres");
    temp_db_on(postgres).await
}

/// [`temp_db`] on SQLite always: for tests of SQLite's own behaviour (its write lock, its
/// triggers, its query plans).
pub(crate) async fn temp_sqlite_db() -> TestDb {
    temp_db_on(false).await
}

async fn temp_db_on(postgres: bool) -> TestDb {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = if postgres {
        fresh_postgres().await
    } else {
        format!("sqlite://{}", dir.path().join("t.db").display())
    };
    let db = Db::connect(&url).await.expect("connect");
    db.migrate().await.expect("migrate");
    let configured = [pair("a"), pair("b")];
    pairs::upsert_all(&db, &configured).await.expect("pairs");
    TestDb { db, _dir: dir }
}

/// A new database on `LEADSYNC_TEST_PG_URL`'s server, its URL. Left behind: the server is a
/// throwaway cluster (`.ci/pg-cluster`).
async fn fresh_postgres() -> String {
    let url = std::env::var("LEADSYNC_TEST_PG_URL")
        .expect("LEADSYNC_TEST_BACKEND=postgres needs LEADSYNC_TEST_PG_URL");
    super::postgres::create_scratch_database(&url, "leadsync_store")
        .await
        .expect("create the test database")
}

pub(crate) fn pair(name: &str) -> NewPair {
    NewPair::sheets(
        name,
        &format!("sheet-{name}"),
        "Leads",
        &format!("board-{name}"),
    )
}

/// A verified Trello action `action_id` on board "board-a", as the door hands it to the store.
pub(crate) fn verified_trello(
    action_id: &str,
) -> crate::inbound::signature::Verified<crate::inbound::signature::RawEvent> {
    use crate::inbound::signature::{TrelloVerifier, Unverified};
    const URL: &str = "http://127.0.0.1/webhooks/trello";
    let secret = secrecy::SecretString::from("s3cret");
    let verifier = TrelloVerifier::new(&secret, vec![URL.to_owned()]).unwrap();
    let body = format!(
        r#"{{"action":{{"id":"{action_id}","idMemberCreator":"m","type":"commentCard","date":"2026-11-21T10:15:02Z"}},"model":{{"id":"board-a"}}}}"#
    );
    let mut headers = axum::http::HeaderMap::new();
    let signature = verifier.sign(body.as_bytes(), URL);
    headers.insert("x-trello-webhook", signature.parse().unwrap());
    let unverified = Unverified::new(headers, axum::body::Bytes::from(body));
    verifier.verify(&unverified).unwrap()
}
