//! Runs SQL given on stdin (one statement per line, `?` parameters after ` -- ` separated by
//! `|`) against a database through Cassetto's own pool, printing the plan and the time:
//! `cargo run --release -p cassetto-bench --example probe -- sqlite://target/bench/sqlite/bench.db < q.sql`
use std::io::BufRead;
use std::time::Instant;

use sea_orm::{ConnectionTrait, Statement, Value};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let url = std::env::args().nth(1).unwrap_or_default();
    let db = cassetto_storage::connect(&url).await?;
    let backend = db.get_database_backend();
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let (sql, params) = line.split_once(" -- ").unwrap_or((&line, ""));
        let values: Vec<Value> =
            params.split('|').filter(|p| !p.is_empty()).map(|p| Value::from(p.to_owned())).collect();
        let plan = db
            .query_all_raw(Statement::from_sql_and_values(backend, format!("EXPLAIN QUERY PLAN {sql}"), values.clone()))
            .await?;
        println!("{sql}");
        for r in plan {
            println!("   {}", r.try_get::<String>("", "detail").unwrap_or_default());
        }
        let mut times = vec![];
        for _ in 0..5 {
            let t = Instant::now();
            let rows = db.query_all_raw(Statement::from_sql_and_values(backend, sql, values.clone())).await?;
            times.push((t.elapsed().as_secs_f64() * 1000.0, rows.len()));
        }
        println!("   ms: {times:?}");
    }
    Ok(())
}
