//! Indexes for the archive at a million requests (measured in docs/BENCHMARKS.md).
//!
//! 1. Covering indexes, one per kind of scope (a sender's matricole, an operatore's sede,
//!    every sede): scope, sort key, id, then every column a filter may test, the lower-cased
//!    subject last. The archive picks its page and counts on ids alone, so these answer without
//!    reading a single row; they replace the narrower (scope, updated_at, id) indexes they
//!    extend. Statistics are refreshed afterwards, so that the planners know them.
//! 2. A trigram index on the lower-cased subject, so that the «part of the subject» filter
//!    (`LIKE '%…%'`) reads an index instead of every request. No backend-neutral helper exists
//!    for it: PostgreSQL gets a GIN index with `pg_trgm` (a
//!    trusted extension: the database owner may create it), SQLite an FTS5 table with the
//!    `trigram` tokenizer holding each request's id and subject, filled by a trigger. Subjects never
//!    change after sending, so inserts and deletes are all the trigger has to follow.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

const SQLITE_UP: &[&str] = &[
    "ANALYZE",
    "CREATE VIRTUAL TABLE IF NOT EXISTS requests_subject_fts \
     USING fts5(request_id UNINDEXED, subject_search, tokenize = 'trigram')",
    "INSERT INTO requests_subject_fts (request_id, subject_search) SELECT id, subject_search FROM requests",
    "CREATE TRIGGER IF NOT EXISTS requests_subject_fts_insert AFTER INSERT ON requests BEGIN \
     INSERT INTO requests_subject_fts (request_id, subject_search) VALUES (new.id, new.subject_search); END",
    "CREATE TRIGGER IF NOT EXISTS requests_subject_fts_delete AFTER DELETE ON requests BEGIN \
     DELETE FROM requests_subject_fts WHERE request_id = old.id; END",
];

const SQLITE_DOWN: &[&str] = &[
    "DROP TRIGGER IF EXISTS requests_subject_fts_delete",
    "DROP TRIGGER IF EXISTS requests_subject_fts_insert",
    "DROP TABLE IF EXISTS requests_subject_fts",
];

const POSTGRES_UP: &[&str] = &[
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS idx_requests_subject_trgm ON requests USING gin (subject_search gin_trgm_ops)",
    "ANALYZE requests",
];

const POSTGRES_DOWN: &[&str] = &["DROP INDEX IF EXISTS idx_requests_subject_trgm"];

async fn run(manager: &SchemaManager<'_>, sqlite: &[&str], postgres: &[&str]) -> Result<(), DbErr> {
    let statements = match manager.get_database_backend() {
        DbBackend::Sqlite => sqlite,
        DbBackend::Postgres => postgres,
        other => return Err(DbErr::Migration(format!("backend non supportato: {other:?}"))),
    };
    let db = manager.get_connection();
    for sql in statements {
        db.execute_unprepared(sql).await?;
    }
    Ok(())
}

/// Filtered columns carried by every covering index, after its scope, sort key and id.
const FILTERED: [&str; 5] = ["status", "ambito_code", "created_at", "assigned_to", "sede_code"];

/// (new index, the index it replaces, the replaced one's columns, scope column, sort column).
const COVERING: [(&str, &str, &[&str], &str, &str); 4] = [
    (
        "idx_requests_matricola_search",
        "idx_requests_matricola_updated",
        &["matricola", "updated_at", "id"],
        "matricola",
        "updated_at",
    ),
    (
        "idx_requests_sede_search",
        "idx_requests_sede_updated",
        &["sede_code", "updated_at", "id"],
        "sede_code",
        "updated_at",
    ),
    ("idx_requests_all_search", "idx_requests_updated", &["updated_at", "id"], "", "updated_at"),
    ("idx_requests_created_search", "idx_requests_created", &["created_at", "id"], "", "created_at"),
];

/// Indexes the covering ones make redundant: dropped, so that a send writes fewer of them.
const REDUNDANT: [(&str, &[&str]); 4] = [
    ("idx_requests_matricola_created", &["matricola", "created_at", "id"]),
    ("idx_requests_matricola_status_updated", &["matricola", "status", "updated_at", "id"]),
    ("idx_requests_sede_status_updated", &["sede_code", "status", "updated_at", "id"]),
    ("idx_requests_sede_created", &["sede_code", "created_at", "id"]),
];

fn covering_columns(scope: &'static str, sort: &'static str) -> Vec<&'static str> {
    let mut cols: Vec<&str> = vec![];
    if !scope.is_empty() {
        cols.push(scope);
    }
    cols.extend([sort, "id"]);
    cols.extend(FILTERED.iter().copied().filter(|c| *c != scope && *c != sort));
    if sort != "updated_at" {
        cols.push("updated_at");
    }
    if scope != "matricola" {
        cols.push("matricola");
    }
    cols.push("subject_search");
    cols
}

fn drop_index(name: &str) -> IndexDropStatement {
    Index::drop().name(name).table(Alias::new("requests")).to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, replaces, _, scope, sort) in COVERING {
            manager.create_index(index("requests", name, &covering_columns(scope, sort))).await?;
            manager.drop_index(drop_index(replaces)).await?;
        }
        for (name, _) in REDUNDANT {
            manager.drop_index(drop_index(name)).await?;
        }
        run(manager, SQLITE_UP, POSTGRES_UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run(manager, SQLITE_DOWN, POSTGRES_DOWN).await?;
        for (name, cols) in REDUNDANT {
            manager.create_index(index("requests", name, cols)).await?;
        }
        for (name, replaces, narrow, _, _) in COVERING {
            manager.create_index(index("requests", replaces, narrow)).await?;
            manager.drop_index(drop_index(name)).await?;
        }
        Ok(())
    }
}
