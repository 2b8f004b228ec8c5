//! `Application::build(settings)`: binds the listener first (port 0 in tests), connects and
//! migrates the database, then assembles the server.

use std::net::TcpListener;

use actix_web::{
    dev::Server,
    middleware::{self, DefaultHeaders},
    web, App, HttpServer,
};
use anyhow::Context;
use utoipa::OpenApi;
use utoipa_actix_web::{scope, AppExt};
use utoipa_swagger_ui::SwaggerUi;

use crate::blobs::sweep_orphans;
use crate::metrics::{self, Metrics};
use crate::openapi::ApiDoc;
use crate::routes;
use crate::settings::Settings;
use crate::spa;
use crate::state::AppState;

pub struct Application {
    port: u16,
    server: Server,
    /// The background tasks of this instance (the notification worker, when it runs here;
    /// the subject word counts on PostgreSQL), each with what stops it.
    tasks: Vec<(tokio::sync::oneshot::Sender<()>, tokio::task::JoinHandle<()>)>,
}

/// Every route of the versioned API, mounted under `/api/v1`.
fn api_routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    routes::auth::configure(cfg);
    routes::me::configure(cfg);
    routes::ambiti::configure(cfg);
    routes::aziende::configure(cfg);
    routes::requests::configure(cfg);
    routes::quesiti::configure(cfg);
    routes::stats::configure(cfg);
    routes::webhooks::configure(cfg);
    routes::admin::configure(cfg);
}

/// The OpenAPI document as the server serves it at `/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, mut api) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .service(scope("/api/v1").configure(api_routes))
        .configure(routes::service::configure)
        .split_for_parts();
    utoipa::Modify::modify(&crate::openapi::StandardResponses, &mut api);
    api
}

/// Opens the database named by the settings, with a message that says what is wrong.
pub async fn open_database(settings: &Settings) -> anyhow::Result<cassetto_storage::DatabaseConnection> {
    let wait = std::time::Duration::from_millis(settings.db_acquire_timeout_ms);
    let db = cassetto_storage::connect_with(&settings.database_url, wait)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))
        .with_context(|| format!("impossibile collegarsi alla base dati {}", redact_url(&settings.database_url)))?;
    Ok(db)
}

/// Hides the password of a database URL in messages.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_owned(),
    }
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(&settings.bind)
            .with_context(|| format!("impossibile mettersi in ascolto su {}", settings.bind))?;
        let port = listener.local_addr().context("indirizzo locale")?.port();
        let db = open_database(&settings).await?;
        cassetto_storage::migrate(&db)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))
            .context("applicazione delle migrazioni non riuscita")?;
        let metrics = web::Data::new(Metrics::new()?);
        let document = openapi();
        let routes = web::Data::new(crate::route_table::RouteTable::from_openapi(&document));
        let spa_dir = settings.spa_dir.clone();
        let workers = settings.workers;
        let run_worker = settings.run_worker;
        let state = web::Data::new(AppState::new(settings, db)?);
        let mut tasks = Vec::new();
        if run_worker {
            let w = state.worker()?;
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            let handle = tokio::spawn(w.run(async move {
                let _ = stopped.await;
            }));
            tasks.push((stop, handle));
        }
        {
            // Every instance: the new requests' subjects go into their index (PostgreSQL:
            // the word counts, one instance at a time; SQLite: the trigram table).
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            let handle = tokio::spawn(cassetto_storage::subject_words::run(state.db.clone(), async move {
                let _ = stopped.await;
            }));
            tasks.push((stop, handle));
        }
        {
            // Bundles of creates interrupted by a crash (see `blobs`), once per start.
            let (blobs, db, tmp) = (state.blobs.clone(), state.db.clone(), state.blobs.temp_path());
            tokio::spawn(async move {
                let tmp_dir = tmp.parent().map(|p| p.to_owned());
                match sweep_orphans(blobs.as_ref(), &db, tmp_dir.as_deref(), std::time::Duration::from_secs(3600)).await
                {
                    Ok(0) => {}
                    Ok(n) => tracing::warn!(removed = n, "orphan attachment bundles removed"),
                    Err(e) => tracing::error!(error = ?e, "orphan sweep failed"),
                }
            });
        }
        let server = HttpServer::new(move || {
            let api = document.clone();
            let (app, _) = App::new()
                .into_utoipa_app()
                .openapi(ApiDoc::openapi())
                .app_data(state.clone())
                .app_data(metrics.clone())
                .app_data(routes.clone())
                .app_data(crate::extract::query_config())
                .app_data(crate::extract::path_config())
                .app_data(crate::extract::form_config())
                .service(scope("/api/v1").configure(api_routes))
                .configure(routes::service::configure)
                .split_for_parts();
            app.wrap(middleware::from_fn(crate::cors::api_headers))
                .wrap(middleware::from_fn(crate::cors::cors))
                .wrap(middleware::from_fn(metrics::track))
                .wrap(tracing_actix_web::TracingLogger::<crate::telemetry::RouteSpan>::new())
                .wrap(
                    DefaultHeaders::new()
                        .add(("X-Content-Type-Options", "nosniff"))
                        .add(("X-Frame-Options", "DENY"))
                        .add(("Referrer-Policy", "no-referrer"))
                        .add(("Cross-Origin-Opener-Policy", "same-origin"))
                        .add(("Permissions-Policy", "camera=(), microphone=(), geolocation=()")),
                )
                .service(web::resource("/openapi.json").route(web::get().to({
                    let api = api.clone();
                    move || {
                        let api = api.clone();
                        async move { web::Json(api) }
                    }
                })))
                .service(SwaggerUi::new("/swagger-ui/{_:.*}").url("/swagger-ui/openapi.json", api))
                .configure(|cfg| spa::configure(cfg, &spa_dir))
                .default_service(web::to(spa::fallback))
        })
        .shutdown_timeout(30);
        let server = match workers {
            Some(n) => server.workers(n),
            None => server,
        };
        let server = server.listen(listener).context("avvio del server HTTP")?.run();
        Ok(Self { port, server, tasks })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until a shutdown signal, then stops the background tasks.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let res = self.server.await;
        for (stop, handle) in self.tasks {
            let _ = stop.send(());
            let _ = handle.await;
        }
        res
    }
}
