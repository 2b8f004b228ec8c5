//! The subject indexes that new requests reach in the background, from a queue a trigger fills.
//!
//! - Both: the number of requests holding each word of a subject (migrations 10 and 12), a
//!   lower bound that answers «more than the cap» for a common word without walking the trigram
//!   index or table.
//! - SQLite: the trigram table itself (migration 11). Written in the sender's transaction, it
//!   flushed a new segment at every group member's savepoint and kept merging them: about half
//!   of a send's time on the write connection. Moved here in batches, it costs a few percent.
//!   Until moved, a request is found through the queue, which every subject search also reads
//!   (in the same statement, so never twice and never missed). Its words are counted when it
//!   is moved, in the same transaction.
//!
//! A trigger queues every new request; [`absorb`] moves queued requests into the index, deleting
//! them from the queue in the same transaction: each request is moved once, whatever the number
//! of instances (PostgreSQL: one instance at a time, by a transaction-scoped advisory lock;
//! SQLite: one writer at a time).

use std::collections::HashMap;
use std::time::Duration;

use cassetto_migration::m20261127_000010_subject_words::{PENDING, TOKENS, WORDS};
use cassetto_migration::m20261128_000011_subject_fts_pending::PENDING as FTS_PENDING;
use cassetto_migration::m20261129_000012_sqlite_subject_words::{add_counts, count_words};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, Statement, TransactionTrait};

/// Requests moved into the counts per transaction (PostgreSQL).
pub const BATCH: u64 = 5_000;

/// Requests moved into the trigram table per transaction (SQLite): each batch holds the single
/// write turn, during which sends wait (1,000 subjects: 10–40 ms on the bench machine).
pub const FTS_BATCH: u64 = 1_000;

/// The trigram table of the subjects (SQLite, migration 6).
pub const FTS: &str = "requests_subject_fts";

/// The advisory lock taken by the instance that moves the queue ("cassetto" + 10).
const LOCK_KEY: i64 = 0x6361_7373_6574_0010;

/// How often an instance looks at the queue.
const PERIOD: Duration = Duration::from_secs(1);

/// Moves up to `batch` queued requests into the index. Returns how many were moved: 0 when the
/// queue is empty, or while another instance is moving it (PostgreSQL).
pub async fn absorb(db: &DatabaseConnection, batch: u64) -> Result<u64, DbErr> {
    match db.get_database_backend() {
        DbBackend::Postgres => absorb_words(db, batch).await,
        DbBackend::Sqlite => absorb_trigrams(db, batch).await,
        _ => Ok(0),
    }
}

/// SQLite: the oldest `batch` queued subjects into the trigram table and their words into the
/// counts, in one write transaction (on the writer thread, a member of the current group like
/// a send).
async fn absorb_trigrams(db: &DatabaseConnection, batch: u64) -> Result<u64, DbErr> {
    let conn = db.clone();
    crate::on_writer(db, async move {
        let txn = crate::begin_write(&conn).await?;
        let moved = async {
            // Their words first (migration 12), read in the same transaction as the move.
            let rows = txn
                .query_all_raw(Statement::from_sql_and_values(
                    DbBackend::Sqlite,
                    format!("SELECT subject_search FROM {FTS_PENDING} ORDER BY seq LIMIT ?"),
                    [(batch as i64).into()],
                ))
                .await?;
            let subjects =
                rows.iter().map(|r| r.try_get::<String>("", "subject_search")).collect::<Result<Vec<_>, _>>()?;
            let mut counts = HashMap::new();
            count_words(&mut counts, subjects.iter().map(String::as_str));
            add_counts(&txn, counts).await?;
            txn.execute_raw(Statement::from_sql_and_values(
                DbBackend::Sqlite,
                format!(
                    "INSERT INTO {FTS} (request_id, subject_search) \
                     SELECT request_id, subject_search FROM {FTS_PENDING} ORDER BY seq LIMIT ?"
                ),
                [(batch as i64).into()],
            ))
            .await?;
            txn.execute_raw(Statement::from_sql_and_values(
                DbBackend::Sqlite,
                format!("DELETE FROM {FTS_PENDING} WHERE seq IN (SELECT seq FROM {FTS_PENDING} ORDER BY seq LIMIT ?)"),
                [(batch as i64).into()],
            ))
            .await
            .map(|r| r.rows_affected())
        }
        .await;
        match moved {
            Ok(n) => txn.commit().await.map(|_| n),
            Err(e) => {
                txn.rollback().await?;
                Err(e)
            }
        }
    })
    .await?
}

/// PostgreSQL: up to `batch` queued requests' words into the counts.
async fn absorb_words(db: &DatabaseConnection, batch: u64) -> Result<u64, DbErr> {
    let txn = db.begin().await?;
    let locked = txn
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_try_advisory_xact_lock($1) AS locked",
            [LOCK_KEY.into()],
        ))
        .await?
        .map(|r| r.try_get::<bool>("", "locked"))
        .transpose()?
        .unwrap_or(false);
    if !locked {
        txn.rollback().await?;
        return Ok(0);
    }
    // A data-modifying WITH runs to completion whether or not it is read; the words are
    // written in their order, so that two writers (never at once here) could not deadlock.
    let sql = format!(
        "WITH moved AS (DELETE FROM {PENDING} WHERE request_id IN \
         (SELECT request_id FROM {PENDING} LIMIT $1) RETURNING request_id), \
         counted AS (SELECT t.w AS word, COUNT(*) AS n FROM moved JOIN requests ON requests.id = moved.request_id, \
         LATERAL ({TOKENS}) t GROUP BY t.w), \
         written AS (INSERT INTO {WORDS} (word, requests) SELECT word, n FROM counted ORDER BY word \
         ON CONFLICT (word) DO UPDATE SET requests = {WORDS}.requests + EXCLUDED.requests) \
         SELECT COUNT(*) AS moved FROM moved"
    );
    let moved = txn
        .query_one_raw(Statement::from_sql_and_values(DbBackend::Postgres, sql, [(batch as i64).into()]))
        .await?
        .map(|r| r.try_get::<i64>("", "moved"))
        .transpose()?
        .unwrap_or(0);
    txn.commit().await?;
    Ok(moved as u64)
}

/// Moves the whole queue (as far as this instance may), batch by batch.
pub async fn absorb_all(db: &DatabaseConnection) -> Result<u64, DbErr> {
    let batch = if db.get_database_backend() == DbBackend::Sqlite { FTS_BATCH } else { BATCH };
    absorb_all_in(db, batch).await
}

/// The same in batches of `batch` requests: larger ones for a bulk import, when no send waits
/// for the write turn (fewer, larger segments for the trigram table to merge).
pub async fn absorb_all_in(db: &DatabaseConnection, batch: u64) -> Result<u64, DbErr> {
    let mut total = 0;
    loop {
        let moved = absorb(db, batch).await?;
        total += moved;
        if moved < batch {
            return Ok(total);
        }
    }
}

/// Pages of the trigram table rewritten per write turn by [`compact`] (SQLite): about 4 MB.
/// Sends wait at most one such turn: about 1.5 s at a million requests on the bench machine
/// (docs/BENCHMARKS.md, twelfth round).
pub const COMPACT_PAGES: i64 = 1_000;

/// SQLite: the number of segments the trigram table is stored in. A search of the subject in
/// every sede reads each of them: at a million requests, 16 segments (the bench loader's 20
/// batches) cost 7.5–17 ms a look-up, one segment 3.6–8.2 ms (docs/BENCHMARKS.md, twelfth
/// round). PostgreSQL: 0.
pub async fn fts_segments(db: &impl ConnectionTrait) -> Result<u64, DbErr> {
    if db.get_database_backend() != DbBackend::Sqlite {
        return Ok(0);
    }
    let sql = format!("SELECT COUNT(DISTINCT segid) AS n FROM {FTS}_idx");
    let row = db.query_one_raw(Statement::from_string(DbBackend::Sqlite, sql)).await?;
    Ok(row.map(|r| r.try_get::<i64>("", "n")).transpose()?.unwrap_or(0).max(0) as u64)
}

/// SQLite: moves the queue into the trigram table, then merges the table's segments into one,
/// [`COMPACT_PAGES`] pages per write transaction so that sends take their turn in between
/// (FTS5's incremental `merge`; its own automerge only joins segments of the same size).
/// For after a bulk import, or a quiet hour (`cassetto compact-index`). Returns the segments
/// before and after; subjects sent meanwhile may leave a few small ones. PostgreSQL: nothing
/// to do, `(0, 0)`.
pub async fn compact(db: &DatabaseConnection) -> Result<(u64, u64), DbErr> {
    if db.get_database_backend() != DbBackend::Sqlite {
        return Ok((0, 0));
    }
    absorb_all(db).await?;
    let before = fts_segments(db).await?;
    let pages = db
        .query_one_raw(Statement::from_string(DbBackend::Sqlite, format!("SELECT COUNT(*) AS n FROM {FTS}_data")))
        .await?
        .map(|r| r.try_get::<i64>("", "n"))
        .transpose()?
        .unwrap_or(0);
    // Each step writes up to COMPACT_PAGES pages; twice the table's pages end any merge.
    let mut steps = 2 * pages / COMPACT_PAGES + 2;
    while steps > 0 && fts_segments(db).await? > 1 {
        steps -= 1;
        let conn = db.clone();
        crate::on_writer(db, async move {
            let txn = crate::begin_write(&conn).await?;
            let merged = txn
                .execute_raw(Statement::from_sql_and_values(
                    DbBackend::Sqlite,
                    format!("INSERT INTO {FTS} ({FTS}, rank) VALUES ('merge', ?)"),
                    [(-COMPACT_PAGES).into()],
                ))
                .await;
            match merged {
                Ok(_) => txn.commit().await,
                Err(e) => {
                    txn.rollback().await?;
                    Err(e)
                }
            }
        })
        .await??;
    }
    Ok((before, fts_segments(db).await?))
}

/// The number of requests counted for `word` (0 for a text that is not a word of any
/// subject): at most the number of subjects holding it.
pub async fn requests_with(db: &impl ConnectionTrait, word: &str) -> Result<u64, DbErr> {
    let backend = db.get_database_backend();
    let placeholder = if backend == DbBackend::Postgres { "$1" } else { "?" };
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            format!("SELECT requests FROM {WORDS} WHERE word = {placeholder}"),
            [word.into()],
        ))
        .await?;
    Ok(row.map(|r| r.try_get::<i64>("", "requests")).transpose()?.unwrap_or(0).max(0) as u64)
}

/// The background task of every `cassetto serve`: moves the queue every second until `stop`
/// resolves. Errors are logged and retried at the next turn.
pub async fn run(db: DatabaseConnection, stop: impl std::future::Future<Output = ()>) {
    tokio::pin!(stop);
    loop {
        if let Err(e) = absorb_all(&db).await {
            tracing::warn!(error = %e, "subject index not updated");
        }
        tokio::select! {
            _ = &mut stop => return,
            _ = tokio::time::sleep(PERIOD) => {}
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    async fn matches(db: &DatabaseConnection, needle: &str) -> i64 {
        let sql = format!("SELECT COUNT(*) AS n FROM {FTS} WHERE subject_search LIKE '%{needle}%'");
        let row = db.query_one_raw(Statement::from_string(DbBackend::Sqlite, sql)).await.unwrap().unwrap();
        row.try_get::<i64>("", "n").unwrap()
    }

    /// Three batches leave three segments; compacting leaves one, and every subject is found
    /// as before.
    #[tokio::test]
    async fn compacting_the_trigram_table_leaves_one_segment_and_the_same_matches() {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::connect(&format!("sqlite://{}/c.db", dir.path().display())).await.unwrap();
        crate::migrate(&db).await.unwrap();
        for batch in 0..3 {
            let rows = (0..300)
                .map(|i| format!("('r{batch}-{i}', 'rettifica denuncia {i} rif. {batch}{i:05}')"))
                .collect::<Vec<_>>()
                .join(", ");
            db.execute_unprepared(&format!("INSERT INTO {FTS} (request_id, subject_search) VALUES {rows}"))
                .await
                .unwrap();
        }
        let before = (matches(&db, "rettifica").await, matches(&db, "denuncia 29").await, matches(&db, "rif. 1").await);
        assert_eq!(fts_segments(&db).await.unwrap(), 3);

        let (from, to) = compact(&db).await.unwrap();

        assert_eq!((from, to), (3, 1));
        assert_eq!(fts_segments(&db).await.unwrap(), 1);
        assert_eq!(before, (900, 33, 300));
        assert_eq!(
            (matches(&db, "rettifica").await, matches(&db, "denuncia 29").await, matches(&db, "rif. 1").await),
            before
        );
    }
}
