//! The catalogue of ambiti and their detail fields.

use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};

use crate::entities::{ambito, ambito_field};

/// Every active ambito with its fields, in catalogue order.
pub async fn list(db: &impl ConnectionTrait) -> Result<Vec<(ambito::Model, Vec<ambito_field::Model>)>, DbErr> {
    let ambiti = ambito::Entity::find()
        .filter(ambito::Column::Active.eq(true))
        .order_by_asc(ambito::Column::Position)
        .all(db)
        .await?;
    let fields = ambito_field::Entity::find().order_by_asc(ambito_field::Column::Position).all(db).await?;
    Ok(ambiti
        .into_iter()
        .map(|a| {
            let own = fields.iter().filter(|f| f.ambito_code == a.code).cloned().collect();
            (a, own)
        })
        .collect())
}

/// One active ambito with its fields.
pub async fn get(
    db: &impl ConnectionTrait,
    code: &str,
) -> Result<Option<(ambito::Model, Vec<ambito_field::Model>)>, DbErr> {
    let Some(a) = ambito::Entity::find_by_id(code.to_owned()).filter(ambito::Column::Active.eq(true)).one(db).await?
    else {
        return Ok(None);
    };
    let fields = ambito_field::Entity::find()
        .filter(ambito_field::Column::AmbitoCode.eq(code))
        .order_by_asc(ambito_field::Column::Position)
        .all(db)
        .await?;
    Ok(Some((a, fields)))
}
