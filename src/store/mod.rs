//! SQLite storage: the pool, its pragmas, the embedded migrations, and readiness probes.

pub mod absences;
pub mod activity;
pub mod activity_page;
mod backend;
pub mod dispatch_support;
pub mod id_landing;
pub mod inbox;
pub mod inbox_work;
pub mod inbox_writer;
pub mod lead_state;
pub mod lead_view;
pub mod links;
pub mod mirror_links;
pub mod mirror_pending;
pub mod notion;
pub mod outbox;
pub mod outbox_depth;
pub mod pairs;
pub mod postgres;
mod rename;
pub mod sheet_blanks;
pub mod status;
#[cfg(test)]
pub(crate) mod testdb;
pub mod throughput;
pub mod tombstones;
pub mod tracker_webhooks;
pub mod webhooks;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Connection, SqliteConnection};

pub use backend::{Backend, Conn, Dialect, Exec, Pool, PoolConn, Tx};

/// Migrations from `migrations/`, compiled into the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// How long a statement waits for SQLite's write lock before failing (and a webhook answers 503).
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database.url {0:?} is not a SQLite file URL")]
    BadUrl(String),
    /// PostgreSQL so far holds the schema only (`leadsync migrate`): issue 15's next steps.
    #[error(
        "database.url {0:?}: PostgreSQL is supported by `leadsync migrate` only so far; \
         run the daemon on SQLite (sqlite://…)"
    )]
    PostgresNotYet(String),
    #[error("cannot create the database folder {path}: {source}")]
    Folder {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0} is not a SQLite database file")]
    NotADatabase(PathBuf),
    #[error("database: {0}")]
    Sqlx(#[from] sqlx::Error),
    #[error("database migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The UNIQUE(pair, card_id) index refused a second link to one card.
    #[error("pair {pair}: card {card_id} is already linked to another lead")]
    CardAlreadyLinked { pair: String, card_id: String },
    #[error("stored JSON in {table}.{column} is invalid: {source}")]
    BadJson {
        table: &'static str,
        column: &'static str,
        source: serde_json::Error,
    },
}

/// Connections of the daemon's pool: the door's readers, the inbox writer's batches, the
/// worker, the dispatcher's concurrent recorders and the console at once.
pub const POOL: u32 = 8;

/// The database handle shared by every part of the daemon.
#[derive(Clone, Debug)]
pub struct Db {
    pub pool: Pool,
    /// Shared, not copied: every clone of the app's state clones a `Db`, several times per
    /// request, and the options hold a map of pragmas (a profile of ingest showed ~4 % of the
    /// CPU copying and freeing it).
    options: Arc<SqliteConnectOptions>,
}

/// What `migrate` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationReport {
    pub applied: Vec<String>,
    pub already: usize,
}

impl Db {
    /// Opens (creating file and folder if missing) with the pragmas correctness depends on,
    /// with up to [`POOL`] connections.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with_pool(url, POOL).await
    }

    /// [`Db::connect`] with up to `connections` pooled connections (at least 1). Each one is a
    /// thread of its own with its page cache (and, under glibc, the allocator arena that
    /// thread allocates from): a one-shot command that writes one transaction at a time keeps
    /// fewer.
    pub async fn connect_with_pool(url: &str, connections: u32) -> Result<Self, StoreError> {
        if Dialect::of(url) == Some(Dialect::Postgres) {
            return Err(StoreError::PostgresNotYet(postgres::redact(url)));
        }
        let options = connect_options(url)?;
        if let Some(folder) = options.get_filename().parent() {
            create_folder(folder)?;
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(connections.max(1))
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options.clone())
            .await?;
        Ok(Self {
            pool,
            options: Arc::new(options),
        })
    }

    /// Applies pending migrations and reports which ran.
    pub async fn migrate(&self) -> Result<MigrationReport, StoreError> {
        let before: Vec<i64> = applied_versions(&self.pool).await?;
        MIGRATOR.run(&self.pool).await?;
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

    /// Readiness: the pool is open and a fresh connection can open the file and read the schema.
    /// A fresh connection matters: pooled ones keep serving cached pages after the file is damaged.
    pub async fn probe(&self) -> Result<(), StoreError> {
        if self.pool.is_closed() {
            return Err(StoreError::Sqlx(sqlx::Error::PoolClosed));
        }
        // WAL mode serves recent pages from the -wal file, so a replaced or damaged main file
        // would go unnoticed by a query alone: check the file's own header too.
        let mut header = [0u8; 16];
        let mut file = tokio::fs::File::open(self.path())
            .await
            .map_err(|e| StoreError::Sqlx(sqlx::Error::Io(e)))?;
        tokio::io::AsyncReadExt::read_exact(&mut file, &mut header)
            .await
            .map_err(|e| StoreError::Sqlx(sqlx::Error::Io(e)))?;
        if &header != b"SQLite format 3\0" {
            return Err(StoreError::NotADatabase(self.path().to_path_buf()));
        }
        let mut conn =
            SqliteConnection::connect_with(&(*self.options).clone().create_if_missing(false))
                .await?;
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM sqlite_master")
            .fetch_one(&mut conn)
            .await?;
        conn.close().await?;
        Ok(())
    }

    /// A write transaction that takes SQLite's write lock at once (`BEGIN IMMEDIATE`), so two
    /// writers queue on `busy_timeout` instead of failing mid-transaction on lock upgrade.
    /// Pass `&mut *tx` to the store functions that make up one decision, then `tx.commit()`.
    pub async fn begin_write(&self) -> Result<Tx, StoreError> {
        // SQLite-only statement; a Postgres backend would use a plain BEGIN.
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }

    /// A connection of its own, outside the pool, that never waits in SQLite's busy handler: a
    /// statement meeting another connection's write lock fails at once with `SQLITE_BUSY`, and
    /// its owner decides how to wait (the inbox writer retries at millisecond steps, where the
    /// busy handler sleeps up to 100 ms at a time and wakes late). Opened with the pool's
    /// timeout (opening runs pragmas that may meet a lock too), then switched off.
    pub async fn connect_without_busy_wait(&self) -> Result<Conn, StoreError> {
        let mut conn = SqliteConnection::connect_with(&self.options).await?;
        sqlx::query("PRAGMA busy_timeout = 0")
            .execute(&mut conn)
            .await?;
        Ok(conn)
    }

    pub fn path(&self) -> &Path {
        self.options.get_filename()
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

fn connect_options(url: &str) -> Result<SqliteConnectOptions, StoreError> {
    let options =
        SqliteConnectOptions::from_str(url).map_err(|_| StoreError::BadUrl(url.to_string()))?;
    Ok(options
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        // FULL: a webhook is acknowledged once its inbox row commits, so that commit must reach the
        // disk (WAL + NORMAL may lose the last transactions on power loss).
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(BUSY_TIMEOUT)
        .foreign_keys(true))
}

fn create_folder(folder: &Path) -> Result<(), StoreError> {
    if folder.as_os_str().is_empty() || folder.exists() {
        return Ok(());
    }
    std::fs::create_dir_all(folder).map_err(|source| StoreError::Folder {
        path: folder.to_path_buf(),
        source,
    })
}

async fn applied_versions(pool: &Pool) -> Result<Vec<i64>, StoreError> {
    let exists: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
    )
    .fetch_one(pool)
    .await?;
    if exists == 0 {
        return Ok(Vec::new());
    }
    Ok(sqlx::query_scalar(
        "SELECT version FROM _sqlx_migrations WHERE success = 1 ORDER BY version",
    )
    .fetch_all(pool)
    .await?)
}

/// Current time as the schema stores it: unix milliseconds.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn connect_creates_the_folder_and_file_and_migrate_is_idempotent() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("nested/deeper/leads.db");
        let db = Db::connect(&format!("sqlite://{}", path.display()))
            .await
            .expect("connect");
        assert!(path.exists());
        let first = db.migrate().await.expect("migrate");
        assert_eq!(first.already, 0);
        assert!(!first.applied.is_empty());
        let second = db.migrate().await.expect("migrate again");
        assert!(second.applied.is_empty());
        assert_eq!(second.already, first.applied.len());
    }

    #[tokio::test]
    async fn pragmas_are_wal_full_and_foreign_keys() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = Db::connect(&format!("sqlite://{}", dir.path().join("p.db").display()))
            .await
            .expect("connect");
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(&db.pool)
            .await
            .expect("q");
        let sync: i64 = sqlx::query_scalar("PRAGMA synchronous")
            .fetch_one(&db.pool)
            .await
            .expect("q");
        let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
            .fetch_one(&db.pool)
            .await
            .expect("q");
        let busy: i64 = sqlx::query_scalar("PRAGMA busy_timeout")
            .fetch_one(&db.pool)
            .await
            .expect("q");
        assert_eq!(mode, "wal");
        assert_eq!(sync, 2, "synchronous=FULL");
        assert_eq!(fk, 1);
        assert_eq!(busy, 5000);
    }

    #[tokio::test]
    async fn probe_fails_once_the_pool_is_closed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = Db::connect(&format!("sqlite://{}", dir.path().join("c.db").display()))
            .await
            .expect("connect");
        db.probe().await.expect("healthy");
        db.close().await;
        assert!(db.probe().await.is_err());
    }
}
