//! The database the store runs on, named once: the rest of the crate (sync, connectors, mirror,
//! demo, tests, benches) speaks these aliases, never a driver's own types, so the backend can
//! change here without touching them.

/// The sqlx database every query runs on.
pub type Backend = sqlx::Sqlite;

/// The daemon's connection pool.
pub type Pool = sqlx::Pool<Backend>;

/// One connection, pooled or not: what a function holding a transaction (`&mut *tx`) or a
/// connection of its own passes down.
pub type Conn = sqlx::SqliteConnection;

/// A transaction on a pooled connection, as [`super::Db::begin_write`] opens it.
pub type Tx = sqlx::Transaction<'static, Backend>;

/// A connection borrowed from the [`Pool`].
pub type PoolConn = sqlx::pool::PoolConnection<Backend>;

/// Anything a store function can run its statements on: the pool, a connection or a
/// transaction. A trait of its own (a trait alias is not stable Rust) implemented for every
/// executor of the [`Backend`].
pub trait Exec<'c>: sqlx::Executor<'c, Database = Backend> {}

impl<'c, T: sqlx::Executor<'c, Database = Backend>> Exec<'c> for T {}
