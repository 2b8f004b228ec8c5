//! Webhooks of API clients.

use chrono::Utc;
use sea_orm::{
    sea_query::Query, ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait,
    QueryFilter, QueryOrder,
};

use crate::entities::{api_client, webhook};

pub async fn insert(
    db: &impl ConnectionTrait,
    api_client_id: i32,
    url: &str,
    events: &str,
    secret: &str,
) -> Result<webhook::Model, DbErr> {
    webhook::ActiveModel {
        api_client_id: Set(api_client_id),
        url: Set(url.to_owned()),
        events: Set(events.to_owned()),
        secret: Set(secret.to_owned()),
        active: Set(true),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await
}

pub async fn of_client(db: &impl ConnectionTrait, api_client_id: i32) -> Result<Vec<webhook::Model>, DbErr> {
    webhook::Entity::find()
        .filter(webhook::Column::ApiClientId.eq(api_client_id))
        .filter(webhook::Column::Active.eq(true))
        .order_by_asc(webhook::Column::Id)
        .all(db)
        .await
}

pub async fn get(db: &impl ConnectionTrait, id: i32) -> Result<Option<webhook::Model>, DbErr> {
    webhook::Entity::find_by_id(id).filter(webhook::Column::Active.eq(true)).one(db).await
}

pub async fn deactivate(db: &impl ConnectionTrait, id: i32) -> Result<(), DbErr> {
    webhook::Entity::update_many()
        .col_expr(webhook::Column::Active, sea_orm::sea_query::Expr::value(false))
        .filter(webhook::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// The active webhooks that want `event` about `matricola`: those of API clients whose owner
/// may act for it.
pub async fn subscribed(db: &impl ConnectionTrait, matricola: &str, event: &str) -> Result<Vec<webhook::Model>, DbErr> {
    // One statement: the owners and their live clients are read through subqueries.
    let clients = Query::select()
        .column(api_client::Column::Id)
        .from(api_client::Entity)
        .and_where(api_client::Column::UserId.in_subquery(crate::registry::holders_of(matricola)))
        .and_where(api_client::Column::RevokedAt.is_null())
        .to_owned();
    let hooks = webhook::Entity::find()
        .filter(webhook::Column::ApiClientId.in_subquery(clients))
        .filter(webhook::Column::Active.eq(true))
        .all(db)
        .await?;
    Ok(hooks.into_iter().filter(|h| h.events.split(',').any(|e| e == event)).collect())
}

/// Secrets of the given webhooks (for signing a batch of deliveries).
pub async fn secrets(db: &impl ConnectionTrait, ids: Vec<i32>) -> Result<Vec<(i32, String)>, DbErr> {
    Ok(webhook::Entity::find()
        .filter(webhook::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|w| (w.id, w.secret))
        .collect())
}
