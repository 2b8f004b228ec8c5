//! The notification outbox: rows written in the transaction of the change that causes them,
//! claimed by workers with a lease, marked sent, retried or failed.

use chrono::{DateTime, Utc};
use sea_orm::{
    sea_query::{Expr, ExprTrait},
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait, FromQueryResult, QueryFilter,
    QueryOrder, QueryTrait, Statement,
};

use crate::batch::Batch;
use crate::entities::notification::{self, Column as C};

pub const PENDING: &str = "pending";
pub const SENDING: &str = "sending";
pub const SENT: &str = "sent";
pub const FAILED: &str = "failed";

pub struct NewMessage {
    pub request_id: Option<String>,
    pub event: String,
    pub channel: String,
    pub recipient: String,
    pub message_id: String,
    pub subject: Option<String>,
    pub body: String,
    pub body_html: Option<String>,
    pub webhook_id: Option<i32>,
}

pub async fn enqueue(db: &impl ConnectionTrait, messages: Vec<NewMessage>, now: DateTime<Utc>) -> Result<(), DbErr> {
    let mut batch = Batch::new(db.get_database_backend());
    enqueue_into(&mut batch, messages, now);
    batch.run(db).await
}

/// Adds to `batch` the insert of `messages` (nothing when there are none).
pub fn enqueue_into(batch: &mut Batch, messages: Vec<NewMessage>, now: DateTime<Utc>) {
    if messages.is_empty() {
        return;
    }
    let backend = batch.backend();
    let rows = messages.into_iter().map(|m| notification::ActiveModel {
        request_id: Set(m.request_id),
        event: Set(m.event),
        channel: Set(m.channel),
        recipient: Set(m.recipient),
        message_id: Set(m.message_id),
        subject: Set(m.subject),
        body: Set(m.body),
        body_html: Set(m.body_html),
        status: Set(PENDING.into()),
        attempts: Set(0),
        next_attempt_at: Set(now),
        locked_until: Set(None),
        locked_by: Set(None),
        created_at: Set(now),
        sent_at: Set(None),
        last_error: Set(None),
        webhook_id: Set(m.webhook_id),
        ..Default::default()
    });
    batch.push(notification::Entity::insert_many(rows).build(backend));
}

/// Claims up to `limit` due rows for `worker` until `lease_until`: pending rows whose time has
/// come, and rows whose previous claimer's lease ran out (a crashed worker). On PostgreSQL the
/// rows are picked with `FOR UPDATE SKIP LOCKED`, so concurrent workers never claim the same
/// row; on SQLite an immediate (write-locked) transaction serialises the claims.
pub async fn claim_due(
    db: &DatabaseConnection,
    worker: &str,
    limit: u64,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
) -> Result<Vec<notification::Model>, DbErr> {
    let backend = db.get_database_backend();
    if backend == DbBackend::Postgres {
        // Each kind of due row is picked on its own, in the order of `idx_notifications_due`,
        // so the claim reads its `limit` rows and stops. With the two joined by `OR`, every
        // claim read all the pending rows (a bitmap scan), and, while a drain runs, every
        // dead version its status changes leave behind, until a vacuum.
        let sql = "WITH pending AS (SELECT id, next_attempt_at FROM notifications \
                 WHERE status = 'pending' AND next_attempt_at <= $3 \
                 ORDER BY next_attempt_at, id LIMIT $4 FOR UPDATE SKIP LOCKED), \
             expired AS (SELECT id, next_attempt_at FROM notifications \
                 WHERE status = 'sending' AND locked_until < $3 \
                 ORDER BY next_attempt_at, id LIMIT $4 FOR UPDATE SKIP LOCKED) \
             UPDATE notifications SET status = 'sending', locked_by = $1, locked_until = $2, attempts = attempts + 1 \
             WHERE id IN (SELECT id FROM (SELECT * FROM pending UNION ALL SELECT * FROM expired) AS due \
                 ORDER BY next_attempt_at, id LIMIT $4) \
             RETURNING *";
        let values: Vec<sea_orm::Value> = vec![worker.into(), lease_until.into(), now.into(), (limit as i64).into()];
        let rows = db.query_all_raw(Statement::from_sql_and_values(backend, sql, values)).await?;
        let mut out =
            rows.iter().map(|r| notification::Model::from_query_result(r, "")).collect::<Result<Vec<_>, _>>()?;
        out.sort_by_key(|m| m.id);
        return Ok(out);
    }
    // SQLite: select, update and read back inside one write transaction (sqlx's SQLite driver
    // mis-sizes `RETURNING *` rows of tables altered by a migration).
    let txn = crate::begin_write(db).await?;
    let due = sea_orm::Condition::any()
        .add(sea_orm::Condition::all().add(C::Status.eq(PENDING)).add(C::NextAttemptAt.lte(now)))
        .add(sea_orm::Condition::all().add(C::Status.eq(SENDING)).add(C::LockedUntil.lt(now)));
    let ids: Vec<i64> = {
        use sea_orm::QuerySelect;
        notification::Entity::find()
            .select_only()
            .column(C::Id)
            .filter(due)
            .order_by_asc(C::NextAttemptAt)
            .order_by_asc(C::Id)
            .limit(limit)
            .into_tuple()
            .all(&txn)
            .await?
    };
    if ids.is_empty() {
        txn.commit().await?;
        return Ok(vec![]);
    }
    notification::Entity::update_many()
        .col_expr(C::Status, Expr::value(SENDING))
        .col_expr(C::LockedBy, Expr::value(worker))
        .col_expr(C::LockedUntil, Expr::value(lease_until))
        .col_expr(C::Attempts, Expr::col(C::Attempts).add(1))
        .filter(C::Id.is_in(ids.clone()))
        .exec(&txn)
        .await?;
    let out = notification::Entity::find().filter(C::Id.is_in(ids)).order_by_asc(C::Id).all(&txn).await?;
    txn.commit().await?;
    Ok(out)
}

/// Marks rows sent, if `worker` still holds them.
pub async fn mark_sent(db: &impl ConnectionTrait, ids: &[i64], worker: &str, now: DateTime<Utc>) -> Result<u64, DbErr> {
    if ids.is_empty() {
        return Ok(0);
    }
    let res = notification::Entity::update_many()
        .col_expr(C::Status, Expr::value(SENT))
        .col_expr(C::SentAt, Expr::value(now))
        .col_expr(C::LockedUntil, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(C::LastError, Expr::value(Option::<String>::None))
        .filter(C::Id.is_in(ids.to_vec()))
        .filter(C::LockedBy.eq(worker))
        .filter(C::Status.eq(SENDING))
        .exec(db)
        .await?;
    Ok(res.rows_affected)
}

/// Puts a row back for another attempt at `next`, or marks it failed for good.
pub async fn mark_unsent(
    db: &impl ConnectionTrait,
    id: i64,
    worker: &str,
    error: &str,
    next: Option<DateTime<Utc>>,
) -> Result<(), DbErr> {
    let mut q = notification::Entity::update_many()
        .col_expr(C::LastError, Expr::value(error.chars().take(1000).collect::<String>()))
        .col_expr(C::LockedUntil, Expr::value(Option::<DateTime<Utc>>::None));
    q = match next {
        Some(at) => q.col_expr(C::Status, Expr::value(PENDING)).col_expr(C::NextAttemptAt, Expr::value(at)),
        None => q.col_expr(C::Status, Expr::value(FAILED)),
    };
    q.filter(C::Id.eq(id)).filter(C::LockedBy.eq(worker)).filter(C::Status.eq(SENDING)).exec(db).await?;
    Ok(())
}

pub async fn for_request(db: &impl ConnectionTrait, request_id: &str) -> Result<Vec<notification::Model>, DbErr> {
    notification::Entity::find().filter(C::RequestId.eq(request_id)).order_by_asc(C::Id).all(db).await
}

/// How many rows are waiting (pending or being sent), for tests and metrics.
pub async fn backlog(db: &impl ConnectionTrait) -> Result<u64, DbErr> {
    use sea_orm::PaginatorTrait;
    notification::Entity::find().filter(C::Status.is_in([PENDING, SENDING])).count(db).await
}

/// The deliveries of a webhook, newest first.
pub async fn for_webhook(
    db: &impl ConnectionTrait,
    webhook_id: i32,
    limit: u64,
) -> Result<Vec<notification::Model>, DbErr> {
    use sea_orm::QuerySelect;
    notification::Entity::find().filter(C::WebhookId.eq(webhook_id)).order_by_desc(C::Id).limit(limit).all(db).await
}

pub async fn get(db: &impl ConnectionTrait, id: i64) -> Result<Option<notification::Model>, DbErr> {
    notification::Entity::find_by_id(id).one(db).await
}
