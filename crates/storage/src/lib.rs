//! Storage of Cassetto: the connection (SQLite or PostgreSQL), the migrations and the queries,
//! grouped by aggregate. Functions take a `ConnectionTrait` so they run alone or inside a
//! transaction.

pub mod ambiti;
pub mod audit;
pub mod entities;
pub mod outbox;
pub mod registry;
pub mod requests;
pub mod stats;
pub mod throttle;
pub mod webhooks;

use std::time::Duration;

use cassetto_migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, Database, DbBackend, SqlErr, SqliteTransactionMode, TransactionOptions};
pub use sea_orm::{ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbErr, TransactionTrait};

/// Opens a pool on `url` (`sqlite://…` or `postgres://…`).
///
/// SQLite is opened in WAL mode with `synchronous=FULL`, so that a write acknowledged to a
/// client survives a crash, with foreign keys enforced and a busy timeout for concurrent writers.
pub async fn connect(url: &str) -> Result<DatabaseConnection, DbErr> {
    let is_sqlite = url.starts_with("sqlite:");
    let url = if is_sqlite && !url.contains("mode=") && !url.contains(":memory:") {
        let sep = if url.contains('?') { '&' } else { '?' };
        format!("{url}{sep}mode=rwc")
    } else {
        url.to_owned()
    };
    let mut opts = ConnectOptions::new(url);
    opts.sqlx_logging(false).connect_timeout(Duration::from_secs(5)).acquire_timeout(Duration::from_secs(10));
    if is_sqlite {
        opts.max_connections(8).min_connections(1);
        opts.map_sqlx_sqlite_opts(|o| {
            use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10))
        });
    } else {
        opts.max_connections(20).min_connections(1);
    }
    Database::connect(opts).await
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

/// True when the error is a foreign-key violation, on either backend.
pub fn is_foreign_key_violation(err: &DbErr) -> bool {
    matches!(err.sql_err(), Some(SqlErr::ForeignKeyConstraintViolation(_)))
}

/// Starts a write transaction. On SQLite it takes the write lock at `BEGIN` (`IMMEDIATE`), so
/// concurrent writers queue on the busy timeout instead of failing when a read would have to
/// be upgraded to a write.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    })
    .await
}
