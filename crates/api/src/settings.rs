//! Settings from the environment (every variable optional), with embedded defaults.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use rand::RngCore;

#[derive(Clone, Debug)]
pub struct Settings {
    pub database_url: String,
    pub bind: String,
    pub data_dir: PathBuf,
    pub jwt_secret: Vec<u8>,
    pub smtp_url: Option<String>,
    pub mail_from: String,
    pub sms_url: Option<String>,
    pub max_file_bytes: u64,
    /// Lifetime of issued tokens, in seconds.
    pub token_ttl_s: u64,
    /// Where the built SPA lives (`frontend/dist`); a placeholder page is served when absent.
    pub spa_dir: PathBuf,
    /// HTTP worker threads; defaults to one per core.
    pub workers: Option<usize>,
    /// Run the notification worker inside `serve`.
    pub run_worker: bool,
    pub worker_poll_ms: u64,
    pub notify_max_attempts: i32,
    pub notify_backoff_ms: u64,
    /// Messages a worker sends at once (and SMTP connections it keeps open).
    pub notify_concurrency: usize,
    /// How long a claimed message stays reserved to its worker; after a crash it is sent
    /// again by any worker once the lease runs out.
    pub notify_lease_secs: u64,
    /// How long a request waits for a database connection before it is answered 503.
    pub db_acquire_timeout_ms: u64,
    /// Origins (`https://host[:port]`) whose pages may call the API from a browser; none by
    /// default (the web app is served from the API's own origin).
    pub cors_origins: Vec<String>,
    /// Where attachment bundles are kept.
    pub attachments: AttachmentStore,
}

/// The attachment store: a directory (default `<data dir>/attachments`, shared by every
/// instance when they run on several machines) or an S3-compatible bucket.
#[derive(Clone, Debug)]
pub enum AttachmentStore {
    Dir(PathBuf),
    S3(S3Settings),
}

/// `CASSETTO_S3_*`; credentials may also come from the standard `AWS_*` variables.
#[derive(Clone, Debug)]
pub struct S3Settings {
    pub bucket: String,
    /// Key prefix of the bundles (default `bundles`).
    pub prefix: String,
    /// The service's address for S3-compatible servers (`http://127.0.0.1:9000`); AWS otherwise.
    pub endpoint: Option<String>,
    pub region: String,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<Secret>,
}

/// A value kept out of logs and `Debug` output.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: String) -> Self {
        Self(s)
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("«nascosto»")
    }
}

impl Settings {
    /// Reads `CASSETTO_*` variables; creates the data dir and the generated JWT secret.
    pub fn from_env() -> anyhow::Result<Self> {
        Self::from_lookup(|k| std::env::var(k).ok().filter(|v| !v.trim().is_empty()))
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let data_dir = PathBuf::from(get("CASSETTO_DATA_DIR").unwrap_or_else(|| "./data".into()));
        ensure_writable_dir(&data_dir)?;
        let database_url =
            get("CASSETTO_DATABASE_URL").unwrap_or_else(|| format!("sqlite://{}/cassetto.db", data_dir.display()));
        check_database_url(&database_url)?;
        let bind = get("CASSETTO_BIND").unwrap_or_else(|| "127.0.0.1:8080".into());
        if bind.parse::<std::net::SocketAddr>().is_err() {
            bail!("CASSETTO_BIND «{bind}» non è un indirizzo valido (esempio: 127.0.0.1:8080)");
        }
        let jwt_secret = match get("CASSETTO_JWT_SECRET") {
            Some(s) if s.len() >= 32 => s.into_bytes(),
            Some(_) => bail!("CASSETTO_JWT_SECRET deve avere almeno 32 caratteri"),
            None => load_or_generate_secret(&data_dir)?,
        };
        let smtp_url =
            url_setting(&get, "CASSETTO_SMTP_URL", &["smtp", "smtps"], "deve iniziare con smtp:// o smtps://")?;
        let sms_url =
            url_setting(&get, "CASSETTO_SMS_URL", &["http", "https"], "deve essere un indirizzo http:// o https://")?;
        let max_file_bytes = match get("CASSETTO_MAX_FILE_BYTES") {
            Some(v) => v
                .parse::<u64>()
                .ok()
                .filter(|n| *n > 0)
                .with_context(|| format!("CASSETTO_MAX_FILE_BYTES «{v}» non è un numero positivo"))?,
            None => 10 * 1024 * 1024,
        };
        let attachments = attachment_store(&get, &data_dir)?;
        Ok(Settings {
            attachments,
            database_url,
            bind,
            data_dir,
            jwt_secret,
            smtp_url,
            mail_from: get("CASSETTO_MAIL_FROM").unwrap_or_else(|| "Cassetto INPS <noreply@localhost>".into()),
            sms_url,
            max_file_bytes,
            token_ttl_s: 3600,
            spa_dir: PathBuf::from(get("CASSETTO_SPA_DIR").unwrap_or_else(|| "frontend/dist".into())),
            workers: match get("CASSETTO_WORKERS") {
                Some(v) => Some(
                    v.parse::<usize>()
                        .ok()
                        .filter(|n| *n > 0)
                        .with_context(|| format!("CASSETTO_WORKERS «{v}» non è un numero positivo"))?,
                ),
                None => None,
            },
            run_worker: true,
            worker_poll_ms: positive(&get, "CASSETTO_WORKER_POLL_MS", 1000)?,
            notify_max_attempts: positive(&get, "CASSETTO_NOTIFY_MAX_ATTEMPTS", 8)? as i32,
            notify_backoff_ms: positive(&get, "CASSETTO_NOTIFY_BACKOFF_MS", 5000)?,
            notify_concurrency: positive(&get, "CASSETTO_NOTIFY_CONCURRENCY", 32)? as usize,
            notify_lease_secs: positive(&get, "CASSETTO_NOTIFY_LEASE_SECS", 120)?,
            db_acquire_timeout_ms: positive(&get, "CASSETTO_DB_ACQUIRE_TIMEOUT_MS", 5000)?,
            cors_origins: cors_origins(get("CASSETTO_CORS_ORIGINS").as_deref())?,
        })
    }
}

fn positive(get: &impl Fn(&str) -> Option<String>, key: &str, default: u64) -> anyhow::Result<u64> {
    match get(key) {
        Some(v) => v
            .parse::<u64>()
            .ok()
            .filter(|n| *n > 0 && *n < 1_000_000_000)
            .with_context(|| format!("{key} «{v}» non è un numero positivo")),
        None => Ok(default),
    }
}

/// A comma-separated list of origins, each `http(s)://host[:port]` without path.
fn cors_origins(raw: Option<&str>) -> anyhow::Result<Vec<String>> {
    let Some(raw) = raw else { return Ok(vec![]) };
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            let u = url::Url::parse(s).ok().filter(|u| {
                matches!(u.scheme(), "http" | "https")
                    && u.host_str().is_some()
                    && u.path() == "/"
                    && !s.ends_with('/')
                    && u.query().is_none()
            });
            match u {
                Some(u) => Ok(u.origin().ascii_serialization()),
                None => {
                    bail!("CASSETTO_CORS_ORIGINS: «{s}» non è un'origine valida (esempio: https://cassetto.example.it)")
                }
            }
        })
        .collect()
}

/// An optional URL setting whose scheme must be one of `schemes`; `rule` completes the error.
fn url_setting(
    get: &impl Fn(&str) -> Option<String>,
    key: &str,
    schemes: &[&str],
    rule: &str,
) -> anyhow::Result<Option<String>> {
    let value = get(key);
    if let Some(v) = &value {
        let scheme = url::Url::parse(v).ok().map(|u| u.scheme().to_owned());
        if !scheme.is_some_and(|s| schemes.contains(&s.as_str())) {
            bail!("{key} {rule}");
        }
    }
    Ok(value)
}

fn attachment_store(get: &impl Fn(&str) -> Option<String>, data_dir: &Path) -> anyhow::Result<AttachmentStore> {
    let Some(bucket) = get("CASSETTO_S3_BUCKET") else {
        let dir = get("CASSETTO_ATTACHMENTS_DIR").map(PathBuf::from).unwrap_or_else(|| data_dir.join("attachments"));
        return Ok(AttachmentStore::Dir(dir));
    };
    if get("CASSETTO_ATTACHMENTS_DIR").is_some() {
        bail!("CASSETTO_ATTACHMENTS_DIR e CASSETTO_S3_BUCKET sono alternativi: impostarne uno solo");
    }
    let endpoint =
        url_setting(get, "CASSETTO_S3_ENDPOINT", &["http", "https"], "deve essere un indirizzo http:// o https://")?;
    Ok(AttachmentStore::S3(S3Settings {
        bucket,
        prefix: get("CASSETTO_S3_PREFIX").unwrap_or_else(|| "bundles".into()),
        endpoint,
        region: get("CASSETTO_S3_REGION").unwrap_or_else(|| "eu-south-1".into()),
        access_key_id: get("CASSETTO_S3_ACCESS_KEY_ID"),
        secret_access_key: get("CASSETTO_S3_SECRET_ACCESS_KEY").map(Secret::new),
    }))
}

fn check_database_url(url: &str) -> anyhow::Result<()> {
    if url.starts_with("sqlite:") {
        return Ok(());
    }
    match url::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "postgres" | "postgresql") => Ok(()),
        _ => bail!("CASSETTO_DATABASE_URL deve iniziare con sqlite:// o postgres://"),
    }
}

fn ensure_writable_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("impossibile creare la cartella dati {}", dir.display()))?;
    let probe = dir.join(".write-test");
    std::fs::write(&probe, b"ok").with_context(|| format!("la cartella dati {} non è scrivibile", dir.display()))?;
    let _ = std::fs::remove_file(probe);
    Ok(())
}

/// A development secret generated once and kept in the data dir (mode 0600).
fn load_or_generate_secret(dir: &Path) -> anyhow::Result<Vec<u8>> {
    let path = dir.join("jwt_secret");
    if let Ok(s) = std::fs::read_to_string(&path) {
        let s = s.trim().to_owned();
        if s.len() >= 32 {
            return Ok(s.into_bytes());
        }
    }
    let mut raw = [0u8; 48];
    rand::rng().fill_bytes(&mut raw);
    let secret = hex::encode(raw);
    write_private(&path, secret.as_bytes()).with_context(|| format!("impossibile scrivere {}", path.display()))?;
    Ok(secret.into_bytes())
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)?;
        f.write_all(bytes)?;
        f.sync_all()
    }
    #[cfg(not(unix))]
    {
        std::fs::write(path, bytes)
    }
}
