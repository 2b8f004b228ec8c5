//! PostgreSQL: how many requests hold each word of a subject, a lower bound kept beside the
//! trigram index.
//!
//! A common word searched in every sede («verifica», 25,000 requests of a million) is counted
//! up to the archive's cap (1,000) for its `total`. Through the trigram index that costs
//! 30–70 ms whatever the cap: a GIN index builds the whole set of requests holding the word's
//! trigrams before anything is counted (docs/BENCHMARKS.md, sixth and seventh rounds). Here
//! each word has its number of requests, so that «more than 1,000» is one read of a row.
//!
//! - `subject_words (word, requests)`: the words are the subject's lower-cased text cut at
//!   every character that is not a letter or a digit ([`TOKENS`]). Every word is a part of its
//!   subject, so a word held by more than 1,000 requests proves that more than 1,000 subjects
//!   hold it, whatever the database's notion of a letter. Each request counts once per word.
//! - `subject_words_pending (request_id)`: a trigger adds every new request; a background
//!   task of `cassetto serve` moves them into the counts (`cassetto_storage::subject_words`).
//!   Senders never write a shared counter, so they never wait on each other for it.
//!
//! Subjects never change and requests are never deleted, so the counts only grow: a request
//! not yet moved (or moved late) only makes a count lower than the truth, never higher.
//! The requests already present are counted here, after the trigger is created: creating it
//! locks out inserts until this migration commits, so each request is counted exactly once.
//!
//! SQLite does not get it: its trigram table already stops at the cap.

use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The counts, one row per word.
pub const WORDS: &str = "subject_words";
/// The requests whose words are not counted yet.
pub const PENDING: &str = "subject_words_pending";
/// The distinct words of `requests.subject_search` (in a query where `requests` is in scope),
/// as a set of rows of one column `w`.
pub const TOKENS: &str = "SELECT DISTINCT w FROM unnest(regexp_split_to_array(requests.subject_search, \
                          '[^[:alnum:]]+')) AS w WHERE w <> ''";

const POSTGRES_UP: &[&str] = &[
    "CREATE OR REPLACE FUNCTION subject_words_pending_add() RETURNS trigger LANGUAGE plpgsql AS $$ \
     BEGIN INSERT INTO subject_words_pending (request_id) VALUES (NEW.id); RETURN NULL; END $$",
    "CREATE TRIGGER subject_words_pending_insert AFTER INSERT ON requests \
     FOR EACH ROW EXECUTE FUNCTION subject_words_pending_add()",
];

const POSTGRES_DOWN: &[&str] = &[
    "DROP TRIGGER IF EXISTS subject_words_pending_insert ON requests",
    "DROP FUNCTION IF EXISTS subject_words_pending_add()",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        manager
            .create_table(
                Table::create()
                    .table(WORDS)
                    .if_not_exists()
                    .col(string_len("word", 300).primary_key())
                    .col(big_integer("requests"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(PENDING)
                    .if_not_exists()
                    .col(string_len("request_id", 36).primary_key())
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        for sql in POSTGRES_UP {
            db.execute_unprepared(sql).await?;
        }
        db.execute_unprepared(&format!(
            "INSERT INTO {WORDS} (word, requests) SELECT t.w, COUNT(*) FROM requests, LATERAL ({TOKENS}) t GROUP BY t.w"
        ))
        .await
        .map(|_| ())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        for sql in POSTGRES_DOWN {
            db.execute_unprepared(sql).await?;
        }
        manager.drop_table(Table::drop().table(PENDING).if_exists().to_owned()).await?;
        manager.drop_table(Table::drop().table(WORDS).if_exists().to_owned()).await
    }
}
