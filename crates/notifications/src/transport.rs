//! Delivery channels. E-mail: SMTP with pooled connections (TLS and credentials from the URL)
//! or `.eml` files; SMS: a JSON HTTP gateway behind `SmsSender`, so real Italian gateways can
//! be added, or `.json` files.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use async_trait::async_trait;
use lettre::{
    message::{header::ContentType, Mailbox, MultiPart, SinglePart},
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
};

/// A ready e-mail.
#[derive(Debug, Clone)]
pub struct OutgoingEmail {
    pub to: String,
    pub message_id: String,
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
}

#[async_trait]
pub trait MailSender: Send + Sync {
    async fn send(&self, mail: &OutgoingEmail) -> anyhow::Result<()>;
}

#[async_trait]
pub trait SmsSender: Send + Sync {
    /// `key` is stable across retries of the same message, for gateways that deduplicate.
    async fn send(&self, to: &str, text: &str, key: &str) -> anyhow::Result<()>;
}

fn build(from: &Mailbox, mail: &OutgoingEmail) -> anyhow::Result<Message> {
    let to: Mailbox = mail.to.parse().with_context(|| "indirizzo del destinatario non valido".to_string())?;
    let builder = Message::builder()
        .from(from.clone())
        .to(to)
        .subject(mail.subject.clone())
        .message_id(Some(mail.message_id.clone()));
    let msg = match &mail.html {
        Some(html) => builder.multipart(
            MultiPart::alternative()
                .singlepart(SinglePart::builder().header(ContentType::TEXT_PLAIN).body(mail.text.clone()))
                .singlepart(SinglePart::builder().header(ContentType::TEXT_HTML).body(html.clone())),
        )?,
        None => builder.header(ContentType::TEXT_PLAIN).body(mail.text.clone())?,
    };
    Ok(msg)
}

/// SMTP through a relay, as lettre reads the URL: `smtp://host:port` is plain SMTP,
/// `smtp://host:587?tls=required` (or `tls=opportunistic`) upgrades with STARTTLS, `smtps://`
/// is TLS from the start, `smtp://user:pass@host` adds credentials.
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpMailer {
    /// `connections`: the most SMTP connections kept open at once (one per message in flight).
    pub fn new(url: &str, from: Mailbox, connections: u32) -> anyhow::Result<Self> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .context("CASSETTO_SMTP_URL non valido")?
            .timeout(Some(Duration::from_secs(15)))
            .pool_config(lettre::transport::smtp::PoolConfig::new().max_size(connections.max(1)))
            .build();
        Ok(Self { transport, from })
    }
}

#[async_trait]
impl MailSender for SmtpMailer {
    async fn send(&self, mail: &OutgoingEmail) -> anyhow::Result<()> {
        let msg = build(&self.from, mail)?;
        self.transport.send(msg).await.map_err(|e| anyhow::anyhow!("SMTP: {e}"))?;
        Ok(())
    }
}

/// Writes each message as `<dir>/<message-id>.eml` (the embedded default).
pub struct FileMailer {
    dir: PathBuf,
    from: Mailbox,
}

impl FileMailer {
    pub fn new(dir: PathBuf, from: Mailbox) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&dir).with_context(|| format!("cartella della posta {}", dir.display()))?;
        Ok(Self { dir, from })
    }
}

fn file_name(key: &str) -> String {
    key.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')).collect()
}

async fn write_atomically(dir: &Path, name: &str, bytes: &[u8]) -> anyhow::Result<()> {
    let tmp = dir.join(format!(".{name}.tmp"));
    tokio::fs::write(&tmp, bytes).await?;
    tokio::fs::rename(&tmp, dir.join(name)).await?;
    Ok(())
}

#[async_trait]
impl MailSender for FileMailer {
    async fn send(&self, mail: &OutgoingEmail) -> anyhow::Result<()> {
        let msg = build(&self.from, mail)?;
        write_atomically(&self.dir, &format!("{}.eml", file_name(&mail.message_id)), &msg.formatted()).await
    }
}

/// `POST {"to": "+39…", "text": "…"}` to an HTTP gateway; the message key travels in
/// `Idempotency-Key`. Any status other than 2xx is a failure to retry.
pub struct HttpSms {
    url: String,
    client: reqwest::Client,
}

impl HttpSms {
    pub fn new(url: &str) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder().timeout(Duration::from_secs(15)).build()?;
        Ok(Self { url: url.to_owned(), client })
    }
}

#[async_trait]
impl SmsSender for HttpSms {
    async fn send(&self, to: &str, text: &str, key: &str) -> anyhow::Result<()> {
        let res = self
            .client
            .post(&self.url)
            .header("Idempotency-Key", key)
            .json(&serde_json::json!({"to": to, "text": text}))
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("gateway SMS non raggiungibile: {e}"))?;
        let status = res.status();
        if status.is_success() {
            Ok(())
        } else {
            let body: String = res.text().await.unwrap_or_default().chars().take(200).collect();
            Err(anyhow::anyhow!("gateway SMS: HTTP {status} {body}"))
        }
    }
}

/// Writes each SMS as `<dir>/<key>.json` (the embedded default).
pub struct FileSms {
    dir: PathBuf,
}

impl FileSms {
    pub fn new(dir: PathBuf) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&dir).with_context(|| format!("cartella degli SMS {}", dir.display()))?;
        Ok(Self { dir })
    }
}

#[async_trait]
impl SmsSender for FileSms {
    async fn send(&self, to: &str, text: &str, key: &str) -> anyhow::Result<()> {
        let body = serde_json::to_vec_pretty(&serde_json::json!({"to": to, "text": text}))?;
        write_atomically(&self.dir, &format!("{}.json", file_name(key)), &body).await
    }
}
