//! Registry operations shared by the admin endpoints, the CLI (`cassetto user add`) and the demo
//! seed, so that each rule is written once.

use cassetto_domain::{CodiceFiscale, Matricola, Mobile, Role, SedeCode, Username};
use cassetto_dto::registry as dto;
use cassetto_storage::{
    audit::{self, Actor},
    entities::{azienda, sede, user},
    is_unique_violation, registry, ConnectionTrait, DatabaseConnection,
};
use chrono::Utc;
use rand::RngCore;
use validator::Validate;

use crate::auth::{hash_client_secret, hash_password};
use crate::error::{ApiError, ApiResult, FieldErrors};

pub fn sede_dto(s: sede::Model) -> dto::Sede {
    dto::Sede { code: s.code, name: s.name, pilot: s.pilot }
}

pub fn azienda_dto(a: azienda::Model) -> dto::Azienda {
    dto::Azienda {
        matricola: a.matricola,
        codice_fiscale: a.codice_fiscale,
        ragione_sociale: a.ragione_sociale,
        sede: a.sede_code,
        email: a.email,
        pec: a.pec,
        mobile: a.mobile,
    }
}

pub fn user_dto(u: user::Model, role: Role, matricole: Vec<String>) -> dto::User {
    dto::User {
        id: u.id,
        username: u.username,
        role,
        display_name: u.display_name,
        sede: u.sede_code,
        email: u.email,
        mobile: u.mobile,
        matricole,
    }
}

pub async fn create_sede(db: &DatabaseConnection, actor: &Actor, input: dto::Sede) -> ApiResult<dto::Sede> {
    let mut errs = FieldErrors::default();
    let code = errs.parse("code", &input.code, SedeCode::parse);
    let name = input.name.trim().to_owned();
    if !(2..=120).contains(&name.chars().count()) {
        errs.push("name", "il nome della sede deve avere da 2 a 120 caratteri");
    }
    errs.into_result()?;
    let code = code.map(SedeCode::into_inner).unwrap_or_default();
    let txn = cassetto_storage::begin_write(db).await?;
    let created = registry::insert_sede(&txn, &code, &name, input.pilot).await.map_err(|e| {
        if is_unique_violation(&e) {
            ApiError::Conflict(format!("la sede {code} esiste già"))
        } else {
            e.into()
        }
    })?;
    audit::record(&txn, actor, "sede.create", "sede", &code, serde_json::json!({"name": name, "pilot": input.pilot}))
        .await?;
    txn.commit().await?;
    Ok(sede_dto(created))
}

/// Parses and checks an azienda; the sede must exist.
async fn parse_azienda(db: &impl ConnectionTrait, input: &dto::Azienda) -> ApiResult<azienda::Model> {
    let mut errs = FieldErrors::default();
    errs.validate(input);
    let matricola = errs.parse("matricola", &input.matricola, Matricola::parse);
    let cf = errs.parse("codice_fiscale", &input.codice_fiscale, CodiceFiscale::parse);
    let sede = errs.parse("sede", &input.sede, SedeCode::parse);
    let mobile = match input.mobile.as_deref().map(str::trim).filter(|m| !m.is_empty()) {
        Some(m) => errs.parse("mobile", m, Mobile::parse).map(Mobile::into_inner),
        None => None,
    };
    if let Some(s) = &sede {
        if registry::get_sede(db, s.as_str()).await?.is_none() {
            errs.push("sede", format!("la sede {s} non esiste"));
        }
    }
    errs.into_result()?;
    let now = Utc::now();
    let clean = |v: &Option<String>| v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
    Ok(azienda::Model {
        matricola: matricola.map(Matricola::into_inner).unwrap_or_default(),
        codice_fiscale: cf.map(CodiceFiscale::into_inner).unwrap_or_default(),
        ragione_sociale: input.ragione_sociale.trim().to_owned(),
        sede_code: sede.map(SedeCode::into_inner).unwrap_or_default(),
        email: clean(&input.email),
        pec: clean(&input.pec),
        mobile,
        created_at: now,
        updated_at: now,
    })
}

pub async fn create_azienda(db: &DatabaseConnection, actor: &Actor, input: dto::Azienda) -> ApiResult<dto::Azienda> {
    let model = parse_azienda(db, &input).await?;
    let txn = cassetto_storage::begin_write(db).await?;
    let created = registry::insert_azienda(&txn, model).await.map_err(|e| {
        if is_unique_violation(&e) {
            ApiError::Conflict(format!("la matricola {} è già registrata", input.matricola.trim()))
        } else {
            e.into()
        }
    })?;
    audit::record(
        &txn,
        actor,
        "azienda.create",
        "azienda",
        &created.matricola,
        serde_json::json!({"sede": created.sede_code}),
    )
    .await?;
    txn.commit().await?;
    Ok(azienda_dto(created))
}

/// Applies a patch; returns `None` when the matricola does not exist.
pub async fn update_azienda(
    db: &DatabaseConnection,
    actor: &Actor,
    matricola: &str,
    patch: dto::AziendaPatch,
) -> ApiResult<Option<dto::Azienda>> {
    let Some(current) = registry::get_azienda(db, matricola).await? else {
        return Ok(None);
    };
    let merged = dto::Azienda {
        matricola: current.matricola.clone(),
        codice_fiscale: patch.codice_fiscale.unwrap_or(current.codice_fiscale),
        ragione_sociale: patch.ragione_sociale.unwrap_or(current.ragione_sociale),
        sede: patch.sede.unwrap_or(current.sede_code.clone()),
        email: patch.email.unwrap_or(current.email),
        pec: patch.pec.unwrap_or(current.pec),
        mobile: patch.mobile.unwrap_or(current.mobile),
    };
    let model = parse_azienda(db, &merged).await?;
    let txn = cassetto_storage::begin_write(db).await?;
    let updated = registry::update_azienda(&txn, model).await?;
    audit::record(
        &txn,
        actor,
        "azienda.update",
        "azienda",
        &updated.matricola,
        serde_json::json!({"sede_from": current.sede_code, "sede": updated.sede_code}),
    )
    .await?;
    txn.commit().await?;
    Ok(Some(azienda_dto(updated)))
}

/// Creates or updates one azienda of an import, inside the import's transaction.
/// Returns whether it was created.
pub async fn upsert_azienda(txn: &impl ConnectionTrait, actor: &Actor, input: &dto::Azienda) -> ApiResult<bool> {
    let model = parse_azienda(txn, input).await?;
    let exists = registry::get_azienda(txn, &model.matricola).await?.is_some();
    let id = model.matricola.clone();
    if exists {
        registry::update_azienda(txn, model).await?;
    } else {
        registry::insert_azienda(txn, model).await?;
    }
    audit::record(
        txn,
        actor,
        if exists { "azienda.import_update" } else { "azienda.import_create" },
        "azienda",
        &id,
        serde_json::json!({}),
    )
    .await?;
    Ok(!exists)
}

pub async fn create_user(db: &DatabaseConnection, actor: &Actor, input: dto::NewUser) -> ApiResult<dto::User> {
    let mut errs = FieldErrors::default();
    errs.validate(&input);
    let username = errs.parse("username", &input.username, Username::parse);
    let mobile = match input.mobile.as_deref().map(str::trim).filter(|m| !m.is_empty()) {
        Some(m) => errs.parse("mobile", m, Mobile::parse).map(Mobile::into_inner),
        None => None,
    };
    let sede = match input.sede.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => match errs.parse("sede", s, SedeCode::parse) {
            Some(code) if registry::get_sede(db, code.as_str()).await?.is_none() => {
                errs.push("sede", format!("la sede {code} non esiste"));
                None
            }
            other => other,
        },
        None => None,
    };
    if input.role.needs_sede() && sede.is_none() && !errs.0.iter().any(|e| e.field == "sede") {
        errs.push("sede", "un operatore deve appartenere a una sede");
    }
    let mut matricole = Vec::new();
    if !input.role.is_sender() && !input.matricole.is_empty() {
        errs.push("matricole", "solo aziende e intermediari agiscono per delle matricole");
    }
    if input.role == Role::Azienda && input.matricole.is_empty() {
        errs.push("matricole", "un'azienda deve avere almeno una matricola");
    }
    for (i, m) in input.matricole.iter().enumerate() {
        let field = format!("matricole[{i}]");
        if let Some(m) = errs.parse(&field, m, Matricola::parse) {
            if registry::get_azienda(db, m.as_str()).await?.is_none() {
                errs.push(field, format!("la matricola {m} non è registrata"));
            } else if !matricole.contains(&m) {
                matricole.push(m);
            }
        }
    }
    errs.into_result()?;
    let username = username.map(Username::into_inner).unwrap_or_default();
    let hash = hash_password(input.password.clone()).await?;
    let sede_code = sede.map(SedeCode::into_inner);
    let email = input.email.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let txn = cassetto_storage::begin_write(db).await?;
    let created = registry::insert_user(
        &txn,
        registry::NewUser {
            username: &username,
            password_hash: &hash,
            role: input.role.as_str(),
            display_name: input.display_name.trim(),
            sede_code: sede_code.as_deref(),
            email,
            mobile: mobile.as_deref(),
        },
    )
    .await
    .map_err(|e| {
        if is_unique_violation(&e) {
            ApiError::Conflict(format!("il nome utente «{username}» è già in uso"))
        } else {
            e.into()
        }
    })?;
    for m in &matricole {
        registry::insert_delega(&txn, created.id, m.as_str()).await?;
    }
    let matricole: Vec<String> = matricole.into_iter().map(Matricola::into_inner).collect();
    audit::record(
        &txn,
        actor,
        "user.create",
        "user",
        &created.id.to_string(),
        serde_json::json!({"username": created.username, "role": created.role, "sede": created.sede_code, "matricole": matricole}),
    )
    .await?;
    txn.commit().await?;
    Ok(user_dto(created, input.role, matricole))
}

/// Finds a sender user for a delega or an API client; errors name `field`.
async fn sender_user(db: &impl ConnectionTrait, field: &str, username: &str) -> ApiResult<user::Model> {
    let name = username.trim().to_lowercase();
    let user = registry::user_by_username(db, &name)
        .await?
        .ok_or_else(|| ApiError::field(field, format!("l'utente «{name}» non esiste")))?;
    match Role::parse(&user.role) {
        Ok(r) if r.is_sender() => Ok(user),
        _ => Err(ApiError::field(field, "solo aziende e intermediari agiscono per delle matricole")),
    }
}

pub async fn add_delega(db: &DatabaseConnection, actor: &Actor, input: dto::Delega) -> ApiResult<dto::Delega> {
    let user = sender_user(db, "username", &input.username).await?;
    let matricola = Matricola::parse(&input.matricola).map_err(|e| ApiError::field("matricola", e.to_string()))?;
    if registry::get_azienda(db, matricola.as_str()).await?.is_none() {
        return Err(ApiError::field("matricola", format!("la matricola {matricola} non è registrata")));
    }
    let txn = cassetto_storage::begin_write(db).await?;
    registry::insert_delega(&txn, user.id, matricola.as_str()).await.map_err(|e| {
        if is_unique_violation(&e) {
            ApiError::Conflict(format!("l'utente «{}» agisce già per la matricola {matricola}", user.username))
        } else {
            e.into()
        }
    })?;
    audit::record(
        &txn,
        actor,
        "delega.create",
        "user",
        &user.id.to_string(),
        serde_json::json!({"matricola": matricola.as_str()}),
    )
    .await?;
    txn.commit().await?;
    Ok(dto::Delega { username: user.username, matricola: matricola.into_inner() })
}

/// Returns whether the delega existed.
pub async fn remove_delega(db: &DatabaseConnection, actor: &Actor, username: &str, matricola: &str) -> ApiResult<bool> {
    let Some(user) = registry::user_by_username(db, &username.trim().to_lowercase()).await? else {
        return Ok(false);
    };
    let txn = cassetto_storage::begin_write(db).await?;
    let removed = registry::delete_delega(&txn, user.id, matricola).await?;
    if removed {
        audit::record(
            &txn,
            actor,
            "delega.delete",
            "user",
            &user.id.to_string(),
            serde_json::json!({"matricola": matricola}),
        )
        .await?;
    }
    txn.commit().await?;
    Ok(removed)
}

pub async fn create_api_client(
    db: &DatabaseConnection,
    actor: &Actor,
    input: dto::NewApiClient,
) -> ApiResult<dto::ApiClientCreated> {
    input.validate()?;
    let user = sender_user(db, "username", &input.username).await?;
    let mut raw = [0u8; 32];
    rand::rng().fill_bytes(&mut raw);
    let secret = base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, raw);
    let mut id = [0u8; 8];
    rand::rng().fill_bytes(&mut id);
    let client_id = format!("cas_{}", hex::encode(id));
    let txn = cassetto_storage::begin_write(db).await?;
    let created =
        registry::insert_api_client(&txn, &client_id, &hash_client_secret(&secret), input.name.trim(), user.id).await?;
    audit::record(
        &txn,
        actor,
        "api_client.create",
        "user",
        &user.id.to_string(),
        serde_json::json!({"client_id": client_id, "name": created.name}),
    )
    .await?;
    txn.commit().await?;
    Ok(dto::ApiClientCreated { client_id, client_secret: secret, name: created.name, username: user.username })
}
