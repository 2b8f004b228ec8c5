//! Notifications: each event's e-mails and SMS through a real SMTP server and HTTP gateway on
//! 127.0.0.1, outages, retries, failures, concurrent workers, preferences and the delivery log.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use cassetto_notifications::{
    transport::{MailSender, OutgoingEmail, SmsSender},
    worker::Channels,
    Worker, WorkerConfig,
};
use cassetto_storage::outbox;
use serde_json::{json, Value};

use crate::both;
use crate::fakes::{wait_until, SmsGateway, SmtpServer};
use crate::helpers::{generic, spawn_app_with, Backend, TestApp};

fn fast(smtp: &str, sms: &str) -> HashMap<&'static str, String> {
    HashMap::from([
        ("CASSETTO_SMTP_URL", smtp.to_owned()),
        ("CASSETTO_SMS_URL", sms.to_owned()),
        ("CASSETTO_WORKER_POLL_MS", "50".to_owned()),
        ("CASSETTO_NOTIFY_BACKOFF_MS", "100".to_owned()),
        ("CASSETTO_NOTIFY_MAX_ATTEMPTS", "30".to_owned()),
    ])
}

async fn registry(app: &TestApp) {
    use cassetto_domain::Role;
    app.create_sede("7002", "Roma Tiburtino", true).await;
    app.create_sede("2300", "Catanzaro", true).await;
    app.create_azienda("7002000011", "7002").await;
    app.create_user("rossi", Role::Azienda, None, &["7002000011"]).await;
    app.create_user("op.roma", Role::Operatore, Some("7002"), &[]).await;
}

async fn set_prefs(app: &TestApp, token: &str, prefs: Value) {
    let res = app.put_json("/api/v1/me/preferences", token, &prefs).await;
    assert_eq!(res.status(), 200);
}

/// The delivery log once no row is pending or being sent (10 s at most).
async fn settled_log(app: &TestApp, token: &str, id: &str) -> Vec<Value> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let log: Value = app.get(&format!("/api/v1/requests/{id}/notifications"), token).await.json().await.unwrap();
        let rows = log.as_array().unwrap().clone();
        let settled = rows.iter().all(|n| n["status"] == "sent" || n["status"] == "failed");
        if settled || std::time::Instant::now() > deadline {
            return rows;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

fn to(mails: &[crate::fakes::Mail], addr: &str, subject_part: &str) -> Vec<crate::fakes::Mail> {
    mails.iter().filter(|m| m.to.contains(&addr.to_owned()) && m.text().contains(subject_part)).cloned().collect()
}

async fn each_event_sends_its_messages_with_their_texts(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let gw = SmsGateway::start(vec![]).await;
    let app = spawn_app_with(backend, fast(&smtp.url(), &gw.url())).await;
    registry(&app).await;
    let rossi = app.token("rossi").await;
    let op = app.token("op.roma").await;
    set_prefs(
        &app,
        &rossi,
        json!({"email": "paghe@rossi.it", "mobile": "333 1234567", "email_enabled": true, "sms_enabled": true}),
    )
    .await;

    let r = app.sent(&rossi, &generic("7002000011", "Verifica contributi")).await;
    let (id, prot) = (r["id"].as_str().unwrap().to_owned(), r["protocollo"].as_str().unwrap().to_owned());
    assert!(wait_until(10, || smtp.mails().len() >= 2 && gw.delivered().len() == 1).await, "registered not delivered");
    let mails = smtp.mails();
    let registered = to(&mails, "paghe@rossi.it", "protocollata");
    assert_eq!(registered.len(), 1);
    let text = registered[0].text();
    assert!(text.contains(&prot) && text.contains("Roma Tiburtino") && text.contains("Verifica contributi"), "{text}");
    assert!(registered[0].header("Message-ID").unwrap().contains(&format!("{id}.v1.registered.email")));
    assert_eq!(to(&mails, "info@7002000011.example", "protocollata").len(), 1, "the company's registry address too");
    let sms = gw.delivered();
    assert_eq!(sms[0]["to"], "+393331234567");
    assert!(sms[0]["text"].as_str().unwrap().contains(&prot));
    assert!(sms[0]["text"].as_str().unwrap().chars().count() <= 160);

    app.transition(&op, &id, &json!({"to": "in_carico", "comment": "Ci lavoriamo."}), None).await;
    app.post_json(&format!("/api/v1/quesiti/{id}/comments"), &op, &json!({"body": "Inviare le quietanze."})).await;
    app.post_json(&format!("/api/v1/quesiti/{id}/comments"), &op, &json!({"body": "INTERNO", "internal": true})).await;
    app.transition(
        &op,
        &id,
        &json!({"to": "chiusa", "esito": {"code": "accolta", "text": "Posizione regolarizzata."}}),
        None,
    )
    .await;

    assert!(wait_until(10, || to(&smtp.mails(), "paghe@rossi.it", "").len() == 4 && gw.delivered().len() == 2).await);
    let mails = smtp.mails();
    assert_eq!(to(&mails, "paghe@rossi.it", "presa in carico").len(), 1);
    assert_eq!(to(&mails, "paghe@rossi.it", "Inviare le quietanze.").len(), 1);
    let closed = to(&mails, "paghe@rossi.it", "Posizione regolarizzata.");
    assert_eq!(closed.len(), 1);
    assert!(closed[0].text().contains("Esito: Accolta"));
    assert!(!mails.iter().any(|m| m.text().contains("INTERNO")), "internal comments are never sent");
    assert!(gw.delivered()[1]["text"].as_str().unwrap().contains("Esito: Accolta"));
    let log = settled_log(&app, &rossi, &id).await;
    assert!(log.iter().all(|n| n["status"] == "sent"), "{log:?}");
    assert!(log.iter().any(|n| n["recipient"] == "p***@rossi.it"));
    assert!(log.iter().any(|n| n["recipient"] == "+39333*****67"));
    let events: Vec<&str> = log
        .iter()
        .filter(|n| n["channel"] == "email" && n["recipient"] == "p***@rossi.it")
        .map(|n| n["event"].as_str().unwrap())
        .collect();
    assert_eq!(events, vec!["registered", "taken_in_charge", "commented", "closed"]);
}

async fn rerouting_tells_the_sender(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let gw = SmsGateway::start(vec![]).await;
    let app = spawn_app_with(backend, fast(&smtp.url(), &gw.url())).await;
    registry(&app).await;
    let rossi = app.token("rossi").await;
    let op = app.token("op.roma").await;
    let id = app.sent(&rossi, &generic("7002000011", "Da smistare")).await["id"].as_str().unwrap().to_owned();

    app.post_json(
        &format!("/api/v1/quesiti/{id}/reroute"),
        &op,
        &json!({"sede": "2300", "comment": "Competenza territoriale."}),
    )
    .await;

    assert!(wait_until(10, || !to(&smtp.mails(), "rossi@example.it", "trasferita").is_empty()).await);
    let m = &to(&smtp.mails(), "rossi@example.it", "trasferita")[0];
    let text = m.text();
    assert!(
        text.contains("Roma Tiburtino") && text.contains("Catanzaro") && text.contains("Competenza territoriale."),
        "{text}"
    );
}

async fn an_smtp_outage_loses_nothing(backend: Backend) {
    let mut first = SmtpServer::start().await;
    let port = first.port;
    first.stop();
    let gw = SmsGateway::start(vec![]).await;
    let app = spawn_app_with(backend, fast(&format!("smtp://127.0.0.1:{port}"), &gw.url())).await;
    registry(&app).await;
    let rossi = app.token("rossi").await;

    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(
            app.sent(&rossi, &generic("7002000011", &format!("Durante il guasto {i}"))).await["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    // Let several attempts fail while the relay is down.
    let mut log: Value;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        log = app.get(&format!("/api/v1/requests/{}/notifications", ids[0]), &rossi).await.json().await.unwrap();
        if log[0]["attempts"].as_i64().unwrap_or(0) >= 2 || std::time::Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(log.as_array().unwrap().iter().all(|n| n["status"] != "sent"));
    assert!(log[0]["attempts"].as_i64().unwrap() >= 2, "{log}");
    assert!(log[0]["last_error"].as_str().unwrap_or("").contains("SMTP"), "{log}");

    let back = SmtpServer::start_on(port).await;
    assert!(wait_until(15, || back.mails().len() == 10).await, "only {} of 10 arrived", back.mails().len());
    for id in &ids {
        assert_eq!(
            back.mails().iter().filter(|m| m.data.contains(id.as_str())).count(),
            2,
            "{id}: one to the user, one to the company"
        );
    }
    // The worker records the sends just after the relay accepts them.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while outbox::backlog(&app.db).await.unwrap() > 0 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(outbox::backlog(&app.db).await.unwrap(), 0);
}

/// An app on these relays whose user `rossi` is told by SMS only (+39 347 7654321).
async fn sms_only_sender(backend: Backend, smtp: &str, sms: &str) -> (TestApp, String) {
    let app = spawn_app_with(backend, fast(smtp, sms)).await;
    registry(&app).await;
    let rossi = app.token("rossi").await;
    set_prefs(
        &app,
        &rossi,
        json!({"email": null, "mobile": "+39 347 7654321", "email_enabled": false, "sms_enabled": true}),
    )
    .await;
    (app, rossi)
}

async fn a_gateway_error_is_retried_until_it_answers(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let gw = SmsGateway::start(vec![500, 503]).await;
    let (app, rossi) = sms_only_sender(backend, &smtp.url(), &gw.url()).await;

    let id = app.sent(&rossi, &generic("7002000011", "SMS")).await["id"].as_str().unwrap().to_owned();

    assert!(wait_until(10, || gw.delivered().len() == 1).await);
    assert_eq!(gw.attempts(), 3);
    assert_eq!(gw.delivered()[0]["to"], "+393477654321");
    let log = settled_log(&app, &rossi, &id).await;
    let sms = log.iter().find(|n| n["channel"] == "sms").unwrap().clone();
    assert_eq!((sms["status"].as_str(), sms["attempts"].as_i64()), (Some("sent"), Some(3)), "{sms}");
}

/// The SMS gateway unreachable (nothing listens): the SMS stays queued with its error; when the
/// gateway is back on its address it is delivered, once.
async fn an_sms_gateway_outage_loses_nothing(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let (app, rossi) = sms_only_sender(backend, &smtp.url(), &format!("http://127.0.0.1:{port}/sms")).await;

    let id = app.sent(&rossi, &generic("7002000011", "SMS durante il guasto")).await["id"].as_str().unwrap().to_owned();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let sms = loop {
        let log: Value = app.get(&format!("/api/v1/requests/{id}/notifications"), &rossi).await.json().await.unwrap();
        let sms = log.as_array().unwrap().iter().find(|n| n["channel"] == "sms").cloned().unwrap();
        if sms["attempts"].as_i64().unwrap_or(0) >= 2 || std::time::Instant::now() > deadline {
            break sms;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_ne!(sms["status"], "sent", "{sms}");
    assert!(sms["attempts"].as_i64().unwrap() >= 2, "{sms}");
    assert!(!sms["last_error"].as_str().unwrap_or("").is_empty(), "{sms}");

    let gw = SmsGateway::start_on(port, vec![]).await;

    assert!(wait_until(15, || gw.delivered().len() == 1).await, "the queued SMS did not arrive");
    let log = settled_log(&app, &rossi, &id).await;
    let sms = log.iter().find(|n| n["channel"] == "sms").unwrap();
    assert_eq!(sms["status"], "sent", "{sms}");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(gw.delivered().len(), 1, "delivered more than once");
    assert_eq!(gw.delivered()[0]["to"], "+393477654321");
}

async fn a_permanently_failing_address_is_marked_failed_after_the_limit(backend: Backend) {
    let smtp = SmtpServer::start().await;
    smtp.reject("rossi@example.it");
    let gw = SmsGateway::start(vec![]).await;
    let mut env = fast(&smtp.url(), &gw.url());
    env.insert("CASSETTO_NOTIFY_MAX_ATTEMPTS", "3".to_owned());
    let app = spawn_app_with(backend, env).await;
    registry(&app).await;
    let rossi = app.token("rossi").await;

    let id = app.sent(&rossi, &generic("7002000011", "Indirizzo rifiutato")).await["id"].as_str().unwrap().to_owned();

    let rows = settled_log(&app, &rossi, &id).await;
    let failed = rows.iter().find(|n| n["recipient"] == "r***@example.it").unwrap();
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["attempts"], 3);
    assert!(failed["last_error"].as_str().unwrap().contains("550"), "{failed}");
    let company = rows.iter().find(|n| n["recipient"] == "i***@7002000011.example").unwrap();
    assert_eq!(company["status"], "sent", "one bad address does not block the others");
}

async fn preferences_decide_the_channels(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let gw = SmsGateway::start(vec![]).await;
    let app = spawn_app_with(backend, fast(&smtp.url(), &gw.url())).await;
    registry(&app).await;
    let rossi = app.token("rossi").await;
    set_prefs(
        &app,
        &rossi,
        json!({"email": "paghe@rossi.it", "mobile": "3331234567", "email_enabled": false, "sms_enabled": true}),
    )
    .await;

    app.sent(&rossi, &generic("7002000011", "Solo SMS")).await;

    assert!(wait_until(10, || gw.delivered().len() == 1 && smtp.mails().len() == 1).await);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(to(&smtp.mails(), "paghe@rossi.it", "").is_empty(), "e-mail disabled by the user");
    assert_eq!(smtp.mails()[0].to, vec!["info@7002000011.example".to_owned()]);
    assert_eq!(gw.delivered().len(), 1);
}

async fn without_relays_messages_are_written_to_files(backend: Backend) {
    let app = spawn_app_with(backend, HashMap::from([("CASSETTO_WORKER_POLL_MS", "50".to_owned())])).await;
    registry(&app).await;
    let rossi = app.token("rossi").await;
    set_prefs(
        &app,
        &rossi,
        json!({"email": "paghe@rossi.it", "mobile": "3331234567", "email_enabled": true, "sms_enabled": true}),
    )
    .await;

    let prot = app.sent(&rossi, &generic("7002000011", "Su file")).await["protocollo"].as_str().unwrap().to_owned();

    let mail_dir = app.data_dir().join("mail");
    let sms_dir = app.data_dir().join("sms");
    let count = |d: &std::path::Path, ext: &str| {
        std::fs::read_dir(d)
            .map(|r| r.filter_map(|e| e.ok()).filter(|e| e.path().extension().is_some_and(|x| x == ext)).count())
            .unwrap_or(0)
    };
    assert!(wait_until(10, || count(&mail_dir, "eml") == 2 && count(&sms_dir, "json") == 1).await);
    let sms_file = std::fs::read_dir(&sms_dir).unwrap().next().unwrap().unwrap().path();
    let sms: Value = serde_json::from_slice(&std::fs::read(sms_file).unwrap()).unwrap();
    assert!(sms["text"].as_str().unwrap().contains(&prot));
}

/// Records what it is asked to send, by Message-ID.
#[derive(Default, Clone)]
struct Recorder(Arc<Mutex<Vec<String>>>);

#[async_trait]
impl MailSender for Recorder {
    async fn send(&self, mail: &OutgoingEmail) -> anyhow::Result<()> {
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        self.0.lock().unwrap().push(mail.message_id.clone());
        Ok(())
    }
}

#[async_trait]
impl SmsSender for Recorder {
    async fn send(&self, _to: &str, _text: &str, key: &str) -> anyhow::Result<()> {
        self.0.lock().unwrap().push(key.to_owned());
        Ok(())
    }
}

/// An e-mail for the outbox, outside any request.
fn email(recipient: String, message_id: String) -> outbox::NewMessage {
    outbox::NewMessage {
        request_id: None,
        event: "registered".into(),
        channel: "email".into(),
        recipient,
        message_id,
        subject: Some("s".into()),
        body: "b".into(),
        body_html: None,
        webhook_id: None,
    }
}

async fn two_workers_never_send_the_same_row_twice(backend: Backend) {
    let app = spawn_app_with(backend, HashMap::from([("CASSETTO_WORKER_POLL_MS", "3600000".to_owned())])).await;
    let rows: Vec<outbox::NewMessage> =
        (0..300).map(|i| email(format!("u{i}@example.it"), format!("<m{i}@cassetto>"))).collect();
    outbox::enqueue(&app.db, rows, chrono::Utc::now()).await.unwrap();
    let recorder = Recorder::default();
    let worker = |name: &str| {
        let channels = Channels {
            mail: Arc::new(recorder.clone()),
            sms: Arc::new(recorder.clone()),
            webhook: Arc::new(cassetto_notifications::webhook::HttpWebhook::new().unwrap()),
        };
        let cfg = WorkerConfig { worker_id: name.to_owned(), batch: 20, ..Default::default() };
        Worker::new(app.db.clone(), channels, cfg, Arc::new(tokio::sync::Notify::new()))
    };
    let (a, b) = (worker("a"), worker("b"));

    let drain = |w: Worker| async move {
        let mut handled = 0;
        loop {
            let n = w.run_once().await.unwrap();
            if n == 0 {
                break handled;
            }
            handled += n;
        }
    };
    let (na, nb) = tokio::join!(drain(a), drain(b));

    let sent = recorder.0.lock().unwrap().clone();
    assert_eq!(na + nb, 300);
    assert_eq!(sent.len(), 300, "a row was sent twice or lost");
    let mut unique = sent.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 300);
    assert!(na > 0 && nb > 0, "both workers took part ({na}, {nb})");
    assert_eq!(outbox::backlog(&app.db).await.unwrap(), 0);
}

/// A claim takes the due rows, pending or with a lease run out, oldest first, up to its
/// limit; it leaves rows not due yet and rows another worker still holds.
async fn a_claim_takes_the_oldest_due_rows_and_leaves_the_others(backend: Backend) {
    use cassetto_storage::entities::notification::{self, Column as C};
    use sea_orm::{sea_query::Expr, ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
    // Arrange: six rows, told apart by their recipient.
    let app = spawn_app_with(backend, HashMap::from([("CASSETTO_WORKER_POLL_MS", "3600000".to_owned())])).await;
    let t0 = chrono::Utc::now();
    let s = chrono::Duration::seconds;
    let rows = (1..=6).map(|i| email(format!("m{i}@example.it"), format!("<claim{i}@cassetto>"))).collect();
    outbox::enqueue(&app.db, rows, t0).await.unwrap();
    // (recipient, status, next attempt, lease until)
    let setup = [
        ("m1", "pending", t0 - s(5), None),
        ("m2", "pending", t0 - s(4), None),
        ("m3", "pending", t0 + s(60), None),
        ("m4", "sending", t0 - s(10), Some(t0 - s(1))),
        ("m5", "sending", t0 - s(20), Some(t0 + s(60))),
        ("m6", "pending", t0 - s(3), None),
    ];
    for (who, status, next, lease) in setup {
        notification::Entity::update_many()
            .col_expr(C::Status, Expr::value(status))
            .col_expr(C::NextAttemptAt, Expr::value(next))
            .col_expr(C::LockedUntil, Expr::value(lease))
            .col_expr(C::LockedBy, Expr::value(lease.map(|_| "worker-gone".to_owned())))
            .filter(C::Recipient.eq(format!("{who}@example.it")))
            .exec(&app.db)
            .await
            .unwrap();
    }
    let who = |rows: &[notification::Model]| -> Vec<String> {
        rows.iter().map(|r| r.recipient.trim_end_matches("@example.it").to_owned()).collect()
    };

    // Act
    let first = outbox::claim_due(&app.db, "w", 3, t0, t0 + s(60)).await.unwrap();
    let second = outbox::claim_due(&app.db, "w", 10, t0, t0 + s(60)).await.unwrap();

    // Assert: the expired lease (m4) and the two oldest pending rows, then what is left due.
    let mut first_names = who(&first);
    first_names.sort();
    assert_eq!(first_names, ["m1", "m2", "m4"]);
    assert_eq!(who(&second), ["m6"]);
    let all = notification::Entity::find().order_by_asc(C::Recipient).all(&app.db).await.unwrap();
    let state: Vec<(String, String, Option<String>, i32)> = all
        .iter()
        .filter(|r| r.message_id.starts_with("<claim"))
        .map(|r| (who(std::slice::from_ref(r)).remove(0), r.status.clone(), r.locked_by.clone(), r.attempts))
        .collect();
    let w = Some("w".to_owned());
    let gone = Some("worker-gone".to_owned());
    assert_eq!(
        state,
        [
            ("m1".into(), "sending".into(), w.clone(), 1),
            ("m2".into(), "sending".into(), w.clone(), 1),
            ("m3".into(), "pending".into(), None, 0),
            ("m4".into(), "sending".into(), w.clone(), 1),
            ("m5".into(), "sending".into(), gone, 0),
            ("m6".into(), "sending".into(), w, 1),
        ]
    );
}

both!(
    each_event_sends_its_messages_with_their_texts,
    rerouting_tells_the_sender,
    an_smtp_outage_loses_nothing,
    a_gateway_error_is_retried_until_it_answers,
    an_sms_gateway_outage_loses_nothing,
    a_permanently_failing_address_is_marked_failed_after_the_limit,
    preferences_decide_the_channels,
    without_relays_messages_are_written_to_files,
    two_workers_never_send_the_same_row_twice,
    a_claim_takes_the_oldest_due_rows_and_leaves_the_others,
);
