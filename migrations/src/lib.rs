//! The schema of Cassetto, one migration per change, written with sea-orm's backend-neutral
//! helpers so that each runs unchanged on SQLite and PostgreSQL. A migration is never edited
//! after it has landed on `main`: a change is a new file.

pub use sea_orm_migration::prelude::*;

mod m20261126_000001_create_registry;
mod m20261126_000002_create_ambiti;
mod m20261126_000003_create_requests;
mod m20261126_000004_create_outbox_and_audit;
mod m20261126_000005_create_webhooks;
mod m20261126_000006_archive_search_indexes;
mod m20261127_000007_work_queue_index;
mod m20261127_000008_registry_version;
pub mod m20261127_000009_unassigned_subject_index;
pub mod m20261127_000010_subject_words;
pub mod m20261128_000011_subject_fts_pending;
pub mod m20261129_000012_sqlite_subject_words;
mod m20261130_000013_status_search_index;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261126_000001_create_registry::Migration),
            Box::new(m20261126_000002_create_ambiti::Migration),
            Box::new(m20261126_000003_create_requests::Migration),
            Box::new(m20261126_000004_create_outbox_and_audit::Migration),
            Box::new(m20261126_000005_create_webhooks::Migration),
            Box::new(m20261126_000006_archive_search_indexes::Migration),
            Box::new(m20261127_000007_work_queue_index::Migration),
            Box::new(m20261127_000008_registry_version::Migration),
            Box::new(m20261127_000009_unassigned_subject_index::Migration),
            Box::new(m20261127_000010_subject_words::Migration),
            Box::new(m20261128_000011_subject_fts_pending::Migration),
            Box::new(m20261129_000012_sqlite_subject_words::Migration),
            Box::new(m20261130_000013_status_search_index::Migration),
        ]
    }
}

/// Helper shared by the migrations: a named index on a table.
pub(crate) fn index(table: &str, name: &str, cols: &[&str]) -> IndexCreateStatement {
    let mut idx = Index::create();
    idx.name(name).table(Alias::new(table)).if_not_exists();
    for c in cols {
        idx.col(Alias::new(*c));
    }
    idx.to_owned()
}

/// Helper shared by the migrations: drops a named index of a table.
pub(crate) fn drop_index(table: &str, name: &str) -> IndexDropStatement {
    Index::drop().name(name).table(Alias::new(table)).to_owned()
}

/// Helper shared by the migrations: refreshes the planner's statistics of `requests` after its
/// indexes changed.
pub(crate) async fn analyze_requests(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};
    let sql = match manager.get_database_backend() {
        DbBackend::Sqlite => "ANALYZE",
        DbBackend::Postgres => "ANALYZE requests",
        other => return Err(DbErr::Migration(format!("backend non supportato: {other:?}"))),
    };
    manager.get_connection().execute_unprepared(sql).await.map(|_| ())
}
