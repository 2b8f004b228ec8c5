//! What a send needs of the registry — the caller's user, its delega with the azienda and sede,
//! who hears of the matricola's events — the names of the sedi an archive page shows and how
//! many matricole its sender holds (`requests::Holding`), kept
//! in memory between requests and checked against
//! the registry's version number (migration 8) at every request.
//!
//! Every change to the tables these come from raises the version in its own transaction (by
//! trigger), so a request that reads the version after the change's commit finds the entries
//! of an older version gone and reads afresh: a deactivated user, a revoked delega, a changed
//! preference or a new webhook take effect at the very next request, on every instance, as
//! without the cache. An entry is tagged with the version read *before* it, so an entry read
//! while a change was committing is at worst newer than its tag, and is dropped at the next
//! version anyway. A request then costs one read of the registry (the version) instead of four;
//! a send by a cached user, none of its own: its write reads the version with its protocol
//! number and starts again if the version moved (`Sending` in the API's `auth`).

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

use sea_orm::{ConnectionTrait, DbErr, Statement};

use crate::entities::{azienda, sede, user, webhook};
use crate::requests::Holding;
use crate::{registry, webhooks};

/// Entries kept per kind at most; past it the kind starts again empty.
pub const MAX_ENTRIES: usize = 50_000;

type Sender = Option<(azienda::Model, Option<sede::Model>)>;

#[derive(Default)]
struct Entries {
    version: i64,
    users: HashMap<i32, Option<user::Model>>,
    senders: HashMap<(i32, String), Sender>,
    holders: HashMap<String, Vec<user::Model>>,
    hooks: HashMap<(String, String), Vec<webhook::Model>>,
    holdings: HashMap<i32, Holding>,
    /// Every sede's name by code (one entry, under the key `()`).
    sede_names: HashMap<(), Arc<HashMap<String, String>>>,
}

impl Entries {
    /// The entries of `version`: all of them are dropped when it is another one (newer, or
    /// older: a request that read the version just before a change, or a database restored
    /// from a backup).
    fn at(&mut self, version: i64) -> &mut Self {
        if version != self.version {
            *self = Entries { version, ..Default::default() };
        }
        self
    }
}

/// The cache of one process (one per `AppState`).
#[derive(Default)]
pub struct RegistryCache {
    entries: Mutex<Entries>,
}

/// The registry's version now.
pub async fn version(db: &impl ConnectionTrait) -> Result<i64, DbErr> {
    let stmt = Statement::from_string(db.get_database_backend(), "SELECT version FROM registry_version WHERE id = 1");
    let row = db.query_one_raw(stmt).await?.ok_or_else(|| DbErr::RecordNotFound("registry_version".into()))?;
    row.try_get_by_index::<i64>(0)
}

impl RegistryCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn cached<K, V, Fut>(
        &self,
        version: i64,
        kind: fn(&mut Entries) -> &mut HashMap<K, V>,
        key: K,
        read: Fut,
    ) -> Result<V, DbErr>
    where
        K: Hash + Eq,
        V: Clone,
        Fut: std::future::Future<Output = Result<V, DbErr>>,
    {
        if let Some(v) = kind(self.lock().at(version)).get(&key) {
            return Ok(v.clone());
        }
        let value = read.await?;
        let mut entries = self.lock();
        let map = kind(entries.at(version));
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
        map.insert(key, value.clone());
        Ok(value)
    }

    /// The user `id` as the cache holds it, with the version it is held under, without reading
    /// the database: what a caller may be taken for until that version is read again (see
    /// `Reader` in the API's `auth`). `None` when the cache does not hold it.
    pub fn peek_user(&self, id: i32) -> Option<(i64, Option<user::Model>)> {
        let entries = self.lock();
        entries.users.get(&id).map(|u| (entries.version, u.clone()))
    }

    /// [`registry::user_by_id`], under `version`.
    pub async fn user(&self, db: &impl ConnectionTrait, version: i64, id: i32) -> Result<Option<user::Model>, DbErr> {
        self.cached(version, |e| &mut e.users, id, registry::user_by_id(db, id)).await
    }

    /// [`registry::azienda_for_sender`], under `version`.
    pub async fn sender(
        &self,
        db: &impl ConnectionTrait,
        version: i64,
        user_id: i32,
        matricola: &str,
    ) -> Result<Sender, DbErr> {
        let read = registry::azienda_for_sender(db, user_id, matricola);
        self.cached(version, |e| &mut e.senders, (user_id, matricola.to_owned()), read).await
    }

    /// [`registry::users_for_matricola`] of the aziende's users, under `version`.
    pub async fn holders(
        &self,
        db: &impl ConnectionTrait,
        version: i64,
        matricola: &str,
    ) -> Result<Vec<user::Model>, DbErr> {
        let read = registry::users_for_matricola(db, matricola, "azienda");
        self.cached(version, |e| &mut e.holders, matricola.to_owned(), read).await
    }

    /// [`webhooks::subscribed`], under `version`.
    pub async fn hooks(
        &self,
        db: &impl ConnectionTrait,
        version: i64,
        matricola: &str,
        event: &str,
    ) -> Result<Vec<webhook::Model>, DbErr> {
        let read = webhooks::subscribed(db, matricola, event);
        self.cached(version, |e| &mut e.hooks, (matricola.to_owned(), event.to_owned()), read).await
    }

    /// [`registry::holding`], under `version`.
    pub async fn holding(&self, db: &impl ConnectionTrait, version: i64, user_id: i32) -> Result<Holding, DbErr> {
        self.cached(version, |e| &mut e.holdings, user_id, registry::holding(db, user_id)).await
    }

    /// Every sede's name by code ([`registry::list_sedi`]), under `version`: an archive page
    /// names the sede of each row without a read of its own.
    pub async fn sede_names(
        &self,
        db: &impl ConnectionTrait,
        version: i64,
    ) -> Result<Arc<HashMap<String, String>>, DbErr> {
        let read = async {
            let sedi = registry::list_sedi(db).await?;
            Ok(Arc::new(sedi.into_iter().map(|s| (s.code, s.name)).collect()))
        };
        self.cached(version, |e| &mut e.sede_names, (), read).await
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    async fn migrated() -> (tempfile::TempDir, sea_orm::DatabaseConnection) {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::connect(&format!("sqlite://{}/r.db", dir.path().display())).await.unwrap();
        crate::migrate(&db).await.unwrap();
        (dir, db)
    }

    /// Inserting, updating and deleting in each table the cache depends on raises the version.
    #[tokio::test]
    async fn every_change_to_the_registry_raises_its_version() {
        let (_dir, db) = migrated().await;
        let t = "'2026-11-27T10:00:00Z'";
        let changes = [
            format!(
                "INSERT INTO sedi (code, name, pilot, created_at, updated_at) VALUES ('9999', 'Prova', 1, {t}, {t})"
            ),
            format!(
                "INSERT INTO aziende (matricola, codice_fiscale, ragione_sociale, sede_code, created_at, updated_at) \
                 VALUES ('9999000011', '01234567897', 'Prova srl', '9999', {t}, {t})"
            ),
            format!(
                "INSERT INTO users (id, username, password_hash, role, display_name, email_enabled, sms_enabled, \
                 active, created_at, updated_at) VALUES (900, 'prova', 'x', 'azienda', 'Prova', 1, 0, 1, {t}, {t})"
            ),
            format!("INSERT INTO deleghe (user_id, matricola, created_at) VALUES (900, '9999000011', {t})"),
            format!(
                "INSERT INTO api_clients (id, client_id, secret_hash, name, user_id, created_at) \
                 VALUES (900, 'c', 'x', 'Paghe', 900, {t})"
            ),
            format!(
                "INSERT INTO webhooks (id, api_client_id, url, events, secret, active, created_at) \
                 VALUES (900, 900, 'http://127.0.0.1/h', 'registered', 's', 1, {t})"
            ),
            "UPDATE webhooks SET active = 0".into(),
            "UPDATE api_clients SET revoked_at = '2026-11-27T11:00:00Z'".into(),
            "UPDATE users SET email = 'p@example.it' WHERE id = 900".into(),
            "UPDATE aziende SET email = 'a@example.it'".into(),
            "UPDATE sedi SET pilot = 0 WHERE code = '9999'".into(),
            "DELETE FROM webhooks".into(),
            "DELETE FROM api_clients".into(),
            "DELETE FROM deleghe".into(),
            "DELETE FROM users WHERE id = 900".into(),
            "DELETE FROM aziende".into(),
            "DELETE FROM sedi WHERE code = '9999'".into(),
        ];
        let mut last = version(&db).await.unwrap();
        for sql in changes {
            db.execute_unprepared(&sql).await.unwrap();
            let now = version(&db).await.unwrap();
            assert!(now > last, "{sql}: version {last} → {now}");
            last = now;
        }
        // Other tables leave it alone.
        db.execute_unprepared("UPDATE ambiti SET label = label").await.unwrap();
        assert_eq!(version(&db).await.unwrap(), last);
    }

    /// An entry is served only under the version it was read under.
    #[tokio::test]
    async fn an_entry_is_read_again_under_another_version() {
        use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
        let cache = RegistryCache::default();
        let reads = AtomicUsize::new(0);
        let read = || async {
            reads.fetch_add(1, SeqCst);
            Ok(None)
        };

        for version in [1, 1, 1, 2, 2, 1] {
            cache.cached(version, |e| &mut e.users, 7, read()).await.unwrap();
        }

        // Version 1, again at 2, again at 1 (another version than the one kept).
        assert_eq!(reads.load(SeqCst), 3);
    }
}
