//! Sign-in, the caller's identity and notification preferences.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use crate::registry::SedeRef;
use cassetto_domain::Role;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, Validate)]
#[schema(example = json!({"username": "azienda.roma", "password": "Demo!2026"}))]
pub struct LoginRequest {
    #[validate(length(min = 1, max = 64, message = "il nome utente è obbligatorio"))]
    pub username: String,
    #[validate(length(min = 1, max = 256, message = "la password è obbligatoria"))]
    pub password: String,
}

/// OAuth 2 client-credentials grant (form-encoded), for payroll software.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, Validate)]
pub struct ClientCredentials {
    /// Must be `client_credentials`.
    pub grant_type: String,
    #[validate(length(min = 1, max = 64, message = "client_id è obbligatorio"))]
    pub client_id: String,
    #[validate(length(min = 1, max = 256, message = "client_secret è obbligatorio"))]
    pub client_secret: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, Validate)]
pub struct TokenResponse {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the token expires.
    pub expires_in: u64,
}

/// Who the caller is and what it may act for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, Validate)]
pub struct Me {
    pub id: i32,
    pub username: String,
    pub role: Role,
    pub display_name: String,
    /// The operatore's sede.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sede: Option<SedeRef>,
    /// The matricole an azienda or intermediario may act for.
    pub matricole: Vec<String>,
}

/// Where and whether the user wants to be told of its requests' events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, Validate)]
#[schema(example = json!({"email": "paghe@studio.example", "mobile": "+393331234567", "email_enabled": true, "sms_enabled": false}))]
pub struct Preferences {
    #[validate(
        email(message = "l'indirizzo e-mail non è valido"),
        length(max = 254, message = "l'indirizzo e-mail è troppo lungo")
    )]
    pub email: Option<String>,
    /// Italian mobile number; stored in E.164 form (`+39…`).
    #[validate(length(max = 20, message = "il numero di cellulare è troppo lungo"))]
    pub mobile: Option<String>,
    pub email_enabled: bool,
    pub sms_enabled: bool,
}
