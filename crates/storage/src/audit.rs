//! The append-only audit log: who did what, when, to which record.

use chrono::Utc;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QueryTrait,
};

use crate::batch::Batch;
use crate::entities::audit_log;

/// Who acts; `user_id` is `None` for the system (CLI, seed).
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: Option<i32>,
    pub username: String,
    pub role: String,
    pub display_name: String,
}

impl Actor {
    pub fn system() -> Self {
        Self { user_id: None, username: "sistema".into(), role: "sistema".into(), display_name: "Sistema".into() }
    }
}

/// Appends one entry; call it inside the transaction of the change it records.
pub async fn record(
    db: &impl ConnectionTrait,
    actor: &Actor,
    action: &str,
    entity: &str,
    entity_id: &str,
    detail: serde_json::Value,
) -> Result<(), DbErr> {
    let mut batch = Batch::new(db.get_database_backend());
    record_into(&mut batch, actor, action, entity, entity_id, detail);
    batch.run(db).await
}

/// Adds one entry to `batch`, to run in the transaction of the change it records.
pub fn record_into(
    batch: &mut Batch,
    actor: &Actor,
    action: &str,
    entity: &str,
    entity_id: &str,
    detail: serde_json::Value,
) {
    let backend = batch.backend();
    batch.push(
        audit_log::Entity::insert(audit_log::ActiveModel {
            at: Set(Utc::now()),
            actor_user_id: Set(actor.user_id),
            actor_username: Set(actor.username.clone()),
            actor_role: Set(actor.role.clone()),
            action: Set(action.to_owned()),
            entity: Set(entity.to_owned()),
            entity_id: Set(entity_id.to_owned()),
            detail: Set(detail.to_string()),
            ..Default::default()
        })
        .build(backend),
    );
}

/// The entries of one record, oldest first.
pub async fn for_entity(
    db: &impl ConnectionTrait,
    entity: &str,
    entity_id: &str,
) -> Result<Vec<audit_log::Model>, DbErr> {
    audit_log::Entity::find()
        .filter(audit_log::Column::Entity.eq(entity))
        .filter(audit_log::Column::EntityId.eq(entity_id))
        .order_by_asc(audit_log::Column::Id)
        .all(db)
        .await
}
