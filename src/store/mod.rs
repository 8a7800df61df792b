//! Storage: the pool on SQLite or PostgreSQL (by `database.url`), the embedded migrations, and
//! readiness probes.

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
pub mod leader;
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
pub mod sheet_settling;
mod sqlite;
pub mod status;
#[cfg(test)]
pub(crate) mod testdb;
pub mod throughput;
pub mod tombstones;
pub mod tracker_webhooks;
pub mod webhooks;
#[cfg(test)]
mod write_lock_tests;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::Connection;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};

pub use backend::{Backend, Conn, Dialect, Exec, Flag, Pool, PoolConn, Tx};

/// Migrations from `migrations/`, compiled into the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database.url {0:?} is not a SQLite file URL nor a PostgreSQL URL")]
    BadUrl(String),
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

/// Connections of the daemon's pool on SQLite: the door's readers, the inbox writer's batches,
/// the worker, the dispatcher's concurrent recorders and the console at once.
pub const POOL: u32 = 8;

/// How long a statement waits for a pooled connection (or a new one to open) before it fails.
/// On PostgreSQL this is also the bound on reaching an unreachable server: sqlx has no connect
/// timeout of its own, and a server behind a dead link never answers the TCP handshake.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);
const PG_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// The daemon's pool on `dialect`, sized for the machine: SQLite has one writer whatever the
/// pool, so [`POOL`]; a PostgreSQL server serves many statements at once, so four connections
/// per core (most of a connection's time is a round trip), from 8 to 32. Each replica holds up
/// to this many, plus the inbox writer's own connection: PostgreSQL's `max_connections` must
/// cover replicas × (this + 2).
pub fn pool_size(dialect: Dialect) -> u32 {
    match dialect {
        Dialect::Sqlite => POOL,
        Dialect::Postgres => {
            let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
            u32::try_from(cores * 4).unwrap_or(u32::MAX).clamp(8, 32)
        }
    }
}

/// The database handle shared by every part of the daemon.
#[derive(Clone, Debug)]
pub struct Db {
    pub pool: Pool,
    dialect: Dialect,
    /// Shared, not copied: every clone of the app's state clones a `Db`, several times per
    /// request (a profile of ingest showed ~4 % of the CPU copying options around).
    options: Arc<AnyConnectOptions>,
    /// The SQLite file; empty on PostgreSQL.
    path: Arc<Path>,
}

/// What `migrate` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationReport {
    pub applied: Vec<String>,
    pub already: usize,
}

impl Db {
    /// Opens (creating file and folder if missing) with the pragmas correctness depends on,
    /// with up to [`pool_size`] connections.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let dialect = Dialect::of(url).unwrap_or(Dialect::Sqlite);
        Self::connect_with_pool(url, pool_size(dialect)).await
    }

    /// [`Db::connect`] with up to `connections` pooled connections (at least 1). Each SQLite
    /// connection is a thread of its own with its page cache (and, under glibc, the allocator
    /// arena that thread allocates from): a one-shot command that writes one transaction at a
    /// time keeps fewer.
    pub async fn connect_with_pool(url: &str, connections: u32) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let dialect = Dialect::of(url).ok_or_else(|| StoreError::BadUrl(postgres::redact(url)))?;
        let (options, path): (AnyConnectOptions, Arc<Path>) = match dialect {
            Dialect::Sqlite => {
                let (sqlite, any) = sqlite::options(url)?;
                if let Some(folder) = sqlite.get_filename().parent() {
                    create_folder(folder)?;
                }
                (any, Arc::from(sqlite.get_filename()))
            }
            Dialect::Postgres => (
                AnyConnectOptions::from_str(url)
                    .map_err(|_| StoreError::BadUrl(postgres::redact(url)))?,
                Arc::from(Path::new("")),
            ),
        };
        let pool = AnyPoolOptions::new()
            .max_connections(connections.max(1))
            .acquire_timeout(match dialect {
                Dialect::Sqlite => ACQUIRE_TIMEOUT,
                Dialect::Postgres => PG_ACQUIRE_TIMEOUT,
            })
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    match dialect {
                        Dialect::Sqlite => sqlite::prepare(conn).await,
                        Dialect::Postgres => Ok(()),
                    }
                })
            })
            .connect_with(options.clone())
            .await?;
        Ok(Self {
            pool,
            dialect,
            options: Arc::new(options),
            path,
        })
    }

    /// Which backend this database runs on.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Applies pending migrations and reports which ran.
    pub async fn migrate(&self) -> Result<MigrationReport, StoreError> {
        if self.dialect == Dialect::Postgres {
            return postgres::migrate(self.options.database_url.as_str()).await;
        }
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

    /// Readiness: the pool is open and a fresh connection can open the database and read the
    /// schema. A fresh connection matters: pooled ones keep serving cached pages after a SQLite
    /// file is damaged, and on PostgreSQL it proves the server takes connections.
    pub async fn probe(&self) -> Result<(), StoreError> {
        if self.pool.is_closed() {
            return Err(StoreError::Sqlx(sqlx::Error::PoolClosed));
        }
        match self.dialect {
            Dialect::Sqlite => sqlite::probe(self.path(), &self.options).await,
            Dialect::Postgres => {
                let mut conn = Conn::connect_with(&self.options).await?;
                sqlx::query_scalar::<_, i64>("SELECT count(*) FROM _sqlx_migrations")
                    .fetch_one(&mut conn)
                    .await?;
                conn.close().await?;
                Ok(())
            }
        }
    }

    /// A write transaction that holds the database's write lock from its start, so two
    /// writers queue instead of failing mid-transaction (see [`Dialect::begin_write`]). Pass
    /// `&mut *tx` to the store functions that make up one decision, then `tx.commit()`.
    pub async fn begin_write(&self) -> Result<Tx, StoreError> {
        Ok(self.pool.begin_with(self.dialect.begin_write()).await?)
    }

    /// A connection of its own, outside the pool, that never waits in SQLite's busy handler: a
    /// statement meeting another connection's write lock fails at once with `SQLITE_BUSY`, and
    /// its owner decides how to wait (the inbox writer retries at millisecond steps, where the
    /// busy handler sleeps up to 100 ms at a time and wakes late). Opened with the pool's
    /// timeout (opening runs pragmas that may meet a lock too), then switched off. On
    /// PostgreSQL a plain connection: writers wait on its locks, which wake them at once; its
    /// opening is bounded as the pool's is, so an unreachable server fails it (a webhook then
    /// answers 503) instead of holding it until the link comes back.
    pub async fn connect_without_busy_wait(&self) -> Result<Conn, StoreError> {
        if self.dialect == Dialect::Postgres {
            let open = Conn::connect_with(&self.options);
            return match tokio::time::timeout(PG_ACQUIRE_TIMEOUT, open).await {
                Ok(conn) => Ok(conn?),
                Err(_) => Err(StoreError::Sqlx(sqlx::Error::Io(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "the database did not answer a new connection in time",
                )))),
            };
        }
        let mut conn = Conn::connect_with(&self.options).await?;
        sqlite::prepare(&mut conn).await?;
        sqlx::query("PRAGMA busy_timeout = 0")
            .execute(&mut conn)
            .await?;
        Ok(conn)
    }

    /// The SQLite file (empty on PostgreSQL).
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
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
    let exists: i64 = sqlx::query_scalar(sqlite::HAS_MIGRATIONS)
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

    #[tokio::test]
    async fn placeholders_bind_by_number_and_repeat() {
        let db = testdb::temp_db().await;
        let (swapped, again): (String, i64) =
            sqlx::query_as("SELECT CAST($2 AS TEXT) || CAST($1 AS TEXT), CAST($3 AS BIGINT) + $3")
                .bind("a")
                .bind("b")
                .bind(20_i64)
                .fetch_one(&db.pool)
                .await
                .expect("query");
        assert_eq!((swapped.as_str(), again), ("ba", 40));
    }
}
