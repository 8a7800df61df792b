//! Where a sandbox world's (and an end-to-end test's) database lives: a SQLite file in its
//! folder by default, or a fresh PostgreSQL database when the suite runs on PostgreSQL.
//!
//! One switch for the whole end-to-end suite (`.ci/run`'s step "the end-to-end tests again, on
//! PostgreSQL"): `LEADSYNC_IT_DATABASE=postgres` with `LEADSYNC_TEST_PG_URL` (a server, from
//! `.ci/pg-cluster start`) gives each world and each test app a database of its own on that
//! server, so the same tests check both backends without each test knowing about it.

use std::path::Path;

use anyhow::Context as _;

/// The switch: `postgres` runs the worlds and test apps on `LEADSYNC_TEST_PG_URL`'s server.
pub const SWITCH: &str = "LEADSYNC_IT_DATABASE";
/// The server the fresh databases are made on.
pub const SERVER: &str = "LEADSYNC_TEST_PG_URL";

/// Whether the switch asks for PostgreSQL.
pub fn on_postgres() -> bool {
    std::env::var(SWITCH).is_ok_and(|v| v == "postgres")
}

/// The SQLite file `leadsync.db` in `dir`, as a `database.url`.
pub fn sqlite_url(dir: &Path) -> String {
    format!("sqlite://{}", dir.join("leadsync.db").display())
}

/// The `database.url` a world or test app in `dir` runs on: per the switch, a fresh PostgreSQL
/// database, else the SQLite file in `dir`. Blocking (it may create a database), so it can serve
/// the tests' synchronous settings helpers as well as `World::start`.
pub fn default_url(dir: &Path) -> anyhow::Result<String> {
    if !on_postgres() {
        return Ok(sqlite_url(dir));
    }
    let server = std::env::var(SERVER)
        .with_context(|| format!("{SWITCH}=postgres needs {SERVER} (a PostgreSQL server URL)"))?;
    // Its own thread and runtime: the callers may be inside a runtime (where block_on panics)
    // or outside any; creating a database takes milliseconds.
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
            .block_on(fresh_database(&server))
    })
    .join()
    .map_err(|_| anyhow::anyhow!("creating a PostgreSQL database panicked"))?
}

/// A new, empty database on `server`'s cluster (named by a UUID), as a URL.
pub async fn fresh_database(server: &str) -> anyhow::Result<String> {
    Ok(crate::store::postgres::create_scratch_database(server, "leadsync_it").await?)
}
