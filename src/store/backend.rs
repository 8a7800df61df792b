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

/// Which SQL dialect a `database.url` speaks (CONTRACT §9): `sqlite:` (the default, embedded,
/// one process) or `postgres:`/`postgresql:` (shared by replicas).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// The dialect of `url` by its scheme, or `None` for a database leadsync does not speak.
    pub fn of(url: &str) -> Option<Self> {
        let scheme = url.split_once(':')?.0.to_ascii_lowercase();
        match scheme.as_str() {
            "sqlite" => Some(Self::Sqlite),
            "postgres" | "postgresql" => Some(Self::Postgres),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Dialect;

    #[test]
    fn the_dialect_is_the_urls_scheme() {
        assert_eq!(
            Dialect::of("sqlite://data/leadsync.db"),
            Some(Dialect::Sqlite)
        );
        assert_eq!(Dialect::of("sqlite:x.db?mode=rwc"), Some(Dialect::Sqlite));
        assert_eq!(
            Dialect::of("postgres://u:p@h:5432/db"),
            Some(Dialect::Postgres)
        );
        assert_eq!(Dialect::of("PostgreSQL://h/db"), Some(Dialect::Postgres));
        assert_eq!(Dialect::of("mysql://h/db"), None);
        assert_eq!(Dialect::of("data/leadsync.db"), None);
    }
}
