//! PostgreSQL: the number of requests holding each word of a subject (migration 10), a lower
//! bound that answers «more than the cap» for a common word without walking the trigram index.
//!
//! A trigger queues every new request; [`absorb`] moves queued requests into the counts, one
//! instance at a time (a transaction-scoped advisory lock), deleting them from the queue in
//! the same transaction: each request is counted once, whatever the number of instances.

use std::time::Duration;

use cassetto_migration::m20261127_000010_subject_words::{PENDING, TOKENS, WORDS};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, Statement, TransactionTrait};

/// Requests moved into the counts per transaction.
pub const BATCH: u64 = 5_000;

/// The advisory lock taken by the instance that moves the queue ("cassetto" + 10).
const LOCK_KEY: i64 = 0x6361_7373_6574_0010;

/// How often an instance looks at the queue.
const PERIOD: Duration = Duration::from_secs(1);

/// Moves up to `batch` queued requests into the counts. Returns how many were moved: 0 on
/// SQLite, when the queue is empty, or while another instance is moving it.
pub async fn absorb(db: &DatabaseConnection, batch: u64) -> Result<u64, DbErr> {
    if db.get_database_backend() != DbBackend::Postgres {
        return Ok(0);
    }
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
    let mut total = 0;
    loop {
        let moved = absorb(db, BATCH).await?;
        total += moved;
        if moved < BATCH {
            return Ok(total);
        }
    }
}

/// The number of requests counted for `word` (0 for a text that is not a word of any
/// subject): at most the number of subjects holding it.
pub async fn requests_with(db: &impl ConnectionTrait, word: &str) -> Result<u64, DbErr> {
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            format!("SELECT requests FROM {WORDS} WHERE word = $1"),
            [word.into()],
        ))
        .await?;
    Ok(row.map(|r| r.try_get::<i64>("", "requests")).transpose()?.unwrap_or(0).max(0) as u64)
}

/// The background task of every `cassetto serve` on PostgreSQL: moves the queue every second
/// until `stop` resolves. Errors are logged and retried at the next turn.
pub async fn run(db: DatabaseConnection, stop: impl std::future::Future<Output = ()>) {
    if db.get_database_backend() != DbBackend::Postgres {
        return;
    }
    tokio::pin!(stop);
    loop {
        if let Err(e) = absorb_all(&db).await {
            tracing::warn!(error = %e, "subject word counts not updated");
        }
        tokio::select! {
            _ = &mut stop => return,
            _ = tokio::time::sleep(PERIOD) => {}
        }
    }
}
