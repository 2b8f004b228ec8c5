//! Passwords (argon2), tokens (HS256 JWT) and the `Caller` extractor that every protected
//! handler takes, so a handler's signature says that it needs a signed-in user.

use std::future::Future;
use std::pin::Pin;

use actix_web::{dev::Payload, web, FromRequest, HttpRequest};
use anyhow::Context;
use argon2::{password_hash::SaltString, Argon2, PasswordHash, PasswordHasher, PasswordVerifier};
use cassetto_domain::Role;
use cassetto_storage::{audit::Actor, entities::user, registry};
use chrono::Utc;
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Hashes a password with argon2id on a blocking thread.
pub async fn hash_password(password: String) -> ApiResult<String> {
    web::block(move || {
        let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("argon2: {e}"))
    })
    .await
    .context("hash thread")?
    .map_err(ApiError::Internal)
}

/// A hash of a random password, used to spend the same time when the user does not exist.
fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| {
        let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
        Argon2::default()
            .hash_password(uuid::Uuid::new_v4().as_bytes(), &salt)
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

/// Verifies a password on a blocking thread; `None` hash spends the same time and fails.
pub async fn verify_password(password: String, hash: Option<String>) -> ApiResult<bool> {
    web::block(move || {
        let known = hash.is_some();
        let h = hash.unwrap_or_else(|| dummy_hash().to_owned());
        let ok = PasswordHash::new(&h)
            .map(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
            .unwrap_or(false);
        known && ok
    })
    .await
    .map_err(|e| ApiError::Internal(anyhow::anyhow!("verify thread: {e}")))
}

/// `sha256:<hex>` of a high-entropy API client secret.
pub fn hash_client_secret(secret: &str) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(secret.as_bytes())))
}

pub fn client_secret_matches(secret: &str, stored: &str) -> bool {
    let computed = hash_client_secret(secret);
    // Constant-time comparison of equal-length strings.
    computed.len() == stored.len() && computed.bytes().zip(stored.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    /// The user id.
    pub sub: String,
    pub role: Role,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    /// The API client the token was issued to, for payroll software.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cid: Option<String>,
}

pub fn issue_token(state: &AppState, user: &user::Model, role: Role, client_id: Option<String>) -> ApiResult<String> {
    let now = Utc::now().timestamp();
    let claims = Claims {
        sub: user.id.to_string(),
        role,
        iat: now,
        exp: now + state.settings.token_ttl_s as i64,
        jti: uuid::Uuid::new_v4().to_string(),
        cid: client_id,
    };
    encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(&state.settings.jwt_secret))
        .context("signing token")
        .map_err(ApiError::Internal)
}

fn decode_token(state: &AppState, token: &str) -> Result<Claims, ApiError> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = 5;
    validation.set_required_spec_claims(&["exp", "sub"]);
    decode::<Claims>(token, &DecodingKey::from_secret(&state.settings.jwt_secret), &validation)
        .map(|d| d.claims)
        .map_err(|e| {
            use jsonwebtoken::errors::ErrorKind;
            match e.kind() {
                ErrorKind::ExpiredSignature => ApiError::Unauthorized("il token è scaduto: accedere di nuovo".into()),
                _ => ApiError::Unauthorized("il token non è valido".into()),
            }
        })
}

/// The signed-in user of a request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: user::Model,
    pub role: Role,
    pub client_id: Option<String>,
    /// The registry's version read when the request was authenticated (see
    /// `cassetto_storage::registry_cache`); `None` for a caller built otherwise.
    pub registry_version: Option<i64>,
    /// True when the caller was taken from the registry cache without reading the registry's
    /// version (see [`Sending`]): `registry_version` is then the cache's, and a write that
    /// relies on it must find that version still current, or start again with
    /// [`Caller::authenticated_again`].
    pub unconfirmed: bool,
}

impl Caller {
    /// A caller for a stored user.
    pub async fn load(_db: &impl cassetto_storage::ConnectionTrait, user: user::Model) -> ApiResult<Self> {
        let role = Role::parse(&user.role).map_err(|e| ApiError::Internal(anyhow::anyhow!("stored role: {e}")))?;
        Ok(Caller { user, role, client_id: None, registry_version: None, unconfirmed: false })
    }

    /// The same caller authenticated now, as [`Caller`]'s extractor does: the registry's version
    /// read, the user as of that version, still active and in the same role.
    pub async fn authenticated_again(&self, state: &AppState) -> ApiResult<Caller> {
        authenticate_as(state, self.user.id, self.role, self.client_id.clone()).await
    }

    /// The matricole an azienda or intermediario may act for now (none for INPS roles).
    pub async fn matricole(&self, db: &impl cassetto_storage::ConnectionTrait) -> ApiResult<Vec<String>> {
        if self.role.is_sender() {
            Ok(registry::matricole_of_user(db, self.user.id).await?)
        } else {
            Ok(vec![])
        }
    }

    pub fn actor(&self) -> Actor {
        Actor {
            user_id: Some(self.user.id),
            username: self.user.username.clone(),
            role: self.role.as_str().to_owned(),
            display_name: self.user.display_name.clone(),
        }
    }

    /// Refuses callers whose role is not among `roles`.
    pub fn require(&self, roles: &[Role]) -> ApiResult<()> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            Err(ApiError::forbidden())
        }
    }

    /// True when the caller is a sender holding `matricola` (its own or by delega), now.
    pub async fn may_act_for(&self, db: &impl cassetto_storage::ConnectionTrait, matricola: &str) -> ApiResult<bool> {
        Ok(self.role.is_sender() && registry::has_matricola(db, self.user.id, matricola).await?)
    }
}

/// The bearer token of a request, its signature and expiry checked; no database read.
fn bearer_claims(state: &AppState, header: Option<String>) -> ApiResult<Claims> {
    let header = header.ok_or_else(|| {
        ApiError::Unauthorized("autenticazione necessaria: inviare l'intestazione Authorization: Bearer <token>".into())
    })?;
    let token = header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::Unauthorized("l'intestazione Authorization deve essere «Bearer <token>»".into()))?;
    decode_token(state, token)
}

fn user_id(claims: &Claims) -> ApiResult<i32> {
    claims.sub.parse().map_err(|_| ApiError::Unauthorized("il token non è valido".into()))
}

/// The caller signed in as `role` (for the API client `client_id`), given its user as the
/// registry held it at `version`.
fn caller_at(role: Role, client_id: Option<String>, user: Option<user::Model>, version: i64) -> ApiResult<Caller> {
    let user = user
        .filter(|u| u.active)
        .ok_or_else(|| ApiError::Unauthorized("l'utente del token non è più attivo".into()))?;
    let stored = Role::parse(&user.role).map_err(|e| ApiError::Internal(anyhow::anyhow!("stored role: {e}")))?;
    if stored != role {
        return Err(ApiError::Unauthorized("il ruolo dell'utente è cambiato: accedere di nuovo".into()));
    }
    Ok(Caller { user, role, client_id, registry_version: Some(version), unconfirmed: false })
}

/// The caller of `claims` now (see [`authenticate_as`]).
async fn authenticate(state: &AppState, claims: &Claims) -> ApiResult<Caller> {
    authenticate_as(state, user_id(claims)?, claims.role, claims.cid.clone()).await
}

/// The user `id` signed in as `role` (for the API client `client_id`), now: one read per
/// request, the registry's version; the user comes from the cache unless something in the
/// registry changed since it was read.
async fn authenticate_as(state: &AppState, id: i32, role: Role, client_id: Option<String>) -> ApiResult<Caller> {
    let version = cassetto_storage::registry_cache::version(&state.db).await?;
    let user = state.registry.user(&state.db, version, id).await?;
    caller_at(role, client_id, user, version)
}

fn authorization(req: &HttpRequest) -> Option<String> {
    req.headers().get(actix_web::http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let header = authorization(req);
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::Internal(anyhow::anyhow!("state missing")))?;
            let claims = bearer_claims(&state, header)?;
            authenticate(&state, &claims).await
        })
    }
}

/// The signed-in user of a read-only request that reads the database anyway (the archives):
/// the registry's version is read *while* the request's own reads run, instead of before them.
///
/// The caller is first taken for the user the registry cache holds, under the version the
/// cache holds it at; [`Reader::run`] then reads the version alongside the work, and gives the
/// work's answer only if that version is still the one: no change to the registry (a
/// deactivated user, a new role, a revoked delega) was committed before the version was read,
/// which is what [`Caller`] promises too. Otherwise — or when the cache does not hold the user —
/// the caller is authenticated as [`Caller`] does and the work is done again. A request thus
/// costs the time of its own reads, not one more round trip to the database before them.
pub struct Reader {
    claims: Claims,
    cached: Option<Caller>,
}

/// The claims of a request's token, and the caller the registry cache holds for them (if it
/// holds the user, and the user may sign in as the token says), without reading the database.
fn claims_and_cached(req: &HttpRequest) -> ApiResult<(Claims, Option<Caller>)> {
    let state =
        req.app_data::<web::Data<AppState>>().ok_or_else(|| ApiError::Internal(anyhow::anyhow!("state missing")))?;
    let claims = bearer_claims(state, authorization(req))?;
    let cached = state
        .registry
        .peek_user(user_id(&claims)?)
        .and_then(|(version, user)| caller_at(claims.role, claims.cid.clone(), user, version).ok());
    Ok((claims, cached))
}

impl FromRequest for Reader {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(claims_and_cached(req).map(|(claims, cached)| Reader { claims, cached }))
    }
}

impl Reader {
    /// Runs `work` for the caller (see [`Reader`]); `work` reads, and may run twice.
    pub async fn run<T, F, Fut>(self, state: &AppState, work: F) -> ApiResult<T>
    where
        F: Fn(Caller) -> Fut,
        Fut: Future<Output = ApiResult<T>>,
    {
        if let Some(caller) = self.cached {
            let taken_at = caller.registry_version;
            let (now, answer) = tokio::join!(cassetto_storage::registry_cache::version(&state.db), work(caller));
            if Some(now?) == taken_at {
                return answer;
            }
        }
        work(authenticate(state, &self.claims).await?).await
    }
}

/// The signed-in user of a send, whose write confirms the registry's version itself.
///
/// A send reads the registry's version anyway, inside its write transaction and in the same
/// statement as its protocol number (`cassetto_storage::requests::next_protocol_number`). So
/// the caller is taken for the user the registry cache holds, under the version the cache holds
/// it at ([`Caller::unconfirmed`]), with no read of the database before the work; the write then
/// goes ahead only if the version it reads is still that one — no change to the registry (a
/// deactivated user, a revoked delega, a sede no longer enabled) committed since — and is
/// otherwise undone and done again for the caller authenticated afresh. When the cache does not
/// hold the user, the caller is authenticated as [`Caller`] does.
pub struct Sending {
    claims: Claims,
    cached: Option<Caller>,
}

impl FromRequest for Sending {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(claims_and_cached(req).map(|(claims, cached)| Sending { claims, cached }))
    }
}

impl Sending {
    /// The caller: from the cache, unconfirmed, or authenticated now.
    pub async fn caller(self, state: &AppState) -> ApiResult<Caller> {
        match self.cached {
            Some(caller) => Ok(Caller { unconfirmed: true, ..caller }),
            None => authenticate(state, &self.claims).await,
        }
    }
}
