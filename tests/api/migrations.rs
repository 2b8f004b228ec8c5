//! The migrations run unchanged on SQLite and PostgreSQL, and can be rolled back.

use cassetto_migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, Statement};

use crate::both;
use crate::helpers::{spawn_app, Backend};

const TABLES: &[&str] = &[
    "sedi",
    "aziende",
    "users",
    "deleghe",
    "api_clients",
    "login_throttle",
    "ambiti",
    "ambito_fields",
    "requests",
    "request_history",
    "comments",
    "attachments",
    "protocol_counters",
    "notifications",
    "idempotency_keys",
    "audit_log",
    "subject_words",
];

async fn count(app: &crate::helpers::TestApp, table: &str) -> Option<i64> {
    let backend = app.db.get_database_backend();
    let row = app
        .db
        .query_one_raw(Statement::from_string(backend, format!("SELECT COUNT(*) AS n FROM {table}")))
        .await
        .ok()??;
    row.try_get::<i64>("", "n").ok()
}

async fn every_table_exists_after_start_up(backend: Backend) {
    let app = spawn_app(backend).await;

    for table in TABLES {
        assert!(count(&app, table).await.is_some(), "table {table} missing");
    }
    assert_eq!(Migrator::get_pending_migrations(&app.db).await.unwrap().len(), 0);
}

async fn the_ambiti_catalogue_is_seeded(backend: Backend) {
    let app = spawn_app(backend).await;

    assert!(count(&app, "ambiti").await.unwrap() >= 4);
    assert!(count(&app, "ambito_fields").await.unwrap() >= 5);
}

async fn migrations_roll_back_and_forward(backend: Backend) {
    let app = spawn_app(backend).await;

    Migrator::down(&app.db, None).await.unwrap();
    assert!(count(&app, "requests").await.is_none(), "requests survived the rollback");
    Migrator::up(&app.db, None).await.unwrap();

    assert!(count(&app, "requests").await.is_some());
    assert_eq!(count(&app, "ambiti").await, Some(8));
}

both!(every_table_exists_after_start_up, the_ambiti_catalogue_is_seeded, migrations_roll_back_and_forward);
