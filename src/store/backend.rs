//! The database the store runs on, named once: the rest of the crate (sync, connectors, mirror,
//! demo, tests, benches) speaks these aliases, never a driver's own types, so the backend can
//! change here without touching them.

/// The sqlx database every query runs on: sqlx's runtime driver, which speaks SQLite or
/// PostgreSQL by the URL's scheme (CONTRACT §9), so one store API serves both backends.
pub type Backend = sqlx::Any;

/// The daemon's connection pool.
pub type Pool = sqlx::Pool<Backend>;

/// One connection, pooled or not: what a function holding a transaction (`&mut *tx`) or a
/// connection of its own passes down.
pub type Conn = sqlx::AnyConnection;

/// A transaction on a pooled connection, as [`super::Db::begin_write`] opens it.
pub type Tx = sqlx::Transaction<'static, Backend>;

/// A connection borrowed from the [`Pool`].
pub type PoolConn = sqlx::pool::PoolConnection<Backend>;

/// Anything a store function can run its statements on: the pool, a connection or a
/// transaction (`&mut *tx`). It knows its [`Dialect`], so a store function picks the
/// dialect's statement where SQLite and PostgreSQL differ.
pub trait Exec<'c>: sqlx::Executor<'c, Database = Backend> {
    fn dialect(&self) -> Dialect;
}

impl<'c> Exec<'c> for &'c Pool {
    fn dialect(&self) -> Dialect {
        Dialect::of(self.connect_options().database_url.as_str()).unwrap_or(Dialect::Sqlite)
    }
}

impl<'c> Exec<'c> for &'c mut Conn {
    fn dialect(&self) -> Dialect {
        Dialect::of_conn(self)
    }
}

/// A yes/no column, stored as 0/1 in an integer column on both backends. `Any` decodes a
/// `bool` only from a boolean column, so rows read flags through this (`#[sqlx(try_from =
/// "Flag")]`) and statements bind them as `i64::from(flag)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flag(pub bool);

impl sqlx::Type<Backend> for Flag {
    fn type_info() -> sqlx::any::AnyTypeInfo {
        <i64 as sqlx::Type<Backend>>::type_info()
    }

    fn compatible(ty: &sqlx::any::AnyTypeInfo) -> bool {
        <i64 as sqlx::Type<Backend>>::compatible(ty)
    }
}

impl<'r> sqlx::Decode<'r, Backend> for Flag {
    fn decode(value: sqlx::any::AnyValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        Ok(Self(<i64 as sqlx::Decode<Backend>>::decode(value)? != 0))
    }
}

impl From<Flag> for bool {
    fn from(flag: Flag) -> Self {
        flag.0
    }
}

/// Which SQL dialect a `database.url` speaks (CONTRACT §9): `sqlite:` (the default, embedded,
/// one process) or `postgres:`/`postgresql:` (shared by replicas).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// The statement that opens a write transaction holding the write lock from its start:
    /// SQLite's `BEGIN IMMEDIATE` (two writers queue on `busy_timeout` instead of failing on
    /// lock upgrade); on PostgreSQL a transaction-scoped advisory lock, so that decisions
    /// (read, then write) never interleave, as on SQLite.
    /// The lock's key is any constant ("leadsync" in ASCII, 0x6c65616473796e63).
    pub fn begin_write(self) -> &'static str {
        match self {
            Self::Sqlite => "BEGIN IMMEDIATE",
            Self::Postgres => "BEGIN; SELECT pg_advisory_xact_lock(7810756212805955171)",
        }
    }

    /// A subquery of the texts of the JSON array bound at `$n`: SQLite's `json_each`,
    /// PostgreSQL's `jsonb_array_elements_text` (one bound list, not a placeholder per item).
    pub fn list_of(self, n: u8) -> String {
        match self {
            Self::Sqlite => format!("SELECT value FROM json_each(${n})"),
            Self::Postgres => format!("SELECT jsonb_array_elements_text(CAST(${n} AS jsonb))"),
        }
    }

    /// The dialect `conn` speaks.
    pub fn of_conn(conn: &Conn) -> Self {
        match conn.backend_name() {
            "PostgreSQL" => Self::Postgres,
            _ => Self::Sqlite,
        }
    }

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
