//! PostgreSQL (CONTRACT §9), so far its schema only: the migrations of `migrations_pg/`, which
//! mirror `migrations/` one for one (same numbers and names, PostgreSQL's types), applied by
//! `leadsync migrate`. The daemon itself still runs on SQLite alone (issue 15's next steps).

use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPoolOptions};
use std::str::FromStr;

use super::{MigrationReport, StoreError};

/// Migrations from `migrations_pg/`, compiled into the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations_pg");

/// Applies pending PostgreSQL migrations and reports which ran. sqlx holds a PostgreSQL advisory
/// lock while it migrates, so replicas starting at once apply each migration once.
pub async fn migrate(url: &str) -> Result<MigrationReport, StoreError> {
    let options = PgConnectOptions::from_str(url).map_err(|_| StoreError::BadUrl(redact(url)))?;
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await?;
    let before = applied_versions(&pool).await;
    let outcome = match before {
        Ok(before) => MIGRATOR
            .run(&pool)
            .await
            .map(|()| before)
            .map_err(Into::into),
        Err(e) => Err(e),
    };
    pool.close().await;
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

/// Opens one connection, for tests and probes that need a database of their own.
pub async fn connect(url: &str) -> Result<PgConnection, StoreError> {
    let options = PgConnectOptions::from_str(url).map_err(|_| StoreError::BadUrl(redact(url)))?;
    Ok(PgConnection::connect_with(&options).await?)
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
