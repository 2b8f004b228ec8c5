//! `cassetto-bench`: loads a realistic data set (a million requests by default) into SQLite and/or
//! PostgreSQL, starts `cassetto serve` on it and measures the archive, sending, the back office,
//! memory and the notification drain over HTTP, each beside the same work done directly on the
//! database through the same driver (the floor). Writes a Markdown report.
//!
//! `scripts/bench.sh [--backend sqlite|postgres|both] [--requests N] …` builds and runs it.

mod archive;
mod backoffice;
mod drain;
mod load;
mod report;
mod send;
mod server;

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use sea_orm::{ConnectionTrait, Database};

#[derive(Parser)]
#[command(name = "cassetto-bench", about = "Benchmark of Cassetto over HTTP against the database floor")]
struct Args {
    /// sqlite, postgres or both.
    #[arg(long, default_value = "both")]
    backend: String,
    #[arg(long, default_value_t = 1_000_000)]
    requests: usize,
    #[arg(long, default_value_t = 100_000)]
    matricole: usize,
    #[arg(long, default_value_t = 100)]
    sedi: usize,
    #[arg(long, default_value_t = 1_000)]
    studio_deleghe: usize,
    /// Where the databases, attachments and reports go.
    #[arg(long, default_value = "target/bench")]
    out: PathBuf,
    /// PostgreSQL server (a database `cassetto_bench` is created there).
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432")]
    postgres: String,
    /// Queries per archive case, at least: a case runs on for two seconds, up to ten times as
    /// many (a page 26: at least 100).
    #[arg(long, default_value_t = 200)]
    samples: usize,
    /// Keep an already loaded data set (its size must match).
    #[arg(long)]
    reuse: bool,
    /// Only the archive cases whose name contains this text (and skip the other parts).
    #[arg(long)]
    only: Option<String>,
    /// Skip sending, back office, memory and drain.
    #[arg(long)]
    archive_only: bool,
    /// Skip the archive search (measure sending, back office, memory and drain only).
    #[arg(long, conflicts_with_all = ["archive_only", "only"])]
    skip_archive: bool,
}

/// A small client of the API.
pub struct Api {
    base: String,
    client: reqwest::Client,
}

impl Api {
    fn new(base: &str) -> anyhow::Result<Self> {
        // Idle connections are dropped before the server's keep-alive (5 s) closes them: a POST
        // sent on a connection the server is closing fails, and is not retried.
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(64)
            .pool_idle_timeout(std::time::Duration::from_secs(2))
            .build()?;
        Ok(Api { base: base.to_owned(), client })
    }

    async fn login(&self, username: &str) -> anyhow::Result<String> {
        let res = self
            .client
            .post(format!("{}/api/v1/auth/login", self.base))
            .json(&serde_json::json!({"username": username, "password": load::PASSWORD}))
            .send()
            .await?;
        anyhow::ensure!(res.status().is_success(), "login {username}: {}", res.status());
        let v: serde_json::Value = res.json().await?;
        Ok(v["access_token"].as_str().context("access_token")?.to_owned())
    }

    async fn get_json(&self, path: &str, token: &str) -> anyhow::Result<serde_json::Value> {
        Ok(serde_json::from_slice(&self.get_body(path, token).await?)?)
    }

    /// The body of a successful GET, as received: what a latency measures (the client's own
    /// parsing of it comes after).
    async fn get_body(&self, path: &str, token: &str) -> anyhow::Result<bytes::Bytes> {
        let res = self.client.get(format!("{}{path}", self.base)).bearer_auth(token).send().await?;
        let status = res.status();
        let body = res.bytes().await?;
        anyhow::ensure!(status.is_success(), "GET {path}: {status} {}", String::from_utf8_lossy(&body));
        Ok(body)
    }

    async fn post_json(&self, path: &str, token: &str, body: &serde_json::Value) -> anyhow::Result<u16> {
        let res = self.client.post(format!("{}{path}", self.base)).bearer_auth(token).json(body).send().await?;
        let status = res.status().as_u16();
        res.bytes().await?;
        Ok(status)
    }

    async fn post_files(
        &self,
        path: &str,
        token: &str,
        body: &serde_json::Value,
        files: &Arc<Vec<bytes::Bytes>>,
    ) -> anyhow::Result<u16> {
        let mut form = reqwest::multipart::Form::new()
            .part("request", reqwest::multipart::Part::text(body.to_string()).mime_str("application/json")?);
        for (i, f) in files.iter().enumerate() {
            form = form.part(
                "files",
                reqwest::multipart::Part::stream(f.clone())
                    .file_name(format!("allegato-{i}.pdf"))
                    .mime_str("application/pdf")?,
            );
        }
        let res = self.client.post(format!("{}{path}", self.base)).bearer_auth(token).multipart(form).send().await?;
        let status = res.status().as_u16();
        res.bytes().await?;
        Ok(status)
    }
}

async fn prepare(backend: &str, args: &Args) -> anyhow::Result<(String, PathBuf)> {
    let dir = args.out.join(backend);
    if !args.reuse && dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::create_dir_all(dir.join("data"))?;
    let dir = dir.canonicalize()?;
    let url = match backend {
        "sqlite" => format!("sqlite://{}/bench.db", dir.display()),
        "postgres" => {
            if !args.reuse {
                let admin = Database::connect(format!("{}/postgres", args.postgres)).await?;
                admin.execute_unprepared("DROP DATABASE IF EXISTS cassetto_bench WITH (FORCE)").await?;
                admin.execute_unprepared("CREATE DATABASE cassetto_bench").await?;
                admin.close().await?;
            }
            format!("{}/cassetto_bench", args.postgres)
        }
        other => anyhow::bail!("unknown backend {other}"),
    };
    Ok((url, dir))
}

async fn run_backend(backend: &str, args: &Args) -> anyhow::Result<String> {
    eprintln!("== {backend}");
    let (url, dir) = prepare(backend, args).await?;
    let db = cassetto_storage::connect(&url).await?;
    cassetto_storage::migrate(&db).await?;
    let sizes = load::Sizes {
        requests: args.requests,
        matricole: args.matricoles(),
        sedi: args.sedi,
        studio_deleghe: args.studio_deleghe,
    };
    let (ds, load_s) = load::load(&db, &sizes).await?;
    // Each run of the sending measures adds its requests to the intermediario's matricole:
    // on such a set the archive is not the one described (docs/BENCHMARKS.md, «The command»).
    let grown = (ds.held > args.requests as u64).then(|| ds.held - args.requests as u64);
    if let (Some(added), false) = (grown, args.skip_archive) {
        eprintln!(
            "  warning: the data set holds {added} requests more than were loaded (earlier sending runs): \
             the archive figures are not those of the data set; load it again (a new --out) to compare them"
        );
    }
    // SQLite reads the planner's statistics when a connection first reads the schema: the
    // pool that loaded the data predates ANALYZE, so the floor gets connections of its own.
    db.close().await?;
    let db = cassetto_storage::connect(&url).await?;
    let bin = server::binary()?;
    let data_dir = dir.join("data");
    let srv = server::Server::start(&bin, &url, &data_dir).await?;
    // The server applies its migrations at start-up: the floor's connection sees the same schema.
    let api = Api::new(&srv.base)?;
    let users = load::user_ids(&db).await?;
    let op_name = load::operatore_name(&ds.op_sede);
    let readers = archive::Readers {
        azienda: api.login("bench.azienda").await?,
        studio: api.login("bench.studio").await?,
        operatore: api.login(&op_name).await?,
        supervisore: api.login("bench.supervisore").await?,
        op_id: *users.operatori.get(&ds.op_sede).context("operatore of the bench sede")?,
        azienda_id: users.azienda,
        studio_id: users.studio,
    };
    let mut lines = if args.skip_archive {
        vec![]
    } else {
        archive::run(&api, &db, &ds, &readers, args.samples, args.only.as_deref()).await?
    };
    if !args.archive_only && args.only.is_none() {
        eprintln!("  sending");
        let plan = send::SendPlan { single: 300, multi: 3_000, single_files: 60, multi_files: 400 };
        lines.extend(send::run(&api, &db, &ds, &readers.studio, &plan, &dir.join("scratch")).await?);
        eprintln!("  back office");
        lines.extend(backoffice::run(&api, &db, &ds.op_sede, &readers.operatore, readers.op_id, 200).await?);
        srv.stop();
        eprintln!("  memory");
        let fresh = server::Server::start(&bin, &url, &data_dir).await?;
        let fapi = Api::new(&fresh.base)?;
        let token = fapi.login("bench.studio").await?;
        lines.extend(send::memory(&fresh, &fapi, &ds, &token).await?);
        fresh.stop();
        eprintln!("  notification drain");
        lines.extend(drain::run(&bin, &url, &db, &data_dir).await?);
    } else {
        srv.stop();
    }
    let title = format!(
        "{} — {} requests, {} matricole, {} sedi{}{}",
        if backend == "sqlite" { "SQLite" } else { "PostgreSQL" },
        args.requests,
        args.matricoles(),
        args.sedi,
        load_s.map(|s| format!(" (loaded in {s:.0} s)")).unwrap_or_default(),
        grown.map(|added| format!(", plus {added} added by earlier sending runs")).unwrap_or_default()
    );
    let md = report::markdown(&title, &lines);
    std::fs::write(args.out.join(format!("{backend}.md")), &md)?;
    Ok(md)
}

impl Args {
    fn matricoles(&self) -> usize {
        self.matricole.min(self.requests.max(1))
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let backends: Vec<&str> = match args.backend.as_str() {
        "both" => vec!["sqlite", "postgres"],
        b => vec![b],
    };
    std::fs::create_dir_all(&args.out)?;
    for b in backends {
        let md = run_backend(b, &args).await?;
        println!("{md}");
    }
    Ok(())
}
