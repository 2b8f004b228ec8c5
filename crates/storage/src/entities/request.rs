use sea_orm::entity::prelude::*;

/// A request as the sender sees it and the quesito the sede works: one row, one id.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "requests")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub protocollo: String,
    pub sede_code: String,
    pub matricola: String,
    pub ambito_code: String,
    pub subject: String,
    pub subject_search: String,
    #[sea_orm(column_type = "Text")]
    pub body: String,
    #[sea_orm(column_type = "Text")]
    pub details: String,
    pub status: String,
    pub esito_code: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub esito_text: Option<String>,
    pub created_by: i32,
    pub assigned_to: Option<i32>,
    pub version: i32,
    pub attachment_count: i32,
    pub bundle_sha256: Option<String>,
    pub bundle_size: Option<i64>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub taken_at: Option<DateTimeUtc>,
    pub closed_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
