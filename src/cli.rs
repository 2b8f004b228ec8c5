//! The command line: `serve`, `worker`, `migrate`, `seed-demo`, `user add`, `openapi`, `compact-index`.
//!
//! A wrong setting stops start-up with one clear line on stderr and exit code 1, never a panic.

use std::process::ExitCode;

use anyhow::Context;
use cassetto_api::{registry, seed, startup, Application, Settings};
use cassetto_domain::Role;
use cassetto_storage::audit::Actor;
use clap::{Args, Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "cassetto",
    version,
    about = "Cassetto Previdenziale — Comunicazione Bidirezionale tra aziende e INPS"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Apply pending migrations and serve the API, Swagger UI and the web app, with the
    /// notification worker in-process.
    Serve {
        /// Do not run the notification worker in this process.
        #[arg(long)]
        no_worker: bool,
    },
    /// Run the notification worker alone (e-mail and SMS from the outbox).
    Worker,
    /// Apply pending migrations and exit.
    Migrate,
    /// Create the demo data (idempotent).
    SeedDemo,
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Print the OpenAPI document the server serves.
    Openapi,
    /// SQLite: merge the subjects' trigram table into one segment, in write turns of about 4 MB
    /// with sends in between (after a bulk import, or at a quiet hour; nothing to do on
    /// PostgreSQL).
    CompactIndex,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user.
    Add(UserAdd),
}

#[derive(Args)]
struct UserAdd {
    #[arg(long)]
    username: String,
    #[arg(long)]
    password: String,
    /// admin, supervisore, operatore, azienda, intermediario
    #[arg(long)]
    role: String,
    #[arg(long)]
    display_name: Option<String>,
    #[arg(long)]
    sede: Option<String>,
    /// Repeatable.
    #[arg(long = "matricola")]
    matricole: Vec<String>,
    #[arg(long)]
    email: Option<String>,
    #[arg(long)]
    mobile: Option<String>,
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Openapi = cli.command {
        return match serde_json_pretty(&startup::openapi()) {
            Ok(s) => {
                println!("{s}");
                ExitCode::SUCCESS
            }
            Err(e) => fail(e),
        };
    }
    cassetto_api::telemetry::init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return fail(anyhow::Error::new(e).context("avvio del runtime")),
    };
    match runtime.block_on(run(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(e),
    }
}

fn fail(e: anyhow::Error) -> ExitCode {
    eprintln!("errore: {}", format!("{e:#}").replace('\n', " "));
    ExitCode::FAILURE
}

fn serde_json_pretty(api: &utoipa_openapi::OpenApi) -> anyhow::Result<String> {
    api.to_pretty_json().context("serializzazione del documento OpenAPI")
}

mod utoipa_openapi {
    pub use cassetto_api::openapi_types::OpenApi;
}

async fn run(command: Command) -> anyhow::Result<()> {
    let settings = Settings::from_env()?;
    match command {
        Command::Serve { no_worker } => {
            let mut settings = settings;
            settings.run_worker = !no_worker;
            let app = Application::build(settings.clone()).await?;
            tracing::info!(bind = %settings.bind, port = app.port(), "cassetto in ascolto");
            app.run_until_stopped().await.context("server HTTP")?;
        }
        Command::Worker => {
            let db = startup::open_database(&settings).await?;
            cassetto_storage::migrate(&db).await.map_err(|e| anyhow::anyhow!("{e}")).context("migrazioni")?;
            let state = cassetto_api::state::AppState::new(settings, db)?;
            state.worker()?.run(shutdown_signal()).await;
        }
        Command::Migrate => {
            let db = startup::open_database(&settings).await?;
            cassetto_storage::migrate(&db).await.map_err(|e| anyhow::anyhow!("{e}")).context("migrazioni")?;
            println!("migrazioni applicate");
        }
        Command::SeedDemo => {
            let db = startup::open_database(&settings).await?;
            cassetto_storage::migrate(&db).await.map_err(|e| anyhow::anyhow!("{e}")).context("migrazioni")?;
            let state = cassetto_api::state::AppState::new(settings, db)?;
            let r = seed::seed_demo(&state).await.map_err(api_error)?;
            println!(
                "dati dimostrativi pronti: {} sedi, {} aziende, {} utenti, {} richieste creati (password di tutti gli utenti demo: {})",
                r.sedi,
                r.aziende,
                r.users,
                r.requests,
                seed::DEMO_PASSWORD
            );
        }
        Command::User { command: UserCommand::Add(a) } => {
            let role = Role::parse(&a.role).map_err(|e| anyhow::anyhow!("--role: {e}"))?;
            let db = startup::open_database(&settings).await?;
            cassetto_storage::migrate(&db).await.map_err(|e| anyhow::anyhow!("{e}")).context("migrazioni")?;
            let created = registry::create_user(
                &db,
                &Actor::system(),
                cassetto_dto::registry::NewUser {
                    display_name: a.display_name.unwrap_or_else(|| a.username.clone()),
                    username: a.username,
                    password: a.password,
                    role,
                    email: a.email,
                    mobile: a.mobile,
                    sede: a.sede,
                    matricole: a.matricole,
                },
            )
            .await
            .map_err(api_error)?;
            println!("utente «{}» creato (id {}, ruolo {})", created.username, created.id, created.role);
        }
        Command::CompactIndex => {
            let db = startup::open_database(&settings).await?;
            cassetto_storage::migrate(&db).await.map_err(|e| anyhow::anyhow!("{e}")).context("migrazioni")?;
            let started = std::time::Instant::now();
            let (before, after) = cassetto_storage::subject_words::compact(&db)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))
                .context("compattazione dell'indice degli oggetti")?;
            if cassetto_storage::is_postgres(&db) {
                println!("PostgreSQL: nessun indice da compattare");
            } else {
                println!(
                    "indice degli oggetti: {before} segmenti → {after} in {:.1} s",
                    started.elapsed().as_secs_f64()
                );
            }
        }
        Command::Openapi => {}
    }
    Ok(())
}

/// An API error as one line for the terminal, with every invalid field.
fn api_error(e: cassetto_api::error::ApiError) -> anyhow::Error {
    use cassetto_api::error::ApiError;
    match e {
        ApiError::Validation(errs) => anyhow::anyhow!(
            "dati non validi: {}",
            errs.iter().map(|f| format!("{}: {}", f.field, f.message)).collect::<Vec<_>>().join("; ")
        ),
        ApiError::Internal(inner) => inner,
        other => anyhow::anyhow!("{other}"),
    }
}

/// Ctrl+C or SIGTERM (as sent by `docker stop` and service managers).
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
