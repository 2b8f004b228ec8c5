//! Write transactions, with group commit on SQLite.
//!
//! SQLite has one writer at a time and, with `synchronous=FULL`, every commit waits for an fsync
//! of the WAL. Writers of one process queue for their turn here (FIFO, instead of polling the
//! database lock in SQLite's busy handler). A writer that gets its turn while the previous one's
//! transaction is still open joins it: its statements run inside a savepoint of that one
//! **group** transaction. The group is committed — one fsync for all of its members — by the
//! member that leaves the turn with nobody queued behind it (or when it reaches
//! [`MAX_GROUP`]); every member's `commit()` returns only once the group is durably committed,
//! so a client is still answered only after its data is on disk. A member that fails rolls
//! back to its savepoint without disturbing the others; if the group commit fails, every member
//! gets the error (none of them has answered yet). Other processes on the same file still meet
//! the busy timeout. On PostgreSQL a write transaction is a plain transaction.
//!
//! The turn is the process's bottleneck for writes, and each statement a member sends is a
//! round trip to the connection's thread taken while holding it; so a member's savepoint costs
//! no round trip of its own: it is opened with the member's first query and released with its
//! last batch ([`WriteTxn::run_and_commit`]).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, ExecResult, QueryResult,
    SqliteTransactionMode, Statement, TransactionOptions, TransactionTrait,
};
use tokio::sync::{watch, Mutex, OwnedMutexGuard};

use crate::Batch;

/// Members of one group transaction at most.
pub const MAX_GROUP: usize = 64;

/// How long a member that handed the commit over waits before checking that someone took it.
const HANDOVER_CHECK: Duration = Duration::from_millis(50);

/// What a group's commit ended with: `None` while open.
type Outcome = Option<Result<(), String>>;

struct OpenGroup {
    id: u64,
    txn: DatabaseTransaction,
    members: usize,
    done: watch::Sender<Outcome>,
}

#[derive(Default)]
struct GroupSlot {
    open: Option<OpenGroup>,
}

/// The write lock of one SQLite file in this process.
#[derive(Default)]
struct FileLock {
    turn: Arc<Mutex<GroupSlot>>,
    queued: AtomicUsize,
    next_group: AtomicU64,
    /// The connection every group transaction runs on (see [`register_writer`]).
    writer: std::sync::Mutex<Option<DatabaseConnection>>,
}

/// Opens the one connection of this process that runs the group transactions of `db`'s SQLite
/// file — the pool's settings without the memory map (`mmap_size = 0`) — in place of any
/// earlier one (a database opened again gets a new writer). Nothing for PostgreSQL or an
/// in-memory database, whose pool stays its only way in.
///
/// In WAL mode a connection that begins a transaction after another connection committed
/// drops its map of the file and maps it again (SQLite's pager does so whenever the WAL
/// changed), then faults in again every page it touches. The pool's connections read the
/// archive through that map; when any of them began the next group, a group paid for a remap
/// of the whole file (3.6 GB at a million requests) and for the page faults of its inserts —
/// on the writer, which every send waits for. On its own connection the writer sees no commit
/// but its own (the outbox worker's few aside), and without a map it keeps its hot pages in
/// its page cache.
pub fn register_writer(db: &DatabaseConnection) {
    let Some(lock) = sqlite_write_lock(db) else { return };
    let options = db.get_sqlite_connection_pool().connect_options();
    let file = options.get_filename().to_string_lossy();
    if file.contains(":memory:") || file.contains("sqlx-in-memory") {
        return;
    }
    let options = (*options).clone().pragma("mmap_size", "0");
    let pool = sea_orm::sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .min_connections(0)
        .idle_timeout(None)
        .max_lifetime(None)
        .connect_lazy_with(options);
    let writer = sea_orm::SqlxSqliteConnector::from_sqlx_sqlite_pool(pool);
    *lock.writer.lock().unwrap_or_else(|p| p.into_inner()) = Some(writer);
}

/// The connection a new group begins on: the registered writer, else `db`'s pool.
fn writer_connection(db: &DatabaseConnection, lock: &FileLock) -> DatabaseConnection {
    lock.writer.lock().unwrap_or_else(|p| p.into_inner()).clone().unwrap_or_else(|| db.clone())
}

/// One lock per SQLite database file, shared by every pool of this process that opens it.
fn sqlite_write_lock(db: &DatabaseConnection) -> Option<Arc<FileLock>> {
    static LOCKS: OnceLock<std::sync::Mutex<HashMap<PathBuf, Arc<FileLock>>>> = OnceLock::new();
    if db.get_database_backend() != DbBackend::Sqlite {
        return None;
    }
    let file = db.get_sqlite_connection_pool().connect_options().get_filename().to_path_buf();
    let mut locks = LOCKS.get_or_init(Default::default).lock().unwrap_or_else(|p| p.into_inner());
    Some(locks.entry(file).or_default().clone())
}

/// Counts a writer as queued while it waits for the turn. A writer whose wait is cancelled
/// may have been the one a group was handed over to: the group is then committed by a task.
struct Queued {
    lock: Arc<FileLock>,
    acquired: bool,
}

impl Drop for Queued {
    fn drop(&mut self) {
        self.lock.queued.fetch_sub(1, Ordering::SeqCst);
        if !self.acquired {
            if let Ok(handle) = tokio::runtime::Handle::try_current() {
                handle.spawn(tidy(self.lock.clone()));
            }
        }
    }
}

/// Commits an open group nobody is left to commit.
async fn tidy(lock: Arc<FileLock>) {
    let mut slot = FileLock::acquire(&lock).await;
    if lock.queued.load(Ordering::SeqCst) == 0 {
        if let Err(e) = flush(&mut slot).await {
            tracing::error!(error = %e, "group commit failed");
        }
    }
}

impl FileLock {
    async fn acquire(this: &Arc<Self>) -> OwnedMutexGuard<GroupSlot> {
        this.queued.fetch_add(1, Ordering::SeqCst);
        let mut waiting = Queued { lock: this.clone(), acquired: false };
        let guard = this.turn.clone().lock_owned().await;
        waiting.acquired = true;
        guard
    }
}

/// Commits the open group, if any, and tells its members.
async fn flush(slot: &mut GroupSlot) -> Result<(), DbErr> {
    let Some(group) = slot.open.take() else { return Ok(()) };
    let result = group.txn.commit().await;
    let _ = group.done.send(Some(result.as_ref().map(|_| ()).map_err(|e| e.to_string())));
    result
}

/// Rolls the open group back and tells its members.
async fn abort(slot: &mut GroupSlot, cause: &DbErr) {
    let Some(group) = slot.open.take() else { return };
    if let Err(e) = group.txn.rollback().await {
        tracing::error!(error = %e, "group rollback failed");
    }
    let _ = group.done.send(Some(Err(format!("a member failed to release its savepoint: {cause}"))));
}

/// This process's turn to write to a SQLite database outside a [`WriteTxn`] (any open group is
/// committed first); nothing on PostgreSQL.
pub struct WriteTurn {
    _guard: Option<OwnedMutexGuard<GroupSlot>>,
}

/// Waits for this process's turn to write to a SQLite database (nothing on PostgreSQL).
pub async fn write_turn(db: &DatabaseConnection) -> WriteTurn {
    let Some(lock) = sqlite_write_lock(db) else { return WriteTurn { _guard: None } };
    let mut guard = FileLock::acquire(&lock).await;
    if let Err(e) = flush(&mut guard).await {
        tracing::error!(error = %e, "group commit failed");
    }
    WriteTurn { _guard: Some(guard) }
}

/// The savepoint of the group member writing now (one member at a time holds the turn).
const OPEN_MEMBER: &str = "SAVEPOINT cassetto_member";
const RELEASE_MEMBER: &str = "RELEASE cassetto_member";
const UNDO_MEMBER: &str = "ROLLBACK TO cassetto_member; RELEASE cassetto_member";

enum Mode {
    Plain(Option<DatabaseTransaction>),
    Group(Member),
}

/// A writer's part of a group transaction: its statements run on the group's transaction,
/// inside a savepoint that is opened with its first statement and released with its last.
struct Member {
    lock: Arc<FileLock>,
    guard: Option<OwnedMutexGuard<GroupSlot>>,
    group: u64,
    done: watch::Receiver<Outcome>,
    /// Whether the member's savepoint was sent (with its first statement).
    begun: AtomicBool,
}

impl Member {
    fn txn(&self) -> Result<&DatabaseTransaction, DbErr> {
        self.guard
            .as_ref()
            .and_then(|slot| slot.open.as_ref())
            .map(|g| &g.txn)
            .ok_or_else(|| DbErr::Custom("transaction already ended".into()))
    }

    /// True (once) when the savepoint is still to be opened.
    fn opens_savepoint(&self) -> bool {
        !self.begun.swap(true, Ordering::SeqCst)
    }

    /// The group's transaction with the member's savepoint open, for a statement whose row
    /// count matters: the savepoint is not joined to it (its count would be added).
    async fn opened(&self) -> Result<&DatabaseTransaction, DbErr> {
        let txn = self.txn()?;
        if self.opens_savepoint() {
            txn.execute_unprepared(OPEN_MEMBER).await?;
        }
        Ok(txn)
    }

    /// `stmt`, preceded by the savepoint if it is the member's first: one round trip for both.
    fn with_savepoint(&self, mut stmt: Statement) -> Statement {
        if self.opens_savepoint() {
            stmt.sql = format!("{OPEN_MEMBER};\n{}", stmt.sql);
        }
        stmt
    }
}

/// Undoes a member's writes: back to its savepoint, which is then released.
async fn roll_back_member(txn: &DatabaseTransaction) -> Result<(), DbErr> {
    txn.execute_unprepared(UNDO_MEMBER).await.map(|_| ())
}

/// A write transaction: on SQLite a member of a group transaction (see the module).
pub struct WriteTxn {
    mode: Mode,
}

/// Starts a write transaction. On SQLite it waits for the process's write turn, then joins the
/// open group or begins one, taking the database's write lock at `BEGIN` (`IMMEDIATE`), so a
/// read is never upgraded to a write mid-transaction.
pub async fn begin_write(db: &DatabaseConnection) -> Result<WriteTxn, DbErr> {
    let Some(lock) = sqlite_write_lock(db) else {
        return Ok(WriteTxn { mode: Mode::Plain(Some(db.begin().await?)) });
    };
    let mut guard = FileLock::acquire(&lock).await;
    match join_group(db, &lock, &mut guard).await {
        Ok((group, done)) => Ok(WriteTxn {
            mode: Mode::Group(Member { lock, guard: Some(guard), group, done, begun: AtomicBool::new(false) }),
        }),
        Err(e) => {
            // Whoever handed the group over to this writer is waiting for it.
            let _ = flush(&mut guard).await;
            Err(e)
        }
    }
}

async fn join_group(
    db: &DatabaseConnection,
    lock: &FileLock,
    slot: &mut GroupSlot,
) -> Result<(u64, watch::Receiver<Outcome>), DbErr> {
    if slot.open.as_ref().is_some_and(|g| g.members >= MAX_GROUP) {
        flush(slot).await?;
    }
    if slot.open.is_none() {
        let txn = writer_connection(db, lock)
            .begin_with_options(TransactionOptions {
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                ..Default::default()
            })
            .await?;
        let id = lock.next_group.fetch_add(1, Ordering::SeqCst);
        slot.open = Some(OpenGroup { id, txn, members: 0, done: watch::channel(None).0 });
    }
    let Some(group) = slot.open.as_mut() else { return Err(DbErr::Custom("no open group".into())) };
    group.members += 1;
    Ok((group.id, group.done.subscribe()))
}

/// The thread that runs SQLite write transactions (see [`on_writer`]); `None` if it could not
/// be started, and then they run where they are called.
fn writer_runtime() -> Option<&'static tokio::runtime::Runtime> {
    static RUNTIME: OnceLock<Option<tokio::runtime::Runtime>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("cassetto-writer")
                .enable_all()
                .build()
                .map_err(|e| tracing::error!(error = %e, "writer thread not started: writes run in place"))
                .ok()
        })
        .as_ref()
}

/// Runs `work` — a write transaction, from [`begin_write`] to its commit — on this process's
/// writer thread when `db` is SQLite, in place on PostgreSQL.
///
/// A SQLite write holds the process's single write turn across several round trips to the
/// database. A web worker thread serves many requests at once: each time the turn's holder
/// waits for the database, the thread runs the others' parsing, checks and JSON before it
/// comes back, and every other writer waits meanwhile. On the writer thread the holder
/// resumes as soon as the database answers. Errors of the work are the caller's; a panic of
/// the work is returned as an error.
pub async fn on_writer<T, F>(db: &DatabaseConnection, work: F) -> Result<T, DbErr>
where
    F: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    match writer_runtime() {
        Some(rt) if db.get_database_backend() == DbBackend::Sqlite => {
            rt.spawn(work).await.map_err(|e| DbErr::Custom(format!("write task failed: {e}")))
        }
        _ => Ok(work.await),
    }
}

/// Makes every write acknowledged so far in this process visible to other connections: commits
/// the open group, if any (a no-op on PostgreSQL).
pub async fn settle(db: &DatabaseConnection) {
    drop(write_turn(db).await);
}

impl WriteTxn {
    /// Commits; on SQLite, returns once the member's group is durably committed.
    pub async fn commit(self) -> Result<(), DbErr> {
        self.commit_with(None).await
    }

    /// Runs `batch` (see [`Batch`]) and commits: on SQLite the member's savepoint is opened (if
    /// nothing was written yet) and released in the batch's round trip.
    pub async fn run_and_commit(self, batch: Batch) -> Result<(), DbErr> {
        self.commit_with(Some(batch)).await
    }

    async fn commit_with(mut self, batch: Option<Batch>) -> Result<(), DbErr> {
        let member = match &mut self.mode {
            Mode::Plain(txn) => {
                let txn = txn.take().ok_or_else(|| DbErr::Custom("transaction already ended".into()))?;
                if let Some(batch) = batch {
                    batch.run(&txn).await?;
                }
                return txn.commit().await;
            }
            Mode::Group(member) => member,
        };
        let mut last = Batch::new(DbBackend::Sqlite);
        let had_statements = batch.as_ref().is_some_and(|b| !b.is_empty());
        if had_statements && member.opens_savepoint() {
            last.push(Statement::from_string(DbBackend::Sqlite, OPEN_MEMBER));
        }
        if let Some(batch) = batch {
            last.extend(batch);
        }
        if member.begun.load(Ordering::SeqCst) {
            last.push(Statement::from_string(DbBackend::Sqlite, RELEASE_MEMBER));
        }
        if let Err(e) = last.run(member.txn()?).await {
            // The member's writes are undone; if even that fails they may still be in the
            // group, which then must not commit: every member gets an error (none has
            // answered yet).
            member.begun.store(false, Ordering::SeqCst);
            if let Err(undo) = roll_back_member(member.txn()?).await {
                if let Some(mut slot) = member.guard.take() {
                    abort(&mut slot, &undo).await;
                }
            }
            self.leave_in_background().await;
            return Err(e);
        }
        member.begun.store(false, Ordering::SeqCst);
        match self.leave().await? {
            None => Ok(()),
            Some((lock, group, done)) => wait_for_group(lock, group, done).await,
        }
    }

    pub async fn rollback(mut self) -> Result<(), DbErr> {
        let member = match &mut self.mode {
            Mode::Plain(txn) => {
                let txn = txn.take().ok_or_else(|| DbErr::Custom("transaction already ended".into()))?;
                return txn.rollback().await;
            }
            Mode::Group(member) => member,
        };
        let mut result = Ok(());
        if member.begun.swap(false, Ordering::SeqCst) {
            if let Err(e) = roll_back_member(member.txn()?).await {
                if let Some(mut slot) = member.guard.take() {
                    abort(&mut slot, &e).await;
                }
                result = Err(e);
            }
        }
        self.leave_in_background().await;
        result
    }

    /// Leaves the group after a failure: members before this one may be waiting for it.
    async fn leave_in_background(&mut self) {
        if let Ok(Some((lock, group, done))) = self.leave().await {
            tokio::spawn(async move {
                let _ = wait_for_group(lock, group, done).await;
            });
        }
    }

    /// Gives the turn back. With nobody queued the group is committed now (`None` returned);
    /// otherwise the next writer joins it and the caller gets what to wait on.
    #[allow(clippy::type_complexity)]
    async fn leave(&mut self) -> Result<Option<(Arc<FileLock>, u64, watch::Receiver<Outcome>)>, DbErr> {
        let Mode::Group(Member { lock, guard, group, done, .. }) = &mut self.mode else { return Ok(None) };
        let Some(mut slot) = guard.take() else { return Ok(None) };
        let full = slot.open.as_ref().is_some_and(|g| g.members >= MAX_GROUP);
        if full || lock.queued.load(Ordering::SeqCst) == 0 {
            flush(&mut slot).await?;
            return Ok(None);
        }
        drop(slot);
        Ok(Some((lock.clone(), *group, done.clone())))
    }
}

/// Waits for group `group` to be committed by a later member; if none takes it over (its wait
/// was cancelled), commits it here.
async fn wait_for_group(lock: Arc<FileLock>, group: u64, mut done: watch::Receiver<Outcome>) -> Result<(), DbErr> {
    loop {
        if let Some(outcome) = done.borrow_and_update().clone() {
            return outcome.map_err(|e| DbErr::Custom(format!("group commit failed: {e}")));
        }
        match tokio::time::timeout(HANDOVER_CHECK, done.changed()).await {
            Ok(Ok(())) => continue,
            // The sender is gone without an outcome: the group was dropped, so not committed.
            Ok(Err(_)) => return Err(DbErr::Custom("group transaction abandoned".into())),
            Err(_) => {
                let mut slot = FileLock::acquire(&lock).await;
                if slot.open.as_ref().is_some_and(|g| g.id == group) && lock.queued.load(Ordering::SeqCst) == 0 {
                    flush(&mut slot).await?;
                }
            }
        }
    }
}

impl Drop for WriteTxn {
    fn drop(&mut self) {
        // Ended without commit or rollback (an early return): the member's writes are undone
        // and the group must still be committed for the others.
        let Mode::Group(member) = &mut self.mode else { return };
        let Some(slot) = member.guard.take() else { return };
        let begun = member.begun.swap(false, Ordering::SeqCst);
        let lock = member.lock.clone();
        let finish = async move {
            let mut slot = slot;
            if begun {
                if let Some(group) = slot.open.as_ref() {
                    if let Err(e) = roll_back_member(&group.txn).await {
                        abort(&mut slot, &e).await;
                    }
                }
            }
            if lock.queued.load(Ordering::SeqCst) == 0 {
                if let Err(e) = flush(&mut slot).await {
                    tracing::error!(error = %e, "group commit failed");
                }
            }
        };
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(finish);
        }
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for WriteTxn {
    fn get_database_backend(&self) -> DbBackend {
        match &self.mode {
            Mode::Plain(txn) => txn.as_ref().map(|t| t.get_database_backend()).unwrap_or(DbBackend::Postgres),
            Mode::Group(_) => DbBackend::Sqlite,
        }
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        match &self.mode {
            Mode::Plain(txn) => ended(txn)?.execute_raw(stmt).await,
            Mode::Group(m) => m.opened().await?.execute_raw(stmt).await,
        }
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        match &self.mode {
            Mode::Plain(txn) => ended(txn)?.execute_unprepared(sql).await,
            Mode::Group(m) => m.opened().await?.execute_unprepared(sql).await,
        }
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        match &self.mode {
            Mode::Plain(txn) => ended(txn)?.query_one_raw(stmt).await,
            Mode::Group(m) => m.txn()?.query_one_raw(m.with_savepoint(stmt)).await,
        }
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        match &self.mode {
            Mode::Plain(txn) => ended(txn)?.query_all_raw(stmt).await,
            Mode::Group(m) => m.txn()?.query_all_raw(m.with_savepoint(stmt)).await,
        }
    }

    fn is_mock_connection(&self) -> bool {
        false
    }
}

fn ended(txn: &Option<DatabaseTransaction>) -> Result<&DatabaseTransaction, DbErr> {
    txn.as_ref().ok_or_else(|| DbErr::Custom("transaction already ended".into()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    async fn table(dir: &std::path::Path) -> (DatabaseConnection, DatabaseConnection) {
        let url = format!("sqlite://{}/t.db", dir.display());
        let db = crate::connect(&url).await.unwrap();
        db.execute_unprepared("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)").await.unwrap();
        // A second pool on the same file: what other connections (and processes) see.
        (db, crate::connect(&url).await.unwrap())
    }

    async fn visible(reader: &DatabaseConnection, id: i64) -> bool {
        let stmt = Statement::from_string(DbBackend::Sqlite, format!("SELECT v FROM t WHERE id = {id}"));
        reader.query_one_raw(stmt).await.unwrap().is_some()
    }

    fn row(id: i64) -> Statement {
        Statement::from_sql_and_values(DbBackend::Sqlite, "INSERT INTO t (id, v) VALUES (?, 'b')", [id.into()])
    }

    fn count() -> Statement {
        Statement::from_string(DbBackend::Sqlite, "SELECT count(*) AS n FROM t")
    }

    async fn insert(txn: &WriteTxn, id: i64) -> Result<ExecResult, DbErr> {
        txn.execute_unprepared(&format!("INSERT INTO t (id, v) VALUES ({id}, 'x')")).await
    }

    /// Concurrent writers share commits, each `commit()` returns only once its row is visible
    /// to another connection, and a member that fails or is dropped leaves the others intact.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn group_commit_acknowledges_only_durable_rows_and_isolates_failures() {
        let dir = tempfile::tempdir().unwrap();
        let (db, reader) = table(dir.path()).await;
        let writers: Vec<_> = (0..200i64)
            .map(|id| {
                let (db, reader) = (db.clone(), reader.clone());
                tokio::spawn(async move {
                    let txn = begin_write(&db).await.unwrap();
                    if id % 10 != 5 && id % 10 != 9 {
                        insert(&txn, id).await.unwrap();
                    }
                    match id % 10 {
                        // A duplicate key: this member's statement fails, the member rolls back.
                        3 => {
                            assert!(insert(&txn, id).await.is_err());
                            txn.rollback().await.unwrap();
                            false
                        }
                        // An early return: dropped without commit or rollback.
                        7 => {
                            drop(txn);
                            false
                        }
                        // A read first (it opens the savepoint), the rest in one batch with
                        // the commit; the batch fails on a duplicate key: nothing of it stays.
                        9 => {
                            txn.query_one_raw(count()).await.unwrap().unwrap();
                            let mut batch = Batch::new(DbBackend::Sqlite);
                            batch.push(row(id + 1000));
                            batch.push(row(id + 1000));
                            assert!(txn.run_and_commit(batch).await.is_err());
                            assert!(!visible(&reader, id + 1000).await, "a failed batch left a row");
                            false
                        }
                        // The same, without the failure: the batch and the commit together.
                        5 => {
                            txn.query_one_raw(count()).await.unwrap().unwrap();
                            let mut batch = Batch::new(DbBackend::Sqlite);
                            batch.push(row(id));
                            batch.push(row(id + 1000));
                            txn.run_and_commit(batch).await.unwrap();
                            assert!(visible(&reader, id).await && visible(&reader, id + 1000).await);
                            true
                        }
                        _ => {
                            txn.commit().await.unwrap();
                            assert!(visible(&reader, id).await, "row {id} acknowledged before it was committed");
                            true
                        }
                    }
                })
            })
            .collect();
        let mut committed = Vec::new();
        for (id, w) in writers.into_iter().enumerate() {
            if w.await.unwrap() {
                committed.push(id as i64);
            }
        }

        settle(&db).await;
        for id in 0..200i64 {
            assert_eq!(visible(&reader, id).await, committed.contains(&id), "row {id}");
            assert_eq!(visible(&reader, id + 1000).await, id % 10 == 5, "row {}", id + 1000);
        }
        assert_eq!(committed.len(), 140);
        let lock = sqlite_write_lock(&db).unwrap();
        let groups = lock.next_group.load(Ordering::SeqCst);
        assert!(groups < 200, "no commit was shared: {groups} groups for 200 writers");
        // Nothing is left open: a plain connection can write at once.
        reader.execute_unprepared("INSERT INTO t (id, v) VALUES (5000, 'after')").await.unwrap();
    }

    /// Group transactions run on the writer's own connection, which does not map the file;
    /// the pool's connections, which read the archive, do.
    #[tokio::test]
    async fn groups_run_on_the_writers_own_connection_without_the_map() {
        let dir = tempfile::tempdir().unwrap();
        let (db, _reader) = table(dir.path()).await;
        let mmap = || Statement::from_string(DbBackend::Sqlite, "PRAGMA mmap_size");
        let txn = begin_write(&db).await.unwrap();
        let in_group: i64 = txn.query_one_raw(mmap()).await.unwrap().unwrap().try_get_by_index(0).unwrap();
        txn.commit().await.unwrap();
        let in_pool: i64 = db.query_one_raw(mmap()).await.unwrap().unwrap().try_get_by_index(0).unwrap();
        assert_eq!(in_group, 0);
        assert_eq!(in_pool, crate::MMAP_SIZE as i64);
    }

    /// A database opened again (its file replaced, as a restore does) gets a new writer: the
    /// writes land in the file the pool reads, not in the one the earlier writer held open.
    #[tokio::test]
    async fn a_database_opened_again_is_written_through_its_new_file() {
        let dir = tempfile::tempdir().unwrap();
        let (db, reader) = table(dir.path()).await;
        let txn = begin_write(&db).await.unwrap();
        insert(&txn, 1).await.unwrap();
        txn.commit().await.unwrap();
        drop((db, reader));
        for f in ["t.db", "t.db-wal", "t.db-shm"] {
            let _ = std::fs::remove_file(dir.path().join(f));
        }

        let (db, reader) = table(dir.path()).await;
        let txn = begin_write(&db).await.unwrap();
        insert(&txn, 2).await.unwrap();
        txn.commit().await.unwrap();

        assert!(visible(&reader, 2).await, "the write went to the replaced file");
        assert!(!visible(&reader, 1).await);
    }
}
