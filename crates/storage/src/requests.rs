//! Requests (quesiti): creation with their protocol number, the archive query, and their
//! history, comments and attachments.

use chrono::{DateTime, Utc};
use sea_orm::{
    sea_query::{Expr, ExprTrait, OnConflict, Query},
    ActiveValue::Set,
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, Order, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Select,
};

use crate::entities::{attachment, comment, idempotency_key, protocol_counter, request, request_history};

/// Takes the next progressive of the protocol register of `sede` for `year`.
///
/// Call it as the first write of the creating transaction: the counter row stays locked until
/// commit, so numbers are unique and, since a rolled-back transaction also rolls back its
/// increment, gapless — on PostgreSQL across instances too.
pub async fn next_protocol_number(db: &impl ConnectionTrait, sede: &str, year: i32) -> Result<i64, DbErr> {
    let stmt = Query::insert()
        .into_table(protocol_counter::Entity)
        .columns([
            protocol_counter::Column::SedeCode,
            protocol_counter::Column::Year,
            protocol_counter::Column::LastValue,
        ])
        .values_panic([sede.into(), year.into(), 1i64.into()])
        .on_conflict(
            OnConflict::columns([protocol_counter::Column::SedeCode, protocol_counter::Column::Year])
                .value(
                    protocol_counter::Column::LastValue,
                    Expr::col((protocol_counter::Entity, protocol_counter::Column::LastValue)).add(1),
                )
                .to_owned(),
        )
        .returning_col(protocol_counter::Column::LastValue)
        .to_owned();
    let row = db.query_one(&stmt).await?.ok_or_else(|| DbErr::Custom("protocol counter returned nothing".into()))?;
    row.try_get::<i64>("", "last_value")
}

pub struct NewAttachment {
    pub name: String,
    pub size: i64,
    pub content_type: String,
    pub sha256: String,
}

/// Inserts a request with its attachments and first history entry.
pub async fn insert(
    db: &impl ConnectionTrait,
    row: request::Model,
    attachments: Vec<NewAttachment>,
    first: request_history::Model,
) -> Result<(), DbErr> {
    let id = row.id.clone();
    request::Entity::insert(request::ActiveModel::from(row)).exec_without_returning(db).await?;
    if !attachments.is_empty() {
        attachment::Entity::insert_many(attachments.into_iter().enumerate().map(|(i, a)| attachment::ActiveModel {
            request_id: Set(id.clone()),
            position: Set(i as i32),
            name: Set(a.name),
            size: Set(a.size),
            content_type: Set(a.content_type),
            sha256: Set(a.sha256),
            ..Default::default()
        }))
        .exec_without_returning(db)
        .await?;
    }
    add_history(db, first).await
}

pub async fn add_history(db: &impl ConnectionTrait, entry: request_history::Model) -> Result<(), DbErr> {
    let mut am = request_history::ActiveModel::from(entry);
    am.id = sea_orm::ActiveValue::NotSet;
    request_history::Entity::insert(am).exec_without_returning(db).await?;
    Ok(())
}

pub async fn get(db: &impl ConnectionTrait, id: &str) -> Result<Option<request::Model>, DbErr> {
    request::Entity::find_by_id(id.to_owned()).one(db).await
}

pub async fn attachments_of(db: &impl ConnectionTrait, id: &str) -> Result<Vec<attachment::Model>, DbErr> {
    attachment::Entity::find()
        .filter(attachment::Column::RequestId.eq(id))
        .order_by_asc(attachment::Column::Position)
        .all(db)
        .await
}

pub async fn history_of(db: &impl ConnectionTrait, id: &str) -> Result<Vec<request_history::Model>, DbErr> {
    request_history::Entity::find()
        .filter(request_history::Column::RequestId.eq(id))
        .order_by_asc(request_history::Column::Id)
        .all(db)
        .await
}

/// The comments of a request, oldest first; internal ones only when asked.
pub async fn comments_of(
    db: &impl ConnectionTrait,
    id: &str,
    with_internal: bool,
) -> Result<Vec<comment::Model>, DbErr> {
    let mut q = comment::Entity::find().filter(comment::Column::RequestId.eq(id));
    if !with_internal {
        q = q.filter(comment::Column::Internal.eq(false));
    }
    q.order_by_asc(comment::Column::Id).all(db).await
}

pub async fn insert_comment(db: &impl ConnectionTrait, c: comment::Model) -> Result<comment::Model, DbErr> {
    let mut am = comment::ActiveModel::from(c);
    am.id = sea_orm::ActiveValue::NotSet;
    comment::Entity::insert(am).exec_with_returning(db).await
}

/// Marks a change: bumps `version` and `updated_at` if the row is still at `expected_version`.
/// Returns false when another change got there first.
pub async fn touch(
    db: &impl ConnectionTrait,
    id: &str,
    expected_version: i32,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let res = request::Entity::update_many()
        .col_expr(request::Column::Version, Expr::col(request::Column::Version).add(1))
        .col_expr(request::Column::UpdatedAt, Expr::value(now))
        .filter(request::Column::Id.eq(id))
        .filter(request::Column::Version.eq(expected_version))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

// ---- idempotency ----

pub async fn idempotency_get(
    db: &impl ConnectionTrait,
    user_id: i32,
    key: &str,
) -> Result<Option<idempotency_key::Model>, DbErr> {
    idempotency_key::Entity::find_by_id((user_id, key.to_owned())).one(db).await
}

pub async fn idempotency_put(db: &impl ConnectionTrait, row: idempotency_key::Model) -> Result<(), DbErr> {
    idempotency_key::Entity::insert(idempotency_key::ActiveModel::from(row)).exec_without_returning(db).await?;
    Ok(())
}

// ---- archive ----

/// Which rows a caller may see at all.
#[derive(Debug, Clone)]
pub enum Scope {
    /// Senders: the requests of these matricole.
    Matricole(Vec<String>),
    /// An operatore: the quesiti of its sede.
    Sede(String),
    /// Supervisore and admin.
    All,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    UpdatedAt,
    CreatedAt,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort {
    pub key: SortKey,
    pub descending: bool,
}

/// The archive's filters, already parsed and validated. Dates are inclusive bounds turned into
/// half-open instants by the caller.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    pub matricola: Option<String>,
    /// Lower-cased; matched anywhere in the subject.
    pub subject: Option<String>,
    pub statuses: Vec<String>,
    pub ambito: Option<String>,
    pub protocollo: Option<String>,
    pub sede: Option<String>,
    /// `Some(None)`: not assigned; `Some(Some(id))`: assigned to that user.
    pub assigned: Option<Option<i32>>,
    pub opened_from: Option<DateTime<Utc>>,
    pub opened_before: Option<DateTime<Utc>>,
    pub updated_from: Option<DateTime<Utc>>,
    pub updated_before: Option<DateTime<Utc>>,
}

/// Where the previous page stopped.
#[derive(Debug, Clone)]
pub struct Cursor {
    pub at: DateTime<Utc>,
    pub id: String,
}

fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn filtered(scope: &Scope, f: &Filters) -> Select<request::Entity> {
    use request::Column as C;
    let mut cond = Condition::all();
    match scope {
        Scope::Matricole(list) => cond = cond.add(C::Matricola.is_in(list.clone())),
        Scope::Sede(s) => cond = cond.add(C::SedeCode.eq(s.clone())),
        Scope::All => {}
    }
    if let Some(m) = &f.matricola {
        cond = cond.add(C::Matricola.eq(m.clone()));
    }
    if let Some(s) = &f.subject {
        cond = cond.add(
            Expr::col(C::SubjectSearch)
                .like(sea_orm::sea_query::LikeExpr::new(format!("%{}%", escape_like(s))).escape('\\')),
        );
    }
    if !f.statuses.is_empty() {
        cond = cond.add(C::Status.is_in(f.statuses.clone()));
    }
    if let Some(a) = &f.ambito {
        cond = cond.add(C::AmbitoCode.eq(a.clone()));
    }
    if let Some(p) = &f.protocollo {
        cond = cond.add(C::Protocollo.eq(p.clone()));
    }
    if let Some(s) = &f.sede {
        cond = cond.add(C::SedeCode.eq(s.clone()));
    }
    match f.assigned {
        Some(None) => cond = cond.add(C::AssignedTo.is_null()),
        Some(Some(id)) => cond = cond.add(C::AssignedTo.eq(id)),
        None => {}
    }
    if let Some(t) = f.opened_from {
        cond = cond.add(C::CreatedAt.gte(t));
    }
    if let Some(t) = f.opened_before {
        cond = cond.add(C::CreatedAt.lt(t));
    }
    if let Some(t) = f.updated_from {
        cond = cond.add(C::UpdatedAt.gte(t));
    }
    if let Some(t) = f.updated_before {
        cond = cond.add(C::UpdatedAt.lt(t));
    }
    request::Entity::find().filter(cond)
}

/// One page of the archive and the total of matching rows. Keyset paging on (sort key, id):
/// stable under concurrent inserts, no duplicates or gaps, and as fast on page 1,000 as on page 1.
pub async fn search(
    db: &impl ConnectionTrait,
    scope: &Scope,
    filters: &Filters,
    sort: Sort,
    cursor: Option<&Cursor>,
    limit: u64,
) -> Result<(Vec<request::Model>, u64), DbErr> {
    if let Scope::Matricole(list) = scope {
        if list.is_empty() {
            return Ok((vec![], 0));
        }
    }
    let base = filtered(scope, filters);
    let total = base.clone().count(db).await?;
    let col = match sort.key {
        SortKey::UpdatedAt => request::Column::UpdatedAt,
        SortKey::CreatedAt => request::Column::CreatedAt,
    };
    let mut q = base;
    if let Some(c) = cursor {
        let after = if sort.descending {
            Condition::any()
                .add(col.lt(c.at))
                .add(Condition::all().add(col.eq(c.at)).add(request::Column::Id.lt(c.id.clone())))
        } else {
            Condition::any()
                .add(col.gt(c.at))
                .add(Condition::all().add(col.eq(c.at)).add(request::Column::Id.gt(c.id.clone())))
        };
        q = q.filter(after);
    }
    let order = if sort.descending { Order::Desc } else { Order::Asc };
    let items = q.order_by(col, order.clone()).order_by(request::Column::Id, order).limit(limit).all(db).await?;
    Ok((items, total))
}

/// Request ids among `ids` that exist (for the attachment store's orphan sweep).
pub async fn existing_ids(db: &impl ConnectionTrait, ids: Vec<String>) -> Result<Vec<String>, DbErr> {
    request::Entity::find()
        .select_only()
        .column(request::Column::Id)
        .filter(request::Column::Id.is_in(ids))
        .into_tuple::<String>()
        .all(db)
        .await
}

/// A change to a quesito's working state; `None` fields stay as they are.
#[derive(Debug, Clone, Default)]
pub struct Change {
    pub status: Option<String>,
    pub assigned_to: Option<Option<i32>>,
    pub esito: Option<(String, String)>,
    pub sede_code: Option<String>,
    pub taken_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
}

/// Applies `change` if the quesito is still at `expected_version`, bumping version and
/// `updated_at`. Returns false when someone else changed it first.
pub async fn apply_change(
    db: &impl ConnectionTrait,
    id: &str,
    expected_version: i32,
    change: Change,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    use request::Column as C;
    let mut q = request::Entity::update_many()
        .col_expr(C::Version, Expr::col(C::Version).add(1))
        .col_expr(C::UpdatedAt, Expr::value(now));
    if let Some(s) = change.status {
        q = q.col_expr(C::Status, Expr::value(s));
    }
    if let Some(a) = change.assigned_to {
        q = q.col_expr(C::AssignedTo, Expr::value(a));
    }
    if let Some((code, text)) = change.esito {
        q = q.col_expr(C::EsitoCode, Expr::value(code)).col_expr(C::EsitoText, Expr::value(text));
    }
    if let Some(s) = change.sede_code {
        q = q.col_expr(C::SedeCode, Expr::value(s));
    }
    if let Some(t) = change.taken_at {
        q = q.col_expr(C::TakenAt, Expr::value(t));
    }
    if let Some(t) = change.closed_at {
        q = q.col_expr(C::ClosedAt, Expr::value(t));
    }
    let res = q.filter(C::Id.eq(id)).filter(C::Version.eq(expected_version)).exec(db).await?;
    Ok(res.rows_affected == 1)
}
