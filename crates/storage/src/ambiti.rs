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

type Catalogue = std::collections::HashMap<String, (ambito::Model, Vec<ambito_field::Model>)>;

/// The active catalogue kept in memory for a short while: it changes only with a migration
/// (the API has no endpoint that edits it), and every send reads it. A change made in the
/// database by hand shows within [`Cached::TTL`].
#[derive(Default)]
pub struct Cached {
    inner: tokio::sync::RwLock<Option<(std::time::Instant, std::sync::Arc<Catalogue>)>>,
}

impl Cached {
    pub const TTL: std::time::Duration = std::time::Duration::from_secs(60);

    /// One active ambito with its fields, as [`get`], from the cached catalogue.
    pub async fn get(
        &self,
        db: &impl ConnectionTrait,
        code: &str,
    ) -> Result<Option<(ambito::Model, Vec<ambito_field::Model>)>, DbErr> {
        let fresh = |at: &std::time::Instant| at.elapsed() < Self::TTL;
        if let Some((at, cat)) = self.inner.read().await.as_ref() {
            if fresh(at) {
                return Ok(cat.get(code).cloned());
            }
        }
        let cat: std::sync::Arc<Catalogue> =
            std::sync::Arc::new(list(db).await?.into_iter().map(|(a, f)| (a.code.clone(), (a, f))).collect());
        *self.inner.write().await = Some((std::time::Instant::now(), cat.clone()));
        Ok(cat.get(code).cloned())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    /// The cache answers like [`get`] and, within its lifetime, without reading the database
    /// again: a change made meanwhile shows only after [`Cached::TTL`].
    #[tokio::test]
    async fn the_cached_catalogue_answers_like_the_database_and_reads_it_once() {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::connect(&format!("sqlite://{}/t.db", dir.path().display())).await.unwrap();
        crate::migrate(&db).await.unwrap();
        let cache = Cached::default();

        let direct = get(&db, "REGOLARITA_CONTRIBUTIVA").await.unwrap().expect("seeded ambito");
        let cached = cache.get(&db, "REGOLARITA_CONTRIBUTIVA").await.unwrap().expect("cached ambito");
        assert_eq!(cached.0, direct.0);
        assert_eq!(cached.1, direct.1);
        assert!(!cached.1.is_empty(), "Regolarità contributiva has its period fields");
        assert!(cache.get(&db, "NON_ESISTE").await.unwrap().is_none());

        db.execute_unprepared("UPDATE ambiti SET active = false WHERE code = 'REGOLARITA_CONTRIBUTIVA'").await.unwrap();
        assert!(get(&db, "REGOLARITA_CONTRIBUTIVA").await.unwrap().is_none());
        assert!(cache.get(&db, "REGOLARITA_CONTRIBUTIVA").await.unwrap().is_some(), "served from memory");
    }
}
