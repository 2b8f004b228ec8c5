//! Storage of Cassetto: the connection (SQLite or PostgreSQL), the migrations and the queries,
//! grouped by aggregate. Functions take a `ConnectionTrait` so they run alone or inside a
//! transaction.

pub mod ambiti;
pub mod audit;
mod batch;
pub mod entities;
pub mod outbox;
pub mod registry;
pub mod registry_cache;
pub mod requests;
pub mod stats;
pub mod subject_words;
pub mod throttle;
pub mod webhooks;
mod write;

pub use batch::Batch;
pub use write::{begin_write, on_writer, settle, write_turn, WriteTurn, WriteTxn, MAX_GROUP};

use std::time::Duration;

use cassetto_migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, Database, DbBackend, SqlErr};
pub use sea_orm::{ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbErr, TransactionTrait};

/// Opens a pool on `url` (`sqlite://…` or `postgres://…`).
///
/// SQLite is opened in WAL mode with `synchronous=FULL`, so that a write acknowledged to a
/// client survives a crash (of the process and of the machine), with foreign keys enforced and
/// a busy timeout for writers of other processes.
pub async fn connect(url: &str) -> Result<DatabaseConnection, DbErr> {
    connect_with(url, DEFAULT_ACQUIRE_TIMEOUT).await
}

/// How much of a SQLite file is read through a memory map: all of it (1 TiB of address space;
/// the build raises SQLite's own limit, 2 GB, in `.cargo/config.toml`). Pages read through the
/// map are the operating system's page cache, shared by every connection and process, and are
/// mapped while the database is open: a host that reclaims cold *unmapped* file pages (the
/// bench machine's DAMON evicts them after a minute unused) leaves these in memory, where
/// pages read with `read()` would have to come from disk again (docs/BENCHMARKS.md, ninth
/// round). An I/O error on a mapped page is a signal instead of an error: SQLite's documented
/// trade-off of memory-mapped I/O.
pub const MMAP_SIZE: u64 = 1 << 40;

/// How long a request waits for a database connection before it is answered 503.
pub const DEFAULT_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// A pooled connection idle for at least this long is pinged before it is handed out; one
/// used more recently is handed out as it is. The pool's default pings on every acquire: a
/// round trip more before every statement, on the way of every answer (PostgreSQL: a `Sync`
/// and its reply; SQLite: a message to the connection's thread and back). A connection that
/// broke within this window (the database restarted) fails its next statement, which is
/// answered 503 like any other while the database is unreachable, and is then closed (the
/// pool tests it again when it is given back).
pub const PING_IF_IDLE_FOR: Duration = Duration::from_secs(1);

/// [`connect`], with how long a caller may wait for a pooled connection: while the database
/// is unreachable, requests fail after this wait instead of hanging.
pub async fn connect_with(url: &str, acquire_timeout: Duration) -> Result<DatabaseConnection, DbErr> {
    let is_sqlite = url.starts_with("sqlite:");
    let url = if is_sqlite && !url.contains("mode=") && !url.contains(":memory:") {
        let sep = if url.contains('?') { '&' } else { '?' };
        format!("{url}{sep}mode=rwc")
    } else {
        url.to_owned()
    };
    let mut opts = ConnectOptions::new(url);
    opts.sqlx_logging(false)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(acquire_timeout)
        .test_before_acquire_if_idle_for(PING_IF_IDLE_FOR);
    if is_sqlite {
        opts.max_connections(8).min_connections(1);
        opts.map_sqlx_sqlite_opts(|o| {
            use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10))
                // Reads of a large archive: the whole file mapped (no copy per page read, and
                // pages in use stay resident — see `MMAP_SIZE`), a 16 MiB page cache per
                // connection, sorts in memory.
                .pragma("mmap_size", MMAP_SIZE.to_string())
                .pragma("cache_size", "-16384")
                .pragma("temp_store", "memory")
        });
    } else {
        opts.max_connections(20).min_connections(1);
    }
    let db = Database::connect(opts).await?;
    write::register_writer(&db);
    Ok(db)
}

/// Applies every pending migration.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(db, None).await
}

/// The migrations not applied yet (for `/readyz`).
pub async fn pending_migrations(db: &DatabaseConnection) -> Result<usize, DbErr> {
    Ok(Migrator::get_pending_migrations(db).await?.len())
}

/// A cheap round trip to the database.
pub async fn ping(db: &DatabaseConnection) -> Result<(), DbErr> {
    db.ping().await
}

pub fn is_postgres(db: &impl ConnectionTrait) -> bool {
    db.get_database_backend() == DbBackend::Postgres
}

/// True when the error is a unique-constraint violation, on either backend.
pub fn is_unique_violation(err: &DbErr) -> bool {
    matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}

/// True when the error says the database cannot be reached now (down, restarting, the
/// connection lost mid-statement), rather than that the statement is wrong.
pub fn is_unavailable(err: &DbErr) -> bool {
    use sea_orm::{sqlx::Error as Sqlx, RuntimeErr};
    let inner = match err {
        DbErr::ConnectionAcquire(_) => return true,
        DbErr::Conn(RuntimeErr::SqlxError(e))
        | DbErr::Exec(RuntimeErr::SqlxError(e))
        | DbErr::Query(RuntimeErr::SqlxError(e)) => e,
        DbErr::Conn(_) => return true,
        _ => return false,
    };
    match inner.as_ref() {
        Sqlx::Io(_) | Sqlx::PoolTimedOut | Sqlx::PoolClosed | Sqlx::WorkerCrashed | Sqlx::Tls(_) => true,
        Sqlx::Protocol(_) => true,
        // PostgreSQL: admin_shutdown, crash_shutdown, cannot_connect_now (class 57P), and
        // connection exceptions (class 08).
        Sqlx::Database(db) => db.code().is_some_and(|c| c.starts_with("57P") || c.starts_with("08")),
        _ => false,
    }
}

/// True when the error is a foreign-key violation, on either backend.
pub fn is_foreign_key_violation(err: &DbErr) -> bool {
    matches!(err.sql_err(), Some(SqlErr::ForeignKeyConstraintViolation(_)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    /// Every connection of a SQLite pool reads the whole file through its map: SQLite clamps
    /// `mmap_size` to the limit it was built with (2 GB unless `.cargo/config.toml` raises it),
    /// and a clamped map would leave most of a million-request archive to `read()`.
    #[tokio::test]
    async fn a_sqlite_pool_maps_the_whole_file_on_every_connection() {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::connect(&format!("sqlite://{}/m.db", dir.path().display())).await.unwrap();
        let pool = db.get_sqlite_connection_pool();
        // Four connections held at once: the pool opens more than its first.
        let mut held = vec![];
        for _ in 0..4 {
            held.push(pool.acquire().await.unwrap());
        }
        for conn in &mut held {
            let size: i64 = sea_orm::sqlx::query_scalar("PRAGMA mmap_size").fetch_one(&mut **conn).await.unwrap();
            assert_eq!(size, crate::MMAP_SIZE as i64);
        }
    }
}
