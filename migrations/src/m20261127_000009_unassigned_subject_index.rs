//! SQLite: a narrow index of the requests nobody has taken in charge, by status and subject.
//!
//! Counting a common word in the queue of every sede («aperta», not assigned, a word of the
//! subject) reads every entry of that queue — 55,000 at a million requests — and checks the
//! word on each: through the work-queue index, whose entries carry nine columns, about 9 ms;
//! through this one (two columns, only unassigned requests), about 4.7 ms (docs/BENCHMARKS.md,
//! sixth round). Only the count asks for it, by name (`INDEXED BY`); the pages keep the
//! work-queue index, which gives them their order.
//!
//! PostgreSQL does not get it: the same index measured no faster there (its count of the queue
//! is bound by the visibility of the rows, not by the width of the entries), and every send
//! would pay for it.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

pub const NAME: &str = "idx_requests_unassigned_subject";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Sqlite {
            return Ok(());
        }
        manager
            .create_index(
                Index::create()
                    .name(NAME)
                    .table(Alias::new("requests"))
                    .if_not_exists()
                    .col(Alias::new("status"))
                    .col(Alias::new("subject_search"))
                    .and_where(Expr::col(Alias::new("assigned_to")).is_null())
                    .to_owned(),
            )
            .await?;
        // Its statistics, so that the planner weighs it against the others from the start.
        manager.get_connection().execute_unprepared(&format!("ANALYZE {NAME}")).await.map(|_| ())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Sqlite {
            return Ok(());
        }
        manager.drop_index(Index::drop().name(NAME).table(Alias::new("requests")).if_exists().to_owned()).await
    }
}
