//! The registry: ambiti, sedi, aziende, users, deleghe, API clients.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use cassetto_domain::{FieldType, Role};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, Validate)]
pub struct SedeRef {
    pub code: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, Validate)]
pub struct AmbitoField {
    pub name: String,
    pub label: String,
    #[serde(rename = "type")]
    pub field_type: FieldType,
    pub required: bool,
}

/// A context a request can be about, with the detail fields it asks for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, Validate)]
pub struct Ambito {
    pub code: String,
    pub label: String,
    pub fields: Vec<AmbitoField>,
}

/// A company the caller may act for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, Validate)]
pub struct AziendaRef {
    pub matricola: String,
    pub ragione_sociale: String,
    pub sede: SedeRef,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, Validate)]
#[schema(example = json!({"code": "7000", "name": "Roma Tiburtino", "pilot": true}))]
pub struct Sede {
    /// 4 digits.
    #[validate(length(equal = 4, message = "il codice sede deve essere di 4 cifre"))]
    pub code: String,
    #[validate(length(min = 2, max = 120, message = "il nome della sede deve avere da 2 a 120 caratteri"))]
    pub name: String,
    /// Whether the sede's companies may send requests (the roll-out office by office).
    #[serde(default)]
    pub pilot: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema, Validate)]
pub struct SedePatch {
    #[validate(length(min = 2, max = 120, message = "il nome della sede deve avere da 2 a 120 caratteri"))]
    pub name: Option<String>,
    pub pilot: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, Validate)]
#[schema(example = json!({
    "matricola": "7000123456", "codice_fiscale": "01234567897", "ragione_sociale": "Rossi Costruzioni S.r.l.",
    "sede": "7000", "email": "amministrazione@rossi.example", "pec": "rossi@pec.example", "mobile": "+393331234567"
}))]
pub struct Azienda {
    /// 10 digits.
    pub matricola: String,
    /// 11 digits, or 16 characters for a sole trader.
    pub codice_fiscale: String,
    #[validate(length(min = 2, max = 200, message = "la ragione sociale deve avere da 2 a 200 caratteri"))]
    pub ragione_sociale: String,
    /// Code of the competent sede.
    pub sede: String,
    #[validate(email(message = "l'indirizzo e-mail non è valido"))]
    pub email: Option<String>,
    #[validate(email(message = "l'indirizzo PEC non è valido"))]
    pub pec: Option<String>,
    pub mobile: Option<String>,
}

/// Only the fields given change; `null` clears an optional contact.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema, Validate)]
pub struct AziendaPatch {
    pub codice_fiscale: Option<String>,
    #[validate(length(min = 2, max = 200, message = "la ragione sociale deve avere da 2 a 200 caratteri"))]
    pub ragione_sociale: Option<String>,
    pub sede: Option<String>,
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub email: Option<Option<String>>,
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub pec: Option<Option<String>>,
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub mobile: Option<Option<String>>,
}

/// A page of the registry of aziende.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, Validate)]
pub struct AziendePage {
    pub items: Vec<Azienda>,
    pub total: u64,
    pub next_cursor: Option<String>,
}

/// The outcome of a CSV import: good lines are imported, bad ones reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, Validate)]
pub struct ImportReport {
    pub created: u32,
    pub updated: u32,
    pub errors: Vec<ImportError>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, Validate)]
pub struct ImportError {
    /// 1-based line number in the file (the header is line 1).
    pub line: u64,
    pub message: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, Validate)]
#[schema(example = json!({
    "username": "operatore.roma", "password": "Una-password-lunga-1", "role": "operatore",
    "display_name": "Maria Bianchi", "sede": "7000", "email": "maria.bianchi@inps.example"
}))]
pub struct NewUser {
    pub username: String,
    /// At least 10 characters.
    #[validate(length(min = 10, max = 256, message = "la password deve avere almeno 10 caratteri"))]
    pub password: String,
    pub role: Role,
    #[validate(length(min = 2, max = 120, message = "il nome visualizzato deve avere da 2 a 120 caratteri"))]
    pub display_name: String,
    #[validate(email(message = "l'indirizzo e-mail non è valido"))]
    pub email: Option<String>,
    pub mobile: Option<String>,
    /// Required for an operatore.
    pub sede: Option<String>,
    /// The matricole of an azienda, or those delegated to an intermediario.
    #[serde(default)]
    pub matricole: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, Validate)]
pub struct User {
    pub id: i32,
    pub username: String,
    pub role: Role,
    pub display_name: String,
    pub sede: Option<String>,
    pub email: Option<String>,
    pub mobile: Option<String>,
    pub matricole: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, Validate)]
pub struct Delega {
    pub username: String,
    pub matricola: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, Validate)]
pub struct NewApiClient {
    #[validate(length(min = 2, max = 120, message = "il nome deve avere da 2 a 120 caratteri"))]
    pub name: String,
    /// The user (azienda or intermediario) the software acts as.
    pub username: String,
}

/// The secret is shown only here, once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, Validate)]
pub struct ApiClientCreated {
    pub client_id: String,
    pub client_secret: String,
    pub name: String,
    pub username: String,
}

/// Distinguishes an absent field (`None`) from an explicit `null` (`Some(None)`).
mod double_option {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<Option<String>>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(inner) => inner.serialize(s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
        Option::<String>::deserialize(d).map(Some)
    }
}
