//! The outbox worker: claims due rows with a lease, sends them with bounded concurrency,
//! records the result, retries failures with exponential back-off and jitter, and gives up
//! after `max_attempts`, marking the row failed with its last error.

use std::sync::Arc;
use std::time::Duration;

use cassetto_storage::{entities::notification, outbox, DatabaseConnection};
use chrono::Utc;
use futures_util::StreamExt;
use lettre::message::Mailbox;
use rand::Rng;
use tokio::sync::Notify;

use crate::transport::{FileMailer, FileSms, HttpSms, MailSender, OutgoingEmail, SmsSender, SmtpMailer};
use crate::webhook::HttpWebhook;

#[derive(Debug, Clone)]
pub struct WorkerConfig {
    pub worker_id: String,
    pub batch: u64,
    pub concurrency: usize,
    pub lease: Duration,
    /// How often to look for due rows when not woken.
    pub poll: Duration,
    pub max_attempts: i32,
    pub base_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            worker_id: format!("w-{}", &uuid_like()),
            batch: 100,
            concurrency: 16,
            lease: Duration::from_secs(120),
            poll: Duration::from_secs(1),
            max_attempts: 8,
            base_backoff: Duration::from_secs(5),
            max_backoff: Duration::from_secs(30 * 60),
        }
    }
}

fn uuid_like() -> String {
    let n: u64 = rand::rng().random();
    format!("{n:016x}")
}

/// Where messages go.
#[derive(Clone)]
pub struct Channels {
    pub mail: Arc<dyn MailSender>,
    pub sms: Arc<dyn SmsSender>,
    pub webhook: Arc<HttpWebhook>,
}

impl Channels {
    /// SMTP or files, HTTP gateway or files, as configured.
    pub fn from_config(
        smtp_url: Option<&str>,
        mail_from: &str,
        sms_url: Option<&str>,
        data_dir: &std::path::Path,
        concurrency: usize,
    ) -> anyhow::Result<Self> {
        let from: Mailbox = mail_from
            .parse()
            .map_err(|_| anyhow::anyhow!("CASSETTO_MAIL_FROM «{mail_from}» non è un mittente valido"))?;
        let mail: Arc<dyn MailSender> = match smtp_url {
            Some(url) => Arc::new(SmtpMailer::new(url, from, concurrency as u32)?),
            None => Arc::new(FileMailer::new(data_dir.join("mail"), from)?),
        };
        let sms: Arc<dyn SmsSender> = match sms_url {
            Some(url) => Arc::new(HttpSms::new(url)?),
            None => Arc::new(FileSms::new(data_dir.join("sms"))?),
        };
        Ok(Self { mail, sms, webhook: Arc::new(HttpWebhook::new()?) })
    }
}

/// Rounds a worker runs at once (see [`Worker::run`]).
const LANES: usize = 2;

pub struct Worker {
    db: DatabaseConnection,
    channels: Channels,
    cfg: WorkerConfig,
    wake: Arc<Notify>,
}

impl Worker {
    pub fn new(db: DatabaseConnection, channels: Channels, cfg: WorkerConfig, wake: Arc<Notify>) -> Self {
        Self { db, channels, cfg, wake }
    }

    /// Delay before attempt `attempts + 1`: base·2^(attempts−1), capped, ±20 % jitter.
    pub fn backoff(&self, attempts: i32) -> Duration {
        let exp = attempts.clamp(1, 20) as u32 - 1;
        let raw = self.cfg.base_backoff.saturating_mul(2u32.saturating_pow(exp)).min(self.cfg.max_backoff);
        let jitter: f64 = rand::rng().random_range(0.8..1.2);
        raw.mul_f64(jitter)
    }
}

async fn deliver(channels: Channels, row: notification::Model, secret: Option<String>) -> anyhow::Result<()> {
    match row.channel.as_str() {
        "email" => {
            channels
                .mail
                .send(&OutgoingEmail {
                    to: row.recipient.clone(),
                    message_id: row.message_id.clone(),
                    subject: row.subject.clone().unwrap_or_default(),
                    text: row.body.clone(),
                    html: row.body_html.clone(),
                })
                .await
        }
        "sms" => channels.sms.send(&row.recipient, &row.body, &row.message_id).await,
        "webhook" => {
            let secret = secret.ok_or_else(|| anyhow::anyhow!("webhook eliminato"))?;
            channels.webhook.send(&row.recipient, &row.message_id, &secret, &row.body).await
        }
        other => Err(anyhow::anyhow!("canale sconosciuto: {other}")),
    }
}

impl Worker {
    /// One round: claim, send, record. Returns how many rows were handled.
    pub async fn run_once(&self) -> anyhow::Result<usize> {
        self.round(self.cfg.concurrency).await
    }

    async fn round(&self, concurrency: usize) -> anyhow::Result<usize> {
        let now = Utc::now();
        let lease_until = now + chrono::Duration::from_std(self.cfg.lease)?;
        let rows = outbox::claim_due(&self.db, &self.cfg.worker_id, self.cfg.batch, now, lease_until).await?;
        if rows.is_empty() {
            return Ok(0);
        }
        let hook_ids: Vec<i32> = rows.iter().filter_map(|r| r.webhook_id).collect();
        let secrets =
            if hook_ids.is_empty() { vec![] } else { cassetto_storage::webhooks::secrets(&self.db, hook_ids).await? };
        let sends: Vec<_> = rows
            .into_iter()
            .map(|row| {
                let channels = self.channels.clone();
                let secret = row.webhook_id.and_then(|id| secrets.iter().find(|s| s.0 == id).map(|s| s.1.clone()));
                async move { (row.id, row.attempts, deliver(channels, row, secret).await) }
            })
            .collect();
        let results: Vec<(i64, i32, anyhow::Result<()>)> =
            futures_util::stream::iter(sends).buffer_unordered(concurrency).collect().await;
        let sent: Vec<i64> = results.iter().filter(|r| r.2.is_ok()).map(|r| r.0).collect();
        // Recorded as a member of the writer's group transaction, like every other write: on
        // SQLite's own write connection (see `cassetto_storage::begin_write`).
        if !sent.is_empty() {
            let txn = cassetto_storage::begin_write(&self.db).await?;
            outbox::mark_sent(&txn, &sent, &self.cfg.worker_id, Utc::now()).await?;
            txn.commit().await?;
        }
        for (id, attempts, result) in &results {
            if let Err(e) = result {
                let next = (*attempts < self.cfg.max_attempts)
                    .then(|| Utc::now() + chrono::Duration::from_std(self.backoff(*attempts)).unwrap_or_default());
                if next.is_none() {
                    tracing::error!(notification = id, attempts, error = %e, "notification failed for good");
                } else {
                    tracing::warn!(notification = id, attempts, error = %e, "notification not sent, will retry");
                }
                let txn = cassetto_storage::begin_write(&self.db).await?;
                outbox::mark_unsent(&txn, *id, &self.cfg.worker_id, &format!("{e:#}"), next).await?;
                txn.commit().await?;
            }
        }
        Ok(results.len())
    }

    /// Runs until `shutdown` resolves; woken early by `wake` when new rows are committed.
    ///
    /// Two lanes share the work, each claiming its own batch with half the concurrency: while
    /// one waits for the slowest messages of its batch or records results, the other sends, so
    /// the relay is kept busy. A lane stops after its current round once `shutdown` resolves.
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()>) {
        tracing::info!(worker = %self.cfg.worker_id, "notification worker started");
        let lane_concurrency = self.cfg.concurrency.div_ceil(LANES).max(1);
        let me = Arc::new(self);
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let lanes: Vec<_> = (0..LANES)
            .map(|_| {
                let (me, stopped) = (me.clone(), stopped.clone());
                tokio::spawn(async move { me.lane(lane_concurrency, stopped).await })
            })
            .collect();
        shutdown.await;
        let _ = stop.send(true);
        for lane in lanes {
            let _ = lane.await;
        }
        tracing::info!(worker = %me.cfg.worker_id, "notification worker stopped");
    }

    async fn lane(&self, concurrency: usize, mut stopped: tokio::sync::watch::Receiver<bool>) {
        while !*stopped.borrow() {
            let handled = match self.round(concurrency).await {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(error = ?e, "notification round failed");
                    0
                }
            };
            if handled > 0 {
                continue;
            }
            tokio::select! {
                _ = stopped.changed() => break,
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(self.cfg.poll) => {}
            }
        }
    }
}
