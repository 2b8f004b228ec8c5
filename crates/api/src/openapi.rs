//! The OpenAPI document: paths come from the modules' `configure` (a route cannot exist without
//! its documentation); this adds the info, the tags and the security schemes.

use utoipa::{
    openapi::security::{ClientCredentials, Flow, HttpAuthScheme, HttpBuilder, OAuth2, Scopes, SecurityScheme},
    Modify, OpenApi,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Cassetto — Comunicazione Bidirezionale",
        version = "1.0.0",
        description = "API del canale bidirezionale tra aziende, intermediari e sedi INPS: invio di richieste \
            protocollate, archivio consultabile, lavorazione dei quesiti di back-office, notifiche. \
            Gli errori sono `application/problem+json` (RFC 9457) con `detail` in italiano.",
    ),
    modifiers(&Security),
    security(("bearer" = [])),
    tags(
        (name = "Autenticazione", description = "Accesso con password o credenziali client, profilo e preferenze"),
        (name = "Richieste", description = "Il lato di aziende e intermediari"),
        (name = "Back office", description = "La lavorazione dei quesiti nelle sedi e il monitoraggio"),
        (name = "Anagrafiche", description = "Sedi, aziende, utenti, deleghe, client API (amministratore)"),
        (name = "Servizio", description = "Salute, prontezza e metriche"),
    )
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("Token da POST /api/v1/auth/login o POST /api/v1/auth/token"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "client_credentials",
            SecurityScheme::OAuth2(OAuth2::new([Flow::ClientCredentials(ClientCredentials::new(
                "/api/v1/auth/token",
                Scopes::new(),
            ))])),
        );
    }
}
