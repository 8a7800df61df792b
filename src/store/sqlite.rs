//! SQLite, the default backend: its connect options, the pragmas correctness depends on (set on
//! every connection of the `Any` pool, which opens SQLite from a URL alone), and its probes.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::any::AnyConnectOptions;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};

use super::{Conn, StoreError};

/// How long a statement waits for SQLite's write lock before failing (and a webhook answers 503).
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The pragmas of every connection. `Any` opens SQLite from a URL, which cannot carry them.
/// WAL lets the door read while the engine writes. FULL: a webhook is acknowledged once its
/// inbox row commits, so that commit must reach the disk (WAL + NORMAL may lose the last
/// transactions on power loss).
const PRAGMAS: &str = "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
     PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;";

/// The parsed URL (for its file) and the options `Any` connects with (creating the file).
pub fn options(url: &str) -> Result<(SqliteConnectOptions, AnyConnectOptions), StoreError> {
    let sqlite = SqliteConnectOptions::from_str(url)
        .map_err(|_| StoreError::BadUrl(url.to_string()))?
        .create_if_missing(true)
        .busy_timeout(BUSY_TIMEOUT);
    let any = AnyConnectOptions::from_url(&sqlite.to_url_lossy())
        .map_err(|_| StoreError::BadUrl(url.to_string()))?;
    Ok((sqlite, any))
}

/// Sets [`PRAGMAS`] on a new connection.
pub async fn prepare(conn: &mut Conn) -> Result<(), sqlx::Error> {
    sqlx::raw_sql(PRAGMAS).execute(conn).await?;
    Ok(())
}

/// Readiness of the file itself. WAL mode serves recent pages from the -wal file, so a
/// replaced or damaged main file would go unnoticed by a query alone: check the file's own
/// header too, then read the schema on a fresh connection (pooled ones keep serving cached
/// pages after the file is damaged).
pub async fn probe(path: &Path, options: &AnyConnectOptions) -> Result<(), StoreError> {
    let mut header = [0u8; 16];
    let mut file = tokio::fs::File::open(path)
        .await
        .map_err(|e| StoreError::Sqlx(sqlx::Error::Io(e)))?;
    tokio::io::AsyncReadExt::read_exact(&mut file, &mut header)
        .await
        .map_err(|e| StoreError::Sqlx(sqlx::Error::Io(e)))?;
    if &header != b"SQLite format 3\0" {
        return Err(StoreError::NotADatabase(path.to_path_buf()));
    }
    // `mode=rw`: a probe must not create a file that went missing.
    let url = options.database_url.as_str().replace("mode=rwc", "mode=rw");
    let mut conn = sqlx::AnyConnection::connect(&url).await?;
    sqlx::query_scalar::<_, i64>("SELECT count(*) FROM sqlite_master")
        .fetch_one(&mut conn)
        .await?;
    conn.close().await?;
    Ok(())
}

/// Whether the migrations table exists yet.
pub const HAS_MIGRATIONS: &str =
    "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'";
