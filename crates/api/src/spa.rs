//! Serves the single-page app at `/` with a history fallback, so that a deep link such as
//! `/richieste?status=aperta` opens the app on that page. Until the app is built, a short
//! Italian page points to the API documentation. Unknown API paths get a problem+json 404.

use std::path::Path;

use actix_files::{Files, NamedFile};
use actix_web::{web, HttpRequest, HttpResponse, Responder};

use crate::error::ApiError;
use crate::state::AppState;

const PLACEHOLDER: &str = r#"<!doctype html>
<html lang="it"><head><meta charset="utf-8"><title>Cassetto — Comunicazione Bidirezionale</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: sans-serif; max-width: 40rem; margin: 3rem auto; line-height: 1.5">
<h1>Cassetto Previdenziale — Comunicazione Bidirezionale</h1>
<p>L'applicazione web non è ancora stata compilata su questo server.</p>
<p>Le API sono attive: consultare la <a href="/swagger-ui/">documentazione interattiva (Swagger UI)</a>
o il documento <a href="/openapi.json">OpenAPI</a>.</p>
</body></html>"#;

/// The built app's static files, when there are any.
pub fn configure(cfg: &mut web::ServiceConfig, dir: &Path) {
    if dir.join("index.html").is_file() {
        cfg.service(Files::new("/", dir).index_file("index.html").default_handler(web::to(fallback)));
    }
}

/// Everything no route matched: a 404 problem under `/api`, the app's `index.html` elsewhere.
pub async fn fallback(req: HttpRequest, state: web::Data<AppState>) -> actix_web::Result<HttpResponse> {
    let path = req.path();
    if let Some(table) = req.app_data::<web::Data<crate::route_table::RouteTable>>() {
        let allowed = table.allowed(path);
        if !allowed.is_empty() {
            return Err(method_not_allowed(req.method().as_str(), &allowed).into());
        }
    }
    if path.starts_with("/api/") || path == "/api" {
        return Err(ApiError::NotFound(format!(
            "nessuna risorsa a questo indirizzo ({} {})",
            req.method(),
            short(path)
        ))
        .into());
    }
    let index = state.settings.spa_dir.join("index.html");
    match NamedFile::open_async(&index).await {
        Ok(f) => Ok(f.respond_to(&req).map_into_boxed_body()),
        Err(_) => Ok(HttpResponse::Ok().content_type("text/html; charset=utf-8").body(PLACEHOLDER)),
    }
}

fn short(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(120).collect()
}

pub fn method_not_allowed(method: &str, allowed: &[&str]) -> ApiError {
    ApiError::MethodNotAllowed {
        detail: format!(
            "il metodo {} non è consentito a questo indirizzo: usare {}",
            short(method),
            allowed.join(", ")
        ),
        allow: allowed.join(", "),
    }
}
