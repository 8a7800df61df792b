//! PostgreSQL (CONTRACT §9): the migrations of `migrations_pg/`, which mirror `migrations/` one
//! for one (same numbers and names, PostgreSQL's types), applied by `leadsync migrate` and by
//! every replica's `serve` at start, safely at once; a connection of its own for tests and
//! probes; URLs without their password.

use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPoolOptions};
use std::str::FromStr;

use super::{MigrationReport, StoreError};

/// Migrations from `migrations_pg/`, compiled into the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations_pg");

/// Applies pending PostgreSQL migrations and reports which ran. Replicas starting at once may
/// all call this (CONTRACT §9): each first takes [`MIGRATE_LOCK`] on a connection of its own,
/// then reads what is applied and runs the migrator (on a second connection, where sqlx takes
/// its own advisory lock as well), so the first applies every migration and the others, waiting
/// on the lock, find them all applied and report none as theirs. The lock is a session's: it is
/// released when its connection closes, also on an error.
pub async fn migrate(url: &str) -> Result<MigrationReport, StoreError> {
    let options = PgConnectOptions::from_str(url).map_err(|_| StoreError::BadUrl(redact(url)))?;
    let mut lock = PgConnection::connect_with(&options).await?;
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(MIGRATE_LOCK)
        .execute(&mut lock)
        .await?;
    let outcome = migrate_locked(options).await;
    let _ = lock.close().await;
    let before = outcome?;
    let applied = MIGRATOR
        .iter()
        .filter(|m| !m.migration_type.is_down_migration() && !before.contains(&m.version))
        .map(|m| format!("{} {}", m.version, m.description))
        .collect();
    Ok(MigrationReport {
        applied,
        already: before.len(),
    })
}

/// The advisory lock `migrate` holds while it reads and applies: "leadsync" + "migr" in ASCII,
/// apart from the write lock's key (`Dialect::begin_write`) and sqlx's own migration lock.
const MIGRATE_LOCK: i64 = 0x6c73_6d69_6772_0001;

/// Under [`MIGRATE_LOCK`]: the versions applied before, then the pending ones applied.
async fn migrate_locked(options: PgConnectOptions) -> Result<Vec<i64>, StoreError> {
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await?;
    let outcome = match applied_versions(&pool).await {
        Ok(before) => (MIGRATOR.run(&pool).await)
            .map(|()| before)
            .map_err(Into::into),
        Err(e) => Err(e),
    };
    pool.close().await;
    outcome
}

async fn applied_versions(pool: &sqlx::PgPool) -> Result<Vec<i64>, StoreError> {
    let exists: bool = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
        .fetch_one(pool)
        .await?;
    if !exists {
        return Ok(Vec::new());
    }
    Ok(
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
            .fetch_all(pool)
            .await?,
    )
}

/// Whether `url`'s database has leadsync's schema (migrations applied, by `migrate` or a
/// `serve`): a dry run on a database never migrated plans against an empty one, as on SQLite
/// when the file does not exist yet.
pub async fn has_schema(url: &str) -> Result<bool, StoreError> {
    let mut conn = connect(url).await?;
    let present: bool = sqlx::query_scalar("SELECT to_regclass('links') IS NOT NULL")
        .fetch_one(&mut conn)
        .await?;
    conn.close().await?;
    Ok(present)
}

/// Opens one connection, for tests and probes that need a database of their own.
pub async fn connect(url: &str) -> Result<PgConnection, StoreError> {
    let options = PgConnectOptions::from_str(url).map_err(|_| StoreError::BadUrl(redact(url)))?;
    Ok(PgConnection::connect_with(&options).await?)
}

/// Creates a new, empty database named `{prefix}_{uuid}` on `server`'s cluster and returns its
/// URL: the scratch databases of tests and benchmarks, on a throwaway cluster
/// (`.ci/pg-cluster`), left behind with it. `prefix` must be a plain identifier.
pub async fn create_scratch_database(server: &str, prefix: &str) -> Result<String, StoreError> {
    let name = format!("{prefix}_{}", uuid::Uuid::new_v4().simple());
    let mut admin = connect(server).await?;
    // The name is ours (a prefix of the caller's and a UUID), never input.
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await?;
    let _ = admin.close().await;
    Ok(with_database(server, &name))
}

/// `url` naming database `name` instead of its own (and without its query string).
pub fn with_database(url: &str, name: &str) -> String {
    let base = url.split('?').next().unwrap_or(url);
    let (scheme, rest) = base.split_once("://").unwrap_or(("postgres", base));
    let host = rest.split('/').next().unwrap_or(rest);
    format!("{scheme}://{host}/{name}")
}

/// `url` without its password, fit for messages and logs.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((user, host)) => match user.split_once(':') {
            Some((name, _)) => format!("{scheme}://{name}:***@{host}{path}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

#[cfg(test)]
#[path = "postgres_tests.rs"]
mod tests;
