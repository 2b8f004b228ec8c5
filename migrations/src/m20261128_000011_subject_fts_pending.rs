//! SQLite: new subjects reach the trigram table (migration 6) in batches, from a queue.
//!
//! The trigger of migration 6 wrote every new request into the trigram table inside the
//! sender's transaction. On SQLite a sender is a member of a group transaction (one fsync for
//! the group) and writes inside its own savepoint; the trigram table flushes what it holds at
//! every savepoint, so each send wrote one new segment of the index, which the table then kept
//! merging: about half of a send's time on the write connection (docs/BENCHMARKS.md, tenth
//! round). Now the trigger writes the request's id and subject into
//! `requests_subject_fts_pending` (one appended row), and a background task of `cassetto
//! serve` moves the queue into the trigram table, one transaction per batch
//! (`cassetto_storage::subject_words`). A search of the subject reads the trigram table and the
//! queue in one statement, so a request is found from the moment it is acknowledged, once.
//!
//! PostgreSQL does not get it: its trigram index is a GIN index, whose own pending list already
//! batches insertions.

use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The requests whose subjects are not in the trigram table yet, oldest first by `seq`.
pub const PENDING: &str = "requests_subject_fts_pending";

const SQLITE_UP: &[&str] = &[
    "DROP TRIGGER IF EXISTS requests_subject_fts_insert",
    "DROP TRIGGER IF EXISTS requests_subject_fts_delete",
    "CREATE TRIGGER requests_subject_fts_insert AFTER INSERT ON requests BEGIN \
     INSERT INTO requests_subject_fts_pending (request_id, subject_search) VALUES (new.id, new.subject_search); END",
    "CREATE TRIGGER requests_subject_fts_delete AFTER DELETE ON requests BEGIN \
     DELETE FROM requests_subject_fts_pending WHERE request_id = old.id; \
     DELETE FROM requests_subject_fts WHERE request_id = old.id; END",
];

const SQLITE_DOWN: &[&str] = &[
    "DROP TRIGGER IF EXISTS requests_subject_fts_insert",
    "DROP TRIGGER IF EXISTS requests_subject_fts_delete",
    "INSERT INTO requests_subject_fts (request_id, subject_search) \
     SELECT request_id, subject_search FROM requests_subject_fts_pending ORDER BY seq",
    "CREATE TRIGGER requests_subject_fts_insert AFTER INSERT ON requests BEGIN \
     INSERT INTO requests_subject_fts (request_id, subject_search) VALUES (new.id, new.subject_search); END",
    "CREATE TRIGGER requests_subject_fts_delete AFTER DELETE ON requests BEGIN \
     DELETE FROM requests_subject_fts WHERE request_id = old.id; END",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Sqlite {
            return Ok(());
        }
        manager
            .create_table(
                Table::create()
                    .table(PENDING)
                    .if_not_exists()
                    .col(integer("seq").primary_key())
                    .col(string_len("request_id", 36))
                    .col(string_len("subject_search", 300))
                    .to_owned(),
            )
            .await?;
        // One call, so one connection of the pool: another one may still hold the schema as
        // it was before the drop, and refuse the new trigger as already there.
        manager.get_connection().execute_unprepared(&SQLITE_UP.join(";\n")).await.map(|_| ())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Sqlite {
            return Ok(());
        }
        manager.get_connection().execute_unprepared(&SQLITE_DOWN.join(";\n")).await?;
        manager.drop_table(Table::drop().table(PENDING).if_exists().to_owned()).await
    }
}
