//! Two more covering indexes, the same shape as the archive's scope indexes of migration 6
//! (leading columns, a timestamp, the id, then every column a filter may test, the lower-cased
//! subject last), each replacing a narrow index whose every match cost a read of the row
//! (docs/BENCHMARKS.md):
//!
//! - the work queue, (assignee, status, updated_at, …): «open and not assigned» across every
//!   sede (≈ 5 % of a million requests) with a word of the subject read 55,000 rows to count
//!   its matches; it now reads index entries only;
//! - the ambito, (ambito, created_at, …): an ambito within a period of opening walked every
//!   ambito's requests of that period; it now walks its own only.
//!
//! Statistics are refreshed afterwards, so that the planners know them.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

use crate::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// (new index, its columns, the index it replaces, the replaced one's columns).
const COVERING: [(&str, [&str; 9], &str, [&str; 2]); 2] = [
    (
        "idx_requests_queue_search",
        [
            "assigned_to",
            "status",
            "updated_at",
            "id",
            "sede_code",
            "ambito_code",
            "created_at",
            "matricola",
            "subject_search",
        ],
        "idx_requests_assigned",
        ["assigned_to", "status"],
    ),
    (
        "idx_requests_ambito_search",
        [
            "ambito_code",
            "created_at",
            "id",
            "updated_at",
            "status",
            "sede_code",
            "assigned_to",
            "matricola",
            "subject_search",
        ],
        "idx_requests_ambito_updated",
        ["ambito_code", "updated_at"],
    ),
];

fn drop_index(name: &str) -> IndexDropStatement {
    Index::drop().name(name).table(Alias::new("requests")).to_owned()
}

async fn analyze(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let sql = match manager.get_database_backend() {
        DbBackend::Sqlite => "ANALYZE",
        DbBackend::Postgres => "ANALYZE requests",
        other => return Err(DbErr::Migration(format!("backend non supportato: {other:?}"))),
    };
    manager.get_connection().execute_unprepared(sql).await.map(|_| ())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, columns, replaces, _) in COVERING {
            manager.create_index(index("requests", name, &columns)).await?;
            manager.drop_index(drop_index(replaces)).await?;
        }
        analyze(manager).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, _, replaces, narrow) in COVERING {
            manager.create_index(index("requests", replaces, &narrow)).await?;
            manager.drop_index(drop_index(name)).await?;
        }
        analyze(manager).await
    }
}
