//! A version number of the registry, raised by the database itself whenever a row changes in a
//! table that says who may do what (users, deleghe, aziende, sedi, API clients, webhooks).
//!
//! The API keeps what a send needs of the registry in memory, tagged with the version it was
//! read under, and reads this one number per request instead (`cassetto_storage::registry_cache`):
//! any change — through the API, the command line, another instance or by hand — raises the
//! version in the change's own transaction, so the next request after its commit reads afresh.
//! Triggers, not application code, raise it, so that no writer can forget: on SQLite one per
//! table and operation (row-level, the only kind SQLite has), on PostgreSQL one statement-level
//! trigger per table calling one function.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum RegistryVersion {
    Table,
    Id,
    Version,
}

/// The tables whose changes raise the version.
const TABLES: [&str; 6] = ["users", "deleghe", "aziende", "sedi", "api_clients", "webhooks"];

const OPERATIONS: [&str; 3] = ["INSERT", "UPDATE", "DELETE"];

fn trigger_statements(backend: DbBackend) -> Result<Vec<String>, DbErr> {
    let bump = "UPDATE registry_version SET version = version + 1 WHERE id = 1";
    match backend {
        DbBackend::Sqlite => Ok(TABLES
            .iter()
            .flat_map(|t| {
                OPERATIONS.iter().map(move |op| {
                    format!(
                        "CREATE TRIGGER IF NOT EXISTS {t}_registry_{} AFTER {op} ON {t} BEGIN {bump}; END",
                        op.to_lowercase()
                    )
                })
            })
            .collect()),
        DbBackend::Postgres => {
            let mut v = vec![format!(
                "CREATE OR REPLACE FUNCTION cassetto_registry_changed() RETURNS trigger LANGUAGE plpgsql AS \
                 $$ BEGIN {bump}; RETURN NULL; END $$"
            )];
            v.extend(TABLES.iter().map(|t| {
                format!(
                    "CREATE TRIGGER {t}_registry_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {t} \
                     FOR EACH STATEMENT EXECUTE FUNCTION cassetto_registry_changed()"
                )
            }));
            Ok(v)
        }
        other => Err(DbErr::Migration(format!("backend non supportato: {other:?}"))),
    }
}

fn drop_statements(backend: DbBackend) -> Result<Vec<String>, DbErr> {
    match backend {
        DbBackend::Sqlite => Ok(TABLES
            .iter()
            .flat_map(|t| {
                OPERATIONS.iter().map(move |op| format!("DROP TRIGGER IF EXISTS {t}_registry_{}", op.to_lowercase()))
            })
            .collect()),
        DbBackend::Postgres => {
            let mut v: Vec<String> =
                TABLES.iter().map(|t| format!("DROP TRIGGER IF EXISTS {t}_registry_changed ON {t}")).collect();
            v.push("DROP FUNCTION IF EXISTS cassetto_registry_changed()".into());
            Ok(v)
        }
        other => Err(DbErr::Migration(format!("backend non supportato: {other:?}"))),
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(RegistryVersion::Table)
                    .if_not_exists()
                    .col(ColumnDef::new(RegistryVersion::Id).integer().not_null().primary_key())
                    .col(ColumnDef::new(RegistryVersion::Version).big_integer().not_null().default(0))
                    .to_owned(),
            )
            .await?;
        manager
            .exec_stmt(
                Query::insert()
                    .into_table(RegistryVersion::Table)
                    .columns([RegistryVersion::Id, RegistryVersion::Version])
                    .values_panic([1.into(), 0.into()])
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        for sql in trigger_statements(manager.get_database_backend())? {
            db.execute_unprepared(&sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for sql in drop_statements(manager.get_database_backend())? {
            db.execute_unprepared(&sql).await?;
        }
        manager.drop_table(Table::drop().table(RegistryVersion::Table).to_owned()).await
    }
}
