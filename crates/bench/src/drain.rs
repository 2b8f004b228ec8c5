//! The notification drain: a `cassetto worker` process sends the outbox to a local SMTP server;
//! the floor sends as many messages through the same SMTP transport without the database.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter};

use cassetto_notifications::transport::{MailSender, OutgoingEmail, SmtpMailer};
use cassetto_storage::{entities::notification, outbox};
use cassetto_testkit::{SmsGateway, SmtpServer};

use crate::report::{Line, Measure, Samples};

/// The worker's default `CASSETTO_NOTIFY_CONCURRENCY`.
const CONCURRENCY: usize = 32;

async fn pending_mail(db: &DatabaseConnection) -> anyhow::Result<u64> {
    Ok(notification::Entity::find()
        .filter(notification::Column::Channel.eq("email"))
        .filter(notification::Column::Status.is_in([outbox::PENDING, outbox::SENDING]))
        .count(db)
        .await?)
}

pub async fn run(bin: &Path, db_url: &str, db: &DatabaseConnection, data_dir: &Path) -> anyhow::Result<Vec<Line>> {
    let smtp = SmtpServer::start().await;
    let sms = SmsGateway::start(vec![]).await;
    let backlog = pending_mail(db).await?;
    anyhow::ensure!(backlog > 0, "no e-mail in the outbox to drain");
    let started = Instant::now();
    let (mut child, _) = crate::server::spawn(
        bin,
        &["worker"],
        db_url,
        data_dir,
        &[("CASSETTO_SMTP_URL", smtp.url()), ("CASSETTO_SMS_URL", sms.url()), ("CASSETTO_WORKER_POLL_MS", "50".into())],
    )?;
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        if pending_mail(db).await? == 0 {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            anyhow::bail!("the worker did not drain {backlog} e-mails in 600 s");
        }
        if let Some(s) = child.try_wait()? {
            anyhow::bail!("the worker exited with {s}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let _ = child.kill();
    let _ = child.wait();
    let received = smtp.mails().len();
    let rate = backlog as f64 / elapsed;

    // Floor: the same number of messages through the same transport, as many at a time.
    let sink = SmtpServer::start().await;
    let mailer = Arc::new(SmtpMailer::new(&sink.url(), "Cassetto <noreply@localhost>".parse()?, CONCURRENCY as u32)?);
    let next = Arc::new(AtomicUsize::new(0));
    let total = backlog as usize;
    let t = Instant::now();
    let tasks = (0..CONCURRENCY).map(|_| {
        let (mailer, next) = (mailer.clone(), next.clone());
        async move {
            let mut lat = Samples::default();
            while next.fetch_add(1, Ordering::Relaxed) < total {
                let m = OutgoingEmail {
                    to: "azienda@example.invalid".into(),
                    message_id: format!("<{}@bench>", uuid::Uuid::now_v7()),
                    subject: "Richiesta protocollata".into(),
                    text: "Gentile utente, la richiesta è stata protocollata.".into(),
                    html: Some("<p>Gentile utente, la richiesta è stata protocollata.</p>".into()),
                };
                let s = Instant::now();
                mailer.send(&m).await?;
                lat.push(s.elapsed());
            }
            anyhow::Ok(lat)
        }
    });
    let mut flat = Samples::default();
    for r in join_all(tasks).await {
        flat.0.extend(r?.0);
    }
    let frate = total as f64 / t.elapsed().as_secs_f64();
    Ok(vec![Line {
        section: "Notification drain to a local SMTP server, e-mails/s",
        name: format!("`cassetto worker` ({CONCURRENCY} at a time)"),
        http: Measure::Rate { per_s: rate, latency: Samples::default() },
        floor: Measure::Rate { per_s: frate, latency: flat },
        note: format!("{backlog} e-mails in {elapsed:.1} s, {received} received (plus {} SMS)", sms.delivered().len()),
    }])
}
