//! The registry: sedi, aziende, users, their matricole (deleghe) and API clients.

use chrono::Utc;
use sea_orm::{
    sea_query::{Expr, Query},
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};

use crate::entities::{api_client, azienda, delega, sede, user};
use crate::requests::Holding;

// ---- sedi ----

pub async fn list_sedi(db: &impl ConnectionTrait) -> Result<Vec<sede::Model>, DbErr> {
    sede::Entity::find().order_by_asc(sede::Column::Code).all(db).await
}

pub async fn get_sede(db: &impl ConnectionTrait, code: &str) -> Result<Option<sede::Model>, DbErr> {
    sede::Entity::find_by_id(code.to_owned()).one(db).await
}

pub async fn insert_sede(db: &impl ConnectionTrait, code: &str, name: &str, pilot: bool) -> Result<sede::Model, DbErr> {
    let now = Utc::now();
    let model = sede::Model { code: code.to_owned(), name: name.to_owned(), pilot, created_at: now, updated_at: now };
    sede::Entity::insert(sede::ActiveModel::from(model.clone())).exec_without_returning(db).await?;
    Ok(model)
}

pub async fn update_sede(
    db: &impl ConnectionTrait,
    current: sede::Model,
    name: Option<&str>,
    pilot: Option<bool>,
) -> Result<sede::Model, DbErr> {
    let mut am: sede::ActiveModel = current.into();
    if let Some(n) = name {
        am.name = Set(n.to_owned());
    }
    if let Some(p) = pilot {
        am.pilot = Set(p);
    }
    am.updated_at = Set(Utc::now());
    am.update(db).await
}

// ---- aziende ----

pub async fn get_azienda(db: &impl ConnectionTrait, matricola: &str) -> Result<Option<azienda::Model>, DbErr> {
    azienda::Entity::find_by_id(matricola.to_owned()).one(db).await
}

/// The azienda of `matricola` with its competent sede, if `user_id` holds the matricola (its
/// own or by delega), in one statement. `None`: no such delega (a delega always names an
/// existing azienda).
pub async fn azienda_for_sender(
    db: &impl ConnectionTrait,
    user_id: i32,
    matricola: &str,
) -> Result<Option<(azienda::Model, Option<sede::Model>)>, DbErr> {
    azienda::Entity::find_by_id(matricola.to_owned())
        .filter(
            azienda::Column::Matricola.in_subquery(
                Query::select()
                    .column(delega::Column::Matricola)
                    .from(delega::Entity)
                    .and_where(delega::Column::UserId.eq(user_id))
                    .and_where(delega::Column::Matricola.eq(matricola))
                    .to_owned(),
            ),
        )
        .find_also_related(sede::Entity)
        .one(db)
        .await
}

/// A page of aziende, optionally of one sede, ordered by matricola.
pub async fn list_aziende(
    db: &impl ConnectionTrait,
    sede_code: Option<&str>,
    after: Option<&str>,
    limit: u64,
) -> Result<(Vec<azienda::Model>, u64), DbErr> {
    let mut base = azienda::Entity::find();
    if let Some(s) = sede_code {
        base = base.filter(azienda::Column::SedeCode.eq(s));
    }
    let total = base.clone().count(db).await?;
    let mut q = base;
    if let Some(a) = after {
        q = q.filter(azienda::Column::Matricola.gt(a));
    }
    let items = q.order_by_asc(azienda::Column::Matricola).limit(limit).all(db).await?;
    Ok((items, total))
}

pub async fn insert_azienda(db: &impl ConnectionTrait, model: azienda::Model) -> Result<azienda::Model, DbErr> {
    azienda::Entity::insert(azienda::ActiveModel::from(model.clone())).exec_without_returning(db).await?;
    Ok(model)
}

/// Writes every field of `updated` over the stored azienda with the same matricola.
pub async fn update_azienda(db: &impl ConnectionTrait, updated: azienda::Model) -> Result<azienda::Model, DbErr> {
    azienda::ActiveModel {
        matricola: sea_orm::ActiveValue::Unchanged(updated.matricola),
        codice_fiscale: Set(updated.codice_fiscale),
        ragione_sociale: Set(updated.ragione_sociale),
        sede_code: Set(updated.sede_code),
        email: Set(updated.email),
        pec: Set(updated.pec),
        mobile: Set(updated.mobile),
        created_at: sea_orm::ActiveValue::NotSet,
        updated_at: Set(Utc::now()),
    }
    .update(db)
    .await
}

/// The aziende a user may act for, with their sedi, ordered by matricola.
pub async fn aziende_of_user(
    db: &impl ConnectionTrait,
    user_id: i32,
) -> Result<Vec<(azienda::Model, Option<sede::Model>)>, DbErr> {
    let matricole = matricole_of_user(db, user_id).await?;
    azienda::Entity::find()
        .filter(azienda::Column::Matricola.is_in(matricole))
        .find_also_related(sede::Entity)
        .order_by_asc(azienda::Column::Matricola)
        .all(db)
        .await
}

// ---- users ----

pub struct NewUser<'a> {
    pub username: &'a str,
    pub password_hash: &'a str,
    pub role: &'a str,
    pub display_name: &'a str,
    pub sede_code: Option<&'a str>,
    pub email: Option<&'a str>,
    pub mobile: Option<&'a str>,
}

pub async fn insert_user(db: &impl ConnectionTrait, u: NewUser<'_>) -> Result<user::Model, DbErr> {
    let now = Utc::now();
    user::ActiveModel {
        username: Set(u.username.to_owned()),
        password_hash: Set(u.password_hash.to_owned()),
        role: Set(u.role.to_owned()),
        display_name: Set(u.display_name.to_owned()),
        sede_code: Set(u.sede_code.map(str::to_owned)),
        email: Set(u.email.map(str::to_owned)),
        mobile: Set(u.mobile.map(str::to_owned)),
        email_enabled: Set(true),
        sms_enabled: Set(true),
        active: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
}

pub async fn user_by_username(db: &impl ConnectionTrait, username: &str) -> Result<Option<user::Model>, DbErr> {
    user::Entity::find().filter(user::Column::Username.eq(username)).one(db).await
}

pub async fn user_by_id(db: &impl ConnectionTrait, id: i32) -> Result<Option<user::Model>, DbErr> {
    user::Entity::find_by_id(id).one(db).await
}

pub async fn update_preferences(
    db: &impl ConnectionTrait,
    current: user::Model,
    email: Option<String>,
    mobile: Option<String>,
    email_enabled: bool,
    sms_enabled: bool,
) -> Result<user::Model, DbErr> {
    let mut am: user::ActiveModel = current.into();
    am.email = Set(email);
    am.mobile = Set(mobile);
    am.email_enabled = Set(email_enabled);
    am.sms_enabled = Set(sms_enabled);
    am.updated_at = Set(Utc::now());
    am.update(db).await
}

pub async fn set_password_hash(
    db: &impl ConnectionTrait,
    current: user::Model,
    hash: &str,
) -> Result<user::Model, DbErr> {
    let mut am: user::ActiveModel = current.into();
    am.password_hash = Set(hash.to_owned());
    am.updated_at = Set(Utc::now());
    am.update(db).await
}

// ---- deleghe ----

pub async fn matricole_of_user(db: &impl ConnectionTrait, user_id: i32) -> Result<Vec<String>, DbErr> {
    delega::Entity::find()
        .select_only()
        .column(delega::Column::Matricola)
        .filter(delega::Column::UserId.eq(user_id))
        .order_by_asc(delega::Column::Matricola)
        .into_tuple::<String>()
        .all(db)
        .await
}

/// How many matricole `user_id` holds, of how many the registry has (one round trip).
pub async fn holding(db: &impl ConnectionTrait, user_id: i32) -> Result<Holding, DbErr> {
    let both = Query::select()
        .expr_as(Expr::cust_with_values("(SELECT COUNT(*) FROM deleghe WHERE user_id = $1)", [user_id]), "mine")
        .expr_as(Expr::cust("(SELECT COUNT(*) FROM aziende)"), "registry")
        .to_owned();
    let row = db.query_one(&both).await?.ok_or_else(|| DbErr::RecordNotFound("holding".into()))?;
    let count = |name: &str| row.try_get::<i64>("", name).map(|n| n.max(0) as u64);
    Ok(Holding { matricole: count("mine")?, of: count("registry")? })
}

pub async fn has_matricola(db: &impl ConnectionTrait, user_id: i32, matricola: &str) -> Result<bool, DbErr> {
    Ok(delega::Entity::find_by_id((user_id, matricola.to_owned())).one(db).await?.is_some())
}

pub async fn insert_delega(db: &impl ConnectionTrait, user_id: i32, matricola: &str) -> Result<(), DbErr> {
    delega::Entity::insert(delega::ActiveModel {
        user_id: Set(user_id),
        matricola: Set(matricola.to_owned()),
        created_at: Set(Utc::now()),
    })
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// Returns whether a row was removed.
pub async fn delete_delega(db: &impl ConnectionTrait, user_id: i32, matricola: &str) -> Result<bool, DbErr> {
    let res = delega::Entity::delete_by_id((user_id, matricola.to_owned())).exec(db).await?;
    Ok(res.rows_affected > 0)
}

// ---- API clients ----

pub async fn insert_api_client(
    db: &impl ConnectionTrait,
    client_id: &str,
    secret_hash: &str,
    name: &str,
    user_id: i32,
) -> Result<api_client::Model, DbErr> {
    api_client::ActiveModel {
        client_id: Set(client_id.to_owned()),
        secret_hash: Set(secret_hash.to_owned()),
        name: Set(name.to_owned()),
        user_id: Set(user_id),
        created_at: Set(Utc::now()),
        revoked_at: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await
}

pub async fn api_client_by_client_id(
    db: &impl ConnectionTrait,
    client_id: &str,
) -> Result<Option<api_client::Model>, DbErr> {
    api_client::Entity::find()
        .filter(api_client::Column::ClientId.eq(client_id))
        .filter(api_client::Column::RevokedAt.is_null())
        .one(db)
        .await
}

/// `SELECT user_id FROM deleghe WHERE matricola = …`: the users holding `matricola`, as a
/// subquery.
pub fn holders_of(matricola: &str) -> sea_orm::sea_query::SelectStatement {
    Query::select()
        .column(delega::Column::UserId)
        .from(delega::Entity)
        .and_where(delega::Column::Matricola.eq(matricola))
        .to_owned()
}

/// The active users of role `role` that may act for `matricola`.
pub async fn users_for_matricola(
    db: &impl ConnectionTrait,
    matricola: &str,
    role: &str,
) -> Result<Vec<user::Model>, DbErr> {
    // One statement: the users holding a delega for the matricola, read through a subquery.
    user::Entity::find()
        .filter(user::Column::Id.in_subquery(holders_of(matricola)))
        .filter(user::Column::Role.eq(role))
        .filter(user::Column::Active.eq(true))
        .order_by_asc(user::Column::Id)
        .all(db)
        .await
}
