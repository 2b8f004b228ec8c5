//! Several writes sent to the database as one unit.
//!
//! Inside a write transaction on SQLite every statement is a round trip to the connection's
//! worker thread, taken while the process's single write turn is held (see `write`): the fewer
//! round trips, the shorter the turn, the more requests a second. A [`Batch`] collects the
//! inserts of one change and sends them as one multi-statement string with their parameters in
//! order (the SQLite driver binds each statement's `?` from where the previous one stopped), so
//! they cost one round trip. On PostgreSQL, whose placeholders are numbered per statement, the
//! statements run one after the other. Either way they run in order, and the first that fails
//! stops the batch with its error: call it inside a transaction, which the error rolls back.

use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement, Values};

/// Writes to run together, in order.
#[derive(Debug)]
pub struct Batch {
    backend: DbBackend,
    statements: Vec<Statement>,
}

impl Batch {
    pub fn new(backend: DbBackend) -> Self {
        Self { backend, statements: Vec::new() }
    }

    /// The backend the statements are built for.
    pub fn backend(&self) -> DbBackend {
        self.backend
    }

    /// Adds a statement built for [`Batch::backend`].
    pub fn push(&mut self, statement: Statement) {
        self.statements.push(statement);
    }

    /// True when there is nothing to run.
    pub fn is_empty(&self) -> bool {
        self.statements.is_empty()
    }

    /// Adds the statements of `other`, after these.
    pub fn extend(&mut self, other: Batch) {
        self.statements.extend(other.statements);
    }

    /// Runs the statements, in order.
    pub async fn run(self, db: &impl ConnectionTrait) -> Result<(), DbErr> {
        if self.backend != DbBackend::Sqlite || self.statements.len() < 2 {
            for statement in self.statements {
                db.execute_raw(statement).await?;
            }
            return Ok(());
        }
        let mut sql = String::new();
        let mut values = Vec::new();
        for statement in self.statements {
            if !sql.is_empty() {
                sql.push_str(";\n");
            }
            sql.push_str(statement.sql.trim_end().trim_end_matches(';'));
            if let Some(Values(v)) = statement.values {
                values.extend(v);
            }
        }
        db.execute_raw(Statement::from_sql_and_values(DbBackend::Sqlite, sql, values)).await?;
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    async fn table() -> (tempfile::TempDir, sea_orm::DatabaseConnection) {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::connect(&format!("sqlite://{}/b.db", dir.path().display())).await.unwrap();
        db.execute_unprepared("CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT NOT NULL, b INTEGER)").await.unwrap();
        (dir, db)
    }

    fn insert(id: i64, a: &str, b: Option<i64>) -> Statement {
        Statement::from_sql_and_values(
            DbBackend::Sqlite,
            "INSERT INTO t (id, a, b) VALUES (?, ?, ?)",
            [id.into(), a.into(), b.into()],
        )
    }

    async fn rows(db: &sea_orm::DatabaseConnection) -> Vec<(i64, String, Option<i64>)> {
        let stmt = Statement::from_string(DbBackend::Sqlite, "SELECT id, a, b FROM t ORDER BY id");
        db.query_all_raw(stmt)
            .await
            .unwrap()
            .into_iter()
            .map(|r| (r.try_get("", "id").unwrap(), r.try_get("", "a").unwrap(), r.try_get("", "b").unwrap()))
            .collect()
    }

    /// Each statement gets its own parameters, in order, whatever their number.
    #[tokio::test]
    async fn every_statement_of_a_batch_binds_its_own_parameters() {
        let (_dir, db) = table().await;
        let mut batch = Batch::new(DbBackend::Sqlite);
        batch.push(insert(1, "uno", Some(10)));
        batch.push(Statement::from_sql_and_values(
            DbBackend::Sqlite,
            "INSERT INTO t (id, a) VALUES (?, ?);",
            [2i64.into(), "due".into()],
        ));
        batch.push(insert(3, "tre", None));
        batch.push(Statement::from_sql_and_values(
            DbBackend::Sqlite,
            "UPDATE t SET b = ? WHERE id = ?",
            [7i64.into(), 2i64.into()],
        ));
        batch.run(&db).await.unwrap();
        assert_eq!(
            rows(&db).await,
            vec![(1, "uno".to_owned(), Some(10)), (2, "due".to_owned(), Some(7)), (3, "tre".to_owned(), None)]
        );
    }

    /// A failing statement stops the batch with its error, and its transaction rolls it all back.
    #[tokio::test]
    async fn a_failing_statement_fails_the_batch_and_its_transaction_keeps_nothing() {
        let (_dir, db) = table().await;
        db.execute_raw(insert(2, "già presente", None)).await.unwrap();
        let txn = crate::begin_write(&db).await.unwrap();
        let mut batch = Batch::new(DbBackend::Sqlite);
        batch.push(insert(1, "uno", None));
        batch.push(insert(2, "doppione", None));
        batch.push(insert(3, "tre", None));
        assert!(batch.run(&txn).await.is_err());
        txn.rollback().await.unwrap();
        crate::settle(&db).await;
        assert_eq!(rows(&db).await, vec![(2, "già presente".to_owned(), None)]);
    }
}
