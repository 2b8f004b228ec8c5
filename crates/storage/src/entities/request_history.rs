use sea_orm::entity::prelude::*;

/// One status change or rerouting of a request, with the actor's name as it was then.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "request_history")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub request_id: String,
    pub from_status: Option<String>,
    pub to_status: String,
    pub from_sede: Option<String>,
    pub to_sede: Option<String>,
    pub at: DateTimeUtc,
    pub actor_user_id: Option<i32>,
    pub actor_role: String,
    pub actor_display_name: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub comment: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
