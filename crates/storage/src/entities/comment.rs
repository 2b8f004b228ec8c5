use sea_orm::entity::prelude::*;

/// A comment on a request: public (the sender sees it) or internal to INPS.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "comments")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub request_id: String,
    #[sea_orm(column_type = "Text")]
    pub body: String,
    pub internal: bool,
    pub author_user_id: Option<i32>,
    pub author_role: String,
    pub author_display_name: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
