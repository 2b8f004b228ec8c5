//! The test harness: `spawn_app(backend)` starts the whole application on a random port with its
//! own fresh database (a SQLite file, or a new PostgreSQL database) and its own data dir.
//!
//! Every test runs on SQLite and, when PostgreSQL is reachable, on PostgreSQL too (`both!`).
//! With `CASSETTO_REQUIRE_POSTGRES=1` (CI) an unreachable PostgreSQL fails the PostgreSQL half
//! instead of skipping it. `TEST_LOG=1` shows the server's logs.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};

use cassetto_api::{Application, Settings};
use cassetto_domain::Role;
use cassetto_dto::registry::NewUser;
use cassetto_storage::{audit::Actor, DatabaseConnection};
use reqwest::{Response, StatusCode};
use sea_orm::{ConnectionTrait, Database};
use serde_json::{json, Value};
use tokio::sync::OnceCell;

pub const JWT_SECRET: &str = "test-secret-test-secret-test-secret-0123456789";
pub const PASSWORD: &str = "Password-di-prova-1";

#[derive(Clone, Debug)]
pub enum Backend {
    Sqlite,
    Postgres(String),
}

fn admin_pg_url() -> String {
    std::env::var("CASSETTO_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

static PG_AVAILABLE: OnceCell<bool> = OnceCell::const_new();
static COUNTER: AtomicU32 = AtomicU32::new(0);

impl Backend {
    /// A fresh PostgreSQL database, or `None` (test skipped) when PostgreSQL is unreachable
    /// and not required.
    pub async fn postgres() -> Option<Backend> {
        let available = *PG_AVAILABLE
            .get_or_init(|| async {
                match Database::connect(admin_pg_url()).await {
                    Ok(db) => {
                        drop_stale_databases(&db).await;
                        true
                    }
                    Err(_) => false,
                }
            })
            .await;
        if !available {
            if std::env::var("CASSETTO_REQUIRE_POSTGRES").as_deref() == Ok("1") {
                panic!("PostgreSQL non raggiungibile su {} ma richiesto", admin_pg_url());
            }
            eprintln!("PostgreSQL non raggiungibile: metà PostgreSQL del test saltata");
            return None;
        }
        let name = format!("cassetto_t_{}_{}", std::process::id(), COUNTER.fetch_add(1, Ordering::SeqCst));
        let admin = Database::connect(admin_pg_url()).await.expect("postgres admin");
        admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.expect("create database");
        admin.close().await.ok();
        let mut url = url::Url::parse(&admin_pg_url()).expect("pg url");
        url.set_path(&format!("/{name}"));
        Some(Backend::Postgres(url.to_string()))
    }
}

/// Drops the databases left by test processes that are no longer running.
async fn drop_stale_databases(db: &DatabaseConnection) {
    let rows = db
        .query_all_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "SELECT datname FROM pg_database WHERE datname LIKE 'cassetto_t_%'",
        ))
        .await
        .unwrap_or_default();
    for row in rows {
        let Ok(name) = row.try_get::<String>("", "datname") else { continue };
        let pid = name.split('_').nth(2).and_then(|p| p.parse::<u32>().ok());
        if let Some(pid) = pid {
            if pid != std::process::id() && !std::path::Path::new(&format!("/proc/{pid}")).exists() {
                let _ = db.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
            }
        }
    }
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub db: DatabaseConnection,
    pub db_url: String,
    _data_dir: tempfile::TempDir,
}

/// Runs one test on SQLite and, when reachable, on PostgreSQL.
#[macro_export]
macro_rules! both {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test]
                async fn sqlite() {
                    super::$name($crate::helpers::Backend::Sqlite).await
                }
                #[tokio::test]
                async fn postgres() {
                    if let Some(b) = $crate::helpers::Backend::postgres().await {
                        super::$name(b).await
                    }
                }
            }
        )*
    };
}

pub fn init_logs() {
    if std::env::var("TEST_LOG").is_ok() {
        cassetto_api::telemetry::init();
    }
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, HashMap::new()).await
}

/// Like `spawn_app`, with extra `CASSETTO_*` settings.
pub async fn spawn_app_with(backend: Backend, extra: HashMap<&str, String>) -> TestApp {
    init_logs();
    let data_dir = tempfile::tempdir().expect("temp dir");
    let db_url = match &backend {
        Backend::Sqlite => format!("sqlite://{}/cassetto.db", data_dir.path().display()),
        Backend::Postgres(url) => url.clone(),
    };
    let mut env: HashMap<&str, String> = HashMap::from([
        ("CASSETTO_DATA_DIR", data_dir.path().display().to_string()),
        ("CASSETTO_DATABASE_URL", db_url.clone()),
        ("CASSETTO_BIND", "127.0.0.1:0".into()),
        ("CASSETTO_JWT_SECRET", JWT_SECRET.into()),
        ("CASSETTO_WORKERS", "1".into()),
        ("CASSETTO_SPA_DIR", data_dir.path().join("no-spa").display().to_string()),
    ]);
    env.extend(extra);
    let db_url = env["CASSETTO_DATABASE_URL"].clone();
    let settings = Settings::from_lookup(|k| env.get(k).cloned()).expect("settings");
    let app = Application::build(settings).await.expect("application");
    let port = app.port();
    tokio::spawn(app.run_until_stopped());
    let db = cassetto_storage::connect(&db_url).await.expect("test db connection");
    TestApp {
        db_url: db_url.clone(),
        address: format!("http://127.0.0.1:{port}"),
        client: reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client"),
        db,
        _data_dir: data_dir,
    }
}

/// A second instance of the same application: same database and JWT secret, its own port and
/// data dir (as two stateless instances behind a balancer).
pub async fn spawn_second_instance(first: &TestApp) -> TestApp {
    let backend =
        if first.db_url.starts_with("postgres") { Backend::Postgres(first.db_url.clone()) } else { Backend::Sqlite };
    let mut extra = HashMap::new();
    extra.insert("CASSETTO_DATABASE_URL", first.db_url.clone());
    spawn_app_with(backend, extra).await
}

/// A parsed problem+json answer.
pub struct ProblemResponse {
    pub status: StatusCode,
    pub content_type: String,
    pub body: Value,
}

impl ProblemResponse {
    pub fn problem_type(&self) -> &str {
        self.body["type"].as_str().unwrap_or("")
    }
    pub fn detail(&self) -> &str {
        self.body["detail"].as_str().unwrap_or("")
    }
    /// The fields named in `errors`.
    pub fn fields(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|a| a.iter().filter_map(|e| e["field"].as_str().map(str::to_owned)).collect())
            .unwrap_or_default()
    }
}

pub async fn problem(res: Response) -> ProblemResponse {
    let status = res.status();
    let content_type = res.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    ProblemResponse { status, content_type, body }
}

/// Asserts a problem+json answer with `status` and an Italian detail; returns it.
pub async fn expect_problem(res: Response, status: u16) -> ProblemResponse {
    let p = problem(res).await;
    assert_eq!(p.status.as_u16(), status, "unexpected status, body: {}", p.body);
    assert_eq!(p.content_type, "application/problem+json");
    assert_eq!(p.body["status"], json!(status));
    assert!(!p.detail().is_empty(), "problem without detail: {}", p.body);
    p
}

impl TestApp {
    pub fn data_dir(&self) -> &std::path::Path {
        self._data_dir.path()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// Creates a user directly through the registry (as the CLI does).
    pub async fn create_user(&self, username: &str, role: Role, sede: Option<&str>, matricole: &[&str]) -> i32 {
        cassetto_api::registry::create_user(
            &self.db,
            &Actor::system(),
            NewUser {
                username: username.into(),
                password: PASSWORD.into(),
                role,
                display_name: format!("Utente {username}"),
                email: Some(format!("{username}@example.it")),
                mobile: None,
                sede: sede.map(Into::into),
                matricole: matricole.iter().map(|m| (*m).to_owned()).collect(),
            },
        )
        .await
        .expect("create user")
        .id
    }

    pub async fn create_sede(&self, code: &str, name: &str, pilot: bool) {
        cassetto_api::registry::create_sede(
            &self.db,
            &Actor::system(),
            cassetto_dto::registry::Sede { code: code.into(), name: name.into(), pilot },
        )
        .await
        .expect("create sede");
    }

    pub async fn create_azienda(&self, matricola: &str, sede: &str) {
        cassetto_api::registry::create_azienda(
            &self.db,
            &Actor::system(),
            cassetto_dto::registry::Azienda {
                matricola: matricola.into(),
                codice_fiscale: valid_cf(matricola),
                ragione_sociale: format!("Azienda {matricola} S.r.l."),
                sede: sede.into(),
                email: Some(format!("info@{matricola}.example")),
                pec: None,
                mobile: None,
            },
        )
        .await
        .expect("create azienda");
    }

    /// An admin user and its token.
    pub async fn admin_token(&self) -> String {
        self.create_user("admin.test", Role::Admin, None, &[]).await;
        self.token("admin.test").await
    }

    pub async fn login(&self, username: &str, password: &str) -> Response {
        self.client
            .post(self.url("/api/v1/auth/login"))
            .json(&json!({"username": username, "password": password}))
            .send()
            .await
            .expect("login request")
    }

    /// Signs in with the test password and returns the bearer token.
    pub async fn token(&self, username: &str) -> String {
        let res = self.login(username, PASSWORD).await;
        assert_eq!(res.status(), 200, "login of {username} failed");
        let body: Value = res.json().await.expect("token json");
        body["access_token"].as_str().expect("access_token").to_owned()
    }

    pub async fn get(&self, path: &str, token: &str) -> Response {
        self.client.get(self.url(path)).bearer_auth(token).send().await.expect("GET")
    }

    pub async fn post_json(&self, path: &str, token: &str, body: &Value) -> Response {
        self.client.post(self.url(path)).bearer_auth(token).json(body).send().await.expect("POST")
    }

    pub async fn patch_json(&self, path: &str, token: &str, body: &Value) -> Response {
        self.client.patch(self.url(path)).bearer_auth(token).json(body).send().await.expect("PATCH")
    }

    pub async fn put_json(&self, path: &str, token: &str, body: &Value) -> Response {
        self.client.put(self.url(path)).bearer_auth(token).json(body).send().await.expect("PUT")
    }

    pub async fn delete(&self, path: &str, token: &str) -> Response {
        self.client.delete(self.url(path)).bearer_auth(token).send().await.expect("DELETE")
    }

    // ---- typed helpers by endpoint ----

    pub async fn post_sede(&self, token: &str, body: &Value) -> Response {
        self.post_json("/api/v1/admin/sedi", token, body).await
    }

    pub async fn post_azienda(&self, token: &str, body: &Value) -> Response {
        self.post_json("/api/v1/admin/aziende", token, body).await
    }

    pub async fn post_user(&self, token: &str, body: &Value) -> Response {
        self.post_json("/api/v1/admin/users", token, body).await
    }

    pub async fn import_aziende(&self, token: &str, csv: &str) -> Response {
        self.client
            .post(self.url("/api/v1/admin/aziende/import"))
            .bearer_auth(token)
            .header("content-type", "text/csv")
            .body(csv.to_owned())
            .send()
            .await
            .expect("import")
    }

    pub async fn client_credentials(&self, client_id: &str, secret: &str) -> Response {
        self.client
            .post(self.url("/api/v1/auth/token"))
            .form(&[("grant_type", "client_credentials"), ("client_id", client_id), ("client_secret", secret)])
            .send()
            .await
            .expect("token")
    }
}

/// Every file below `dir` (none when it does not exist).
pub fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = vec![];
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(files_under(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// A valid numeric codice fiscale derived from a matricola.
pub fn valid_cf(seed: &str) -> String {
    let first10: String = seed.chars().filter(|c| c.is_ascii_digit()).chain(std::iter::repeat('0')).take(10).collect();
    let check = cassetto_domain::ids::numeric_check_digit(&first10).expect("check digit");
    format!("{first10}{check}")
}

/// A file to attach: (name, content).
pub type File = (&'static str, Vec<u8>);

pub fn pdf(text: &str) -> Vec<u8> {
    format!("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n% {text}\n%%EOF\n").into_bytes()
}

impl TestApp {
    /// `POST /api/v1/requests` as multipart with files.
    pub async fn send_request(&self, token: &str, request: &Value, files: Vec<File>) -> Response {
        self.send_request_with_key(token, request, files, None).await
    }

    pub async fn send_request_with_key(
        &self,
        token: &str,
        request: &Value,
        files: Vec<File>,
        key: Option<&str>,
    ) -> Response {
        let mut form = reqwest::multipart::Form::new()
            .part("request", reqwest::multipart::Part::text(request.to_string()).mime_str("application/json").unwrap());
        for (name, bytes) in files {
            form = form.part(
                "files",
                reqwest::multipart::Part::bytes(bytes).file_name(name).mime_str("application/pdf").unwrap(),
            );
        }
        let mut req = self.client.post(self.url("/api/v1/requests")).bearer_auth(token).multipart(form);
        if let Some(k) = key {
            req = req.header("Idempotency-Key", k);
        }
        req.send().await.expect("send request")
    }

    /// Sends a request and returns its JSON, asserting 201.
    pub async fn sent(&self, token: &str, request: &Value) -> Value {
        let res = self.post_json("/api/v1/requests", token, request).await;
        assert_eq!(res.status(), 201, "create failed");
        res.json().await.unwrap()
    }

    /// `GET /api/v1/requests?<query>`.
    pub async fn archive(&self, token: &str, query: &str) -> Value {
        let res = self.get(&format!("/api/v1/requests?{query}"), token).await;
        assert_eq!(res.status(), 200, "archive query {query} failed");
        res.json().await.unwrap()
    }

    /// Copies request `template` `n` times, ids `<prefix>-<i>`, with subject «Ferie estive <i>»,
    /// every hundredth open and unassigned, the others closed (one statement, either backend).
    pub async fn bulk_copies(&self, template: &str, prefix: &str, n: u32) {
        use sea_orm::Statement;
        let backend = self.db.get_database_backend();
        let sql = format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {n}) \
             INSERT INTO requests (id, protocollo, sede_code, matricola, ambito_code, subject, subject_search, body, \
             details, status, created_by, version, attachment_count, created_at, updated_at) \
             SELECT '{prefix}-' || i, '{prefix}.' || i, r.sede_code, r.matricola, r.ambito_code, 'Ferie estive ' || i, \
             'ferie estive ' || i, r.body, r.details, CASE WHEN i % 100 = 0 THEN 'aperta' ELSE 'chiusa' END, \
             r.created_by, 1, 0, r.created_at, r.updated_at FROM n, requests r WHERE r.id = '{template}'"
        );
        self.db.execute_raw(Statement::from_string(backend, sql)).await.expect("bulk copies");
    }

    /// The number of requests counted for `word`, once the running instance has moved every
    /// queued request into the counts (at most 20 s): PostgreSQL's queue of migration 10,
    /// SQLite's of migration 11.
    pub async fn words_settled(&self, word: &str) -> u64 {
        let backend = self.db.get_database_backend();
        let queue = if backend == sea_orm::DbBackend::Sqlite {
            "requests_subject_fts_pending"
        } else {
            "subject_words_pending"
        };
        for _ in 0..200 {
            let pending = self
                .db
                .query_one_raw(sea_orm::Statement::from_string(backend, format!("SELECT COUNT(*) AS n FROM {queue}")))
                .await
                .unwrap()
                .unwrap()
                .try_get::<i64>("", "n")
                .unwrap();
            if pending == 0 {
                return cassetto_storage::subject_words::requests_with(&self.db, word).await.unwrap();
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("the subject word counts never caught up");
    }

    /// SQLite: the subjects waiting to be moved into the trigram table (migration 11); with
    /// `request_id`, that request's rows there. `None` on PostgreSQL.
    pub async fn fts_pending(&self, request_id: Option<&str>) -> Option<i64> {
        if self.db.get_database_backend() != sea_orm::DbBackend::Sqlite {
            return None;
        }
        self.sqlite_count("requests_subject_fts_pending", request_id).await
    }

    /// SQLite: the rows of the trigram table, or of one request there. `None` on PostgreSQL.
    pub async fn fts_rows(&self, request_id: Option<&str>) -> Option<i64> {
        if self.db.get_database_backend() != sea_orm::DbBackend::Sqlite {
            return None;
        }
        self.sqlite_count("requests_subject_fts", request_id).await
    }

    async fn sqlite_count(&self, table: &str, request_id: Option<&str>) -> Option<i64> {
        let (filter, values) = match request_id {
            Some(id) => (" WHERE request_id = ?", vec![id.into()]),
            None => ("", vec![]),
        };
        let stmt = sea_orm::Statement::from_sql_and_values(
            sea_orm::DbBackend::Sqlite,
            format!("SELECT COUNT(*) AS n FROM {table}{filter}"),
            values,
        );
        Some(self.db.query_one_raw(stmt).await.unwrap().unwrap().try_get::<i64>("", "n").unwrap())
    }

    /// Sets a request's status directly in the database (for states the users' side cannot reach).
    pub async fn force_status(&self, id: &str, status: &str) {
        use sea_orm::{ConnectionTrait, Statement};
        let backend = self.db.get_database_backend();
        let sql = match backend {
            sea_orm::DbBackend::Postgres => "UPDATE requests SET status = $1 WHERE id = $2",
            _ => "UPDATE requests SET status = ? WHERE id = ?",
        };
        self.db
            .execute_raw(Statement::from_sql_and_values(backend, sql, [status.into(), id.into()]))
            .await
            .expect("force status");
    }
}

/// The registry most request tests need: sede 7002 in pilot, 5100 not; two companies of 7002
/// and one of 5100; `rossi` (azienda of 7002000011), `bianchi` (azienda of 7002000022),
/// `studio` (intermediario delegated for 7002000011 and 5100000011), `napoli` (azienda of 5100000011).
pub async fn with_companies(backend: Backend) -> TestApp {
    let app = spawn_app(backend).await;
    app.create_sede("7002", "Roma Tiburtino", true).await;
    app.create_sede("5100", "Napoli", false).await;
    app.create_azienda("7002000011", "7002").await;
    app.create_azienda("7002000022", "7002").await;
    app.create_azienda("5100000011", "5100").await;
    app.create_user("rossi", Role::Azienda, None, &["7002000011"]).await;
    app.create_user("bianchi", Role::Azienda, None, &["7002000022"]).await;
    app.create_user("studio", Role::Intermediario, None, &["7002000011", "5100000011"]).await;
    app.create_user("napoli", Role::Azienda, None, &["5100000011"]).await;
    app
}

pub fn generic(matricola: &str, subject: &str) -> Value {
    json!({"matricola": matricola, "ambito": "GENERICA", "subject": subject, "body": "Testo della richiesta.", "details": {}})
}

impl TestApp {
    /// `POST /api/v1/quesiti/{id}/transitions`, with `If-Match` when given.
    pub async fn transition(&self, token: &str, id: &str, body: &Value, if_match: Option<&str>) -> Response {
        let mut req =
            self.client.post(self.url(&format!("/api/v1/quesiti/{id}/transitions"))).bearer_auth(token).json(body);
        if let Some(tag) = if_match {
            req = req.header("If-Match", tag);
        }
        req.send().await.expect("transition")
    }

    /// Sets the timestamps of a request directly (for figures over known durations).
    pub async fn force_times(
        &self,
        id: &str,
        created: chrono::DateTime<chrono::Utc>,
        taken: Option<chrono::DateTime<chrono::Utc>>,
        closed: Option<chrono::DateTime<chrono::Utc>>,
    ) {
        use sea_orm::{ConnectionTrait, Statement};
        let backend = self.db.get_database_backend();
        let sql = match backend {
            sea_orm::DbBackend::Postgres => {
                "UPDATE requests SET created_at = $1, taken_at = $2, closed_at = $3 WHERE id = $4"
            }
            _ => "UPDATE requests SET created_at = ?, taken_at = ?, closed_at = ? WHERE id = ?",
        };
        self.db
            .execute_raw(Statement::from_sql_and_values(
                backend,
                sql,
                [created.into(), taken.into(), closed.into(), id.into()],
            ))
            .await
            .expect("force times");
    }
}

/// `with_companies` plus operatori: `op.roma` and `op2.roma` (7002), `op.catanzaro` (2300, a
/// second pilot sede), a `supervisore` and an `admin`.
pub async fn with_back_office(backend: Backend) -> TestApp {
    let app = with_companies(backend).await;
    app.create_sede("2300", "Catanzaro", true).await;
    app.create_user("op.roma", Role::Operatore, Some("7002"), &[]).await;
    app.create_user("op2.roma", Role::Operatore, Some("7002"), &[]).await;
    app.create_user("op.catanzaro", Role::Operatore, Some("2300"), &[]).await;
    app.create_user("supervisore", Role::Supervisore, None, &[]).await;
    app.create_user("admin", Role::Admin, None, &[]).await;
    app
}
