//! SQLite: how many requests hold each word of a subject, as on PostgreSQL (migration 10).
//!
//! A search of the subject in every sede first asks whether the needle is common (more than
//! 1,000 matching subjects: the page is then read in the archive's order, the count stops at
//! the cap). SQLite answered that from the trigram table, reading up to 1,001 of its matches:
//! for a common word 3.6–17 ms at a million requests, before the page and the count even
//! started (docs/BENCHMARKS.md, twelfth round). With the words counted, a common word is one
//! read of a row; a needle that is not a word, or a rare one, is looked up in the trigram
//! table as before.
//!
//! - `subject_words (word, requests)`: the same table as PostgreSQL's. The words are cut by
//!   [`words_of`] (at every character that is neither a letter nor a digit): each is a part of
//!   its subject, so a count is a lower bound of the subjects holding the word. Each request
//!   counts once per word.
//! - The counts grow when the background task of `cassetto serve` moves a batch of new
//!   subjects from the queue of migration 11 into the trigram table, in the same transaction:
//!   a request is counted once, when it is indexed, and a request still queued only makes a
//!   count lower than the truth. Subjects never change and requests are never deleted.
//! - The requests already indexed (not in that queue) are counted here, in batches of rows
//!   read in `rowid` order.

use std::collections::HashMap;

use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend, Statement, Value};
use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261127_000010_subject_words::WORDS;
use crate::m20261128_000011_subject_fts_pending::PENDING;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The distinct words of a (lower-cased) subject, sorted: its text cut at every character that
/// is neither a letter nor a digit.
pub fn words_of(subject: &str) -> Vec<&str> {
    let mut words: Vec<&str> = subject.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect();
    words.sort_unstable();
    words.dedup();
    words
}

/// Counts of words into `counts`, one per request holding the word.
pub fn count_words<'a>(counts: &mut HashMap<String, i64>, subjects: impl IntoIterator<Item = &'a str>) {
    for subject in subjects {
        for w in words_of(subject) {
            match counts.get_mut(w) {
                Some(n) => *n += 1,
                None => {
                    counts.insert(w.to_owned(), 1);
                }
            }
        }
    }
}

/// SQLite: adds `counts` to the table, a statement per 500 words (in word order, the
/// B-tree's own).
pub async fn add_counts(db: &impl ConnectionTrait, counts: HashMap<String, i64>) -> Result<(), DbErr> {
    let mut rows: Vec<(String, i64)> = counts.into_iter().collect();
    rows.sort_unstable();
    for chunk in rows.chunks(500) {
        let values = vec!["(?, ?)"; chunk.len()].join(", ");
        let sql = format!(
            "INSERT INTO {WORDS} (word, requests) VALUES {values} \
             ON CONFLICT (word) DO UPDATE SET requests = requests + excluded.requests"
        );
        let params = chunk.iter().flat_map(|(w, n)| [Value::from(w.clone()), Value::from(*n)]);
        db.execute_raw(Statement::from_sql_and_values(DbBackend::Sqlite, sql, params)).await?;
    }
    Ok(())
}

/// Requests read per statement while counting those already indexed.
const BACKFILL_ROWS: i64 = 50_000;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Sqlite {
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
        let db = manager.get_connection();
        let mut counts = HashMap::new();
        let mut after = 0i64;
        loop {
            let rows = db
                .query_all_raw(Statement::from_sql_and_values(
                    DbBackend::Sqlite,
                    format!(
                        "SELECT rowid AS r, subject_search FROM requests WHERE rowid > ? \
                         AND id NOT IN (SELECT request_id FROM {PENDING}) ORDER BY rowid LIMIT ?"
                    ),
                    [after.into(), BACKFILL_ROWS.into()],
                ))
                .await?;
            let Some(last) = rows.last() else { break };
            after = last.try_get("", "r")?;
            let subjects =
                rows.iter().map(|r| r.try_get::<String>("", "subject_search")).collect::<Result<Vec<_>, _>>()?;
            count_words(&mut counts, subjects.iter().map(String::as_str));
            if (rows.len() as i64) < BACKFILL_ROWS {
                break;
            }
        }
        add_counts(db, counts).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Sqlite {
            return Ok(());
        }
        manager.drop_table(Table::drop().table(WORDS).if_exists().to_owned()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_words_of_a_subject_are_its_letters_and_digits_once_each() {
        assert_eq!(words_of("ferie? ferie, ferie!"), vec!["ferie"]);
        assert_eq!(
            words_of("rettifica uniemens 03/2026 - rif. 7002"),
            vec!["03", "2026", "7002", "rettifica", "rif", "uniemens"]
        );
        assert_eq!(words_of("perché l'attività è già"), vec!["attività", "già", "l", "perché", "è"]);
        assert!(words_of(" -- ").is_empty());

        let mut counts = HashMap::new();
        count_words(&mut counts, ["ferie estive", "ferie ferie", "estive 7"]);
        assert_eq!(counts.get("ferie"), Some(&2));
        assert_eq!(counts.get("estive"), Some(&2));
        assert_eq!(counts.get("7"), Some(&1));
        assert_eq!(counts.len(), 3);
    }
}
