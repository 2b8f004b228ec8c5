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
protocollate, archivio consultabile, lavorazione dei quesiti di back-office, notifiche e webhook.\n\n\
Autenticazione: `POST /api/v1/auth/login` (persone) o `POST /api/v1/auth/token` (client credentials, \
gestionali paghe), poi `Authorization: Bearer <token>`.\n\n\
Gli errori sono `application/problem+json` (RFC 9457): `{type, title, status, detail, errors?}`, con `detail` \
in italiano ed `errors` che nomina ogni campo non valido. Tipi (`type` = `/problems/<tipo>`):\n\n\
| tipo | stato | significato |\n|---|---|---|\n\
| `bad-request` | 400 | corpo o multipart malformato |\n\
| `invalid-query` | 400 | parametro di ricerca sconosciuto, ripetuto o non valido |\n\
| `unauthorized` | 401 | token assente, scaduto, alterato; credenziali errate |\n\
| `forbidden` | 403 | il ruolo non consente l'operazione, o la matricola non è delegata |\n\
| `sede-not-enabled` | 403 | la sede competente non è abilitata alla sperimentazione |\n\
| `not-found` | 404 | la risorsa non esiste o non è visibile con queste credenziali |\n\
| `conflict` | 409 | non consentito nello stato attuale (richiesta chiusa, transizione non ammessa, duplicato) |\n\
| `precondition-failed` | 412 | `If-Match` con una versione superata |\n\
| `payload-too-large` | 413 | file o corpo oltre il limite |\n\
| `unsupported-media-type` | 415 | tipo di file rifiutato in base al contenuto, o Content-Type errato |\n\
| `validation` | 422 | campi non validi, elencati in `errors` |\n\
| `too-many-requests` | 429 | troppi tentativi di accesso: riprovare dopo `Retry-After` secondi |\n\
| `unavailable` | 503 | base dati o spazio allegati non disponibili: riprovare |\n\
| `internal` | 500 | errore interno (il dettaglio resta nei log del servizio) |",
    ),
    modifiers(&Security),
    security(("bearer" = [])),
    tags(
        (name = "Autenticazione", description = "Accesso con password o credenziali client, profilo e preferenze"),
        (name = "Richieste", description = "Il lato di aziende e intermediari"),
        (name = "Back office", description = "La lavorazione dei quesiti nelle sedi e il monitoraggio"),
        (name = "Webhook", description = "Notifiche firmate HMAC-SHA256 ai gestionali paghe (client API)"),
        (name = "Anagrafiche", description = "Sedi, aziende, utenti, deleghe, client API (amministratore)"),
        (name = "Servizio", description = "Salute, prontezza e metriche"),
    )
)]
pub struct ApiDoc;

struct Security;

/// Adds the answers every operation may give whatever its handler: 400 and 415 to those with
/// a body, 400 to those with query parameters, 401 to those that need a token.
pub struct StandardResponses;

impl Modify for StandardResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{path::ParameterIn, ContentBuilder, Ref, ResponseBuilder};
        let problem = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/problem+json",
                    ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build(),
                )
                .build()
        };
        for (path, item) in openapi.paths.paths.iter_mut() {
            // Unique, stable operation ids from method and path (`get_requests_by_id_history`),
            // for client generators: handler names repeat across modules.
            let slug = path
                .trim_start_matches("/api/v1")
                .split('/')
                .filter(|s| !s.is_empty())
                .map(|s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                    Some(param) => format!("by_{param}"),
                    None => s.replace(['-', '.'], "_"),
                })
                .collect::<Vec<_>>()
                .join("_");
            for (method, op) in [
                ("get", &mut item.get),
                ("post", &mut item.post),
                ("put", &mut item.put),
                ("delete", &mut item.delete),
                ("patch", &mut item.patch),
            ] {
                let Some(op) = op else { continue };
                op.operation_id = Some(format!("{method}_{slug}"));
                let has_body = op.request_body.is_some();
                let has_query = op
                    .parameters
                    .as_ref()
                    .is_some_and(|ps| ps.iter().any(|p| matches!(p.parameter_in, ParameterIn::Query)));
                let public = op.security.as_ref().is_some_and(|s| s.iter().all(|r| r == &Default::default()));
                let responses = &mut op.responses.responses;
                if has_body || has_query {
                    responses
                        .entry("400".into())
                        .or_insert_with(|| problem("Richiesta malformata o parametri non validi").into());
                }
                if has_body {
                    responses.entry("415".into()).or_insert_with(|| problem("Content-Type non supportato").into());
                }
                if !public {
                    responses
                        .entry("401".into())
                        .or_insert_with(|| problem("Token assente, scaduto o non valido").into());
                }
            }
        }
    }
}

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
