//! Monitoring figures, computed by the database (counts, groupings and medians), never by
//! loading the rows into the server.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    sea_query::{Alias, Expr, Func, Order, Query, SimpleExpr},
    ConnectionTrait, DbBackend, DbErr,
};

use crate::entities::request::{self, Column as C};

#[derive(Debug, Clone, Default)]
pub struct StatsFilter {
    pub sede: Option<String>,
    pub created_from: Option<DateTime<Utc>>,
    pub created_before: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stats {
    pub total: u64,
    pub by_status: BTreeMap<String, u64>,
    pub by_ambito: BTreeMap<String, u64>,
    pub by_sede: BTreeMap<String, u64>,
    pub median_time_to_take_charge_s: Option<f64>,
    pub median_time_to_close_s: Option<f64>,
    /// Open (not closed) quesiti by age: under 1 day, 1–7 days, 7–30 days, over 30 days.
    pub backlog_by_age: [u64; 4],
}

fn conditions(f: &StatsFilter) -> sea_orm::Condition {
    use sea_orm::ColumnTrait;
    let mut cond = sea_orm::Condition::all();
    if let Some(s) = &f.sede {
        cond = cond.add(C::SedeCode.eq(s.clone()));
    }
    if let Some(t) = f.created_from {
        cond = cond.add(C::CreatedAt.gte(t));
    }
    if let Some(t) = f.created_before {
        cond = cond.add(C::CreatedAt.lt(t));
    }
    cond
}

async fn grouped(db: &impl ConnectionTrait, f: &StatsFilter, col: C) -> Result<BTreeMap<String, u64>, DbErr> {
    let stmt = Query::select()
        .expr_as(Expr::col(col), Alias::new("k"))
        .expr_as(Func::count(Expr::col(C::Id)), Alias::new("n"))
        .from(request::Entity)
        .cond_where(conditions(f))
        .group_by_col(col)
        .to_owned();
    let rows = db.query_all(&stmt).await?;
    let mut out = BTreeMap::new();
    for r in rows {
        out.insert(r.try_get::<String>("", "k")?, r.try_get::<i64>("", "n")? as u64);
    }
    Ok(out)
}

/// Seconds between two timestamp columns, in the backend's own arithmetic.
fn seconds_between(backend: DbBackend, from: C, to: C) -> SimpleExpr {
    let (from, to) = (format!("\"{}\"", column_name(from)), format!("\"{}\"", column_name(to)));
    match backend {
        DbBackend::Postgres => Expr::cust(format!("EXTRACT(EPOCH FROM ({to} - {from}))::float8")),
        _ => Expr::cust(format!("(julianday({to}) - julianday({from})) * 86400.0")),
    }
}

fn column_name(c: C) -> &'static str {
    match c {
        C::CreatedAt => "created_at",
        C::TakenAt => "taken_at",
        C::ClosedAt => "closed_at",
        _ => "updated_at",
    }
}

/// The median of `to - from` over the rows where `to` is set: the middle row (or the mean of
/// the two middle rows) of the ordered durations, picked by the database.
async fn median(db: &impl ConnectionTrait, f: &StatsFilter, from: C, to: C) -> Result<Option<f64>, DbErr> {
    use sea_orm::ColumnTrait;
    let backend = db.get_database_backend();
    let cond = conditions(f).add(to.is_not_null());
    let count_stmt = Query::select()
        .expr_as(Func::count(Expr::col(C::Id)), Alias::new("n"))
        .from(request::Entity)
        .cond_where(cond.clone())
        .to_owned();
    let n = match db.query_one(&count_stmt).await? {
        Some(r) => r.try_get::<i64>("", "n")?,
        None => 0,
    };
    if n == 0 {
        return Ok(None);
    }
    let (offset, take) = if n % 2 == 1 { ((n / 2) as u64, 1u64) } else { ((n / 2 - 1) as u64, 2u64) };
    let d = seconds_between(backend, from, to);
    let stmt = Query::select()
        .expr_as(d.clone(), Alias::new("d"))
        .from(request::Entity)
        .cond_where(cond)
        .order_by_expr(d, Order::Asc)
        .limit(take)
        .offset(offset)
        .to_owned();
    let rows = db.query_all(&stmt).await?;
    let values: Vec<f64> = rows.iter().filter_map(|r| r.try_get::<f64>("", "d").ok()).collect();
    if values.is_empty() {
        return Ok(None);
    }
    Ok(Some(values.iter().sum::<f64>() / values.len() as f64))
}

pub async fn compute(db: &impl ConnectionTrait, f: &StatsFilter, now: DateTime<Utc>) -> Result<Stats, DbErr> {
    use sea_orm::ColumnTrait;
    let by_status = grouped(db, f, C::Status).await?;
    let total = by_status.values().sum();
    let mut backlog = [0u64; 4];
    let bounds = [None, Some(Duration::days(1)), Some(Duration::days(7)), Some(Duration::days(30)), None];
    for (i, slot) in backlog.iter_mut().enumerate() {
        let mut cond = conditions(f).add(C::Status.ne("chiusa"));
        if let Some(younger_than) = bounds[i] {
            cond = cond.add(C::CreatedAt.lte(now - younger_than));
        }
        if let Some(older_than) = bounds[i + 1] {
            cond = cond.add(C::CreatedAt.gt(now - older_than));
        }
        let stmt = Query::select()
            .expr_as(Func::count(Expr::col(C::Id)), Alias::new("n"))
            .from(request::Entity)
            .cond_where(cond)
            .to_owned();
        *slot = match db.query_one(&stmt).await? {
            Some(r) => r.try_get::<i64>("", "n")? as u64,
            None => 0,
        };
    }
    Ok(Stats {
        total,
        by_status,
        by_ambito: grouped(db, f, C::AmbitoCode).await?,
        by_sede: grouped(db, f, C::SedeCode).await?,
        median_time_to_take_charge_s: median(db, f, C::CreatedAt, C::TakenAt).await?,
        median_time_to_close_s: median(db, f, C::CreatedAt, C::ClosedAt).await?,
        backlog_by_age: backlog,
    })
}
