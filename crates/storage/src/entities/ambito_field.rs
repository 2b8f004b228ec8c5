use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ambito_fields")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub ambito_code: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub name: String,
    pub label: String,
    pub field_type: String,
    pub required: bool,
    pub position: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
