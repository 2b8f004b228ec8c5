//! One more covering index, the same shape as the others (migrations 6 and 7): the status,
//! (status, updated_at, id, …), replacing the narrow (status, updated_at) index whose every
//! match cost a read of the row.
//!
//! Every sede's requests of one status with a word of the subject (a supervisore's «aperta» and
//! «aliquota») count their matches by reading that status's requests until more than the cap
//! hold the word: through the narrow index, a read of the row for each of the 48,000–57,000
//! open or in-charge requests of a million, 56–91 ms on SQLite, and on PostgreSQL a scan of the
//! whole table (docs/BENCHMARKS.md, twenty-second round). It now reads index entries only —
//! but for the status of most of the archive («chiusa»), where PostgreSQL's planner may still
//! prefer the table, whose first rows meet the cap as soon (about 21 ms either way).
//!
//! Statistics are refreshed afterwards, so that the planners know it.

use sea_orm_migration::prelude::*;

use crate::{analyze_requests, drop_index, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

const NAME: &str = "idx_requests_status_search";
const COLUMNS: [&str; 9] = [
    "status",
    "updated_at",
    "id",
    "ambito_code",
    "created_at",
    "assigned_to",
    "sede_code",
    "matricola",
    "subject_search",
];
const REPLACES: &str = "idx_requests_status_updated";
const NARROW: [&str; 2] = ["status", "updated_at"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.create_index(index("requests", NAME, &COLUMNS)).await?;
        manager.drop_index(drop_index("requests", REPLACES)).await?;
        analyze_requests(manager).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.create_index(index("requests", REPLACES, &NARROW)).await?;
        manager.drop_index(drop_index("requests", NAME)).await?;
        analyze_requests(manager).await
    }
}
