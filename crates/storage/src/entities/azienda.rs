use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "aziende")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub matricola: String,
    pub codice_fiscale: String,
    pub ragione_sociale: String,
    pub sede_code: String,
    pub email: Option<String>,
    pub pec: Option<String>,
    pub mobile: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(belongs_to = "super::sede::Entity", from = "Column::SedeCode", to = "super::sede::Column::Code")]
    Sede,
}

impl Related<super::sede::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Sede.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
