use sea_orm::entity::prelude::*;

/// The last progressive given by the protocol register of a sede in a year.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "protocol_counters")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub sede_code: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub year: i32,
    pub last_value: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
