//! Webhooks for payroll software, against a real HTTP receiver on 127.0.0.1 that verifies
//! the HMAC-SHA256 signature.

use std::collections::HashMap;

use cassetto_domain::Role;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use crate::both;
use crate::fakes::{wait_until, SmsGateway};
use crate::helpers::{expect_problem, generic, spawn_app_with, Backend, TestApp};

async fn client_token(app: &TestApp, admin: &str, owner: &str) -> String {
    let c: Value = app
        .post_json("/api/v1/admin/api-clients", admin, &json!({"name": "Gestionale paghe", "username": owner}))
        .await
        .json()
        .await
        .unwrap();
    let t: Value = app
        .client_credentials(c["client_id"].as_str().unwrap(), c["client_secret"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    t["access_token"].as_str().unwrap().to_owned()
}

/// What a receiver does: recompute the signature over "<timestamp>.<body>".
fn verify(headers: &HashMap<String, String>, body: &str, secret: &str) -> bool {
    let ts = headers.get("cassetto-timestamp").cloned().unwrap_or_default();
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{ts}.{body}").as_bytes());
    let expected = format!("v1={}", hex::encode(mac.finalize().into_bytes()));
    headers.get("cassetto-signature") == Some(&expected)
}

async fn setup(backend: Backend, receiver: &SmsGateway) -> (TestApp, String, String) {
    let env = HashMap::from([
        ("CASSETTO_WORKER_POLL_MS", "50".to_owned()),
        ("CASSETTO_NOTIFY_BACKOFF_MS", "100".to_owned()),
        ("CASSETTO_SMS_URL", receiver.url()),
    ]);
    let app = spawn_app_with(backend, env).await;
    app.create_sede("7002", "Roma Tiburtino", true).await;
    app.create_azienda("7002000011", "7002").await;
    app.create_user("rossi", Role::Azienda, None, &["7002000011"]).await;
    app.create_user("studio", Role::Intermediario, None, &["7002000011"]).await;
    app.create_user("op.roma", Role::Operatore, Some("7002"), &[]).await;
    let admin = app.admin_token().await;
    let studio = client_token(&app, &admin, "studio").await;
    (app, admin, studio)
}

async fn signed_deliveries_for_the_events_subscribed(backend: Backend) {
    let receiver = SmsGateway::start(vec![500]).await;
    let (app, _admin, studio) = setup(backend, &receiver).await;
    let hook_url = format!("http://127.0.0.1:{}/eventi", receiver.port);

    let res =
        app.post_json("/api/v1/webhooks", &studio, &json!({"url": hook_url, "events": ["registered", "closed"]})).await;
    assert_eq!(res.status(), 201);
    let hook: Value = res.json().await.unwrap();
    let secret = hook["secret"].as_str().unwrap().to_owned();
    let rossi = app.token("rossi").await;
    let op = app.token("op.roma").await;
    // Another company's request: not the studio's to hear of.
    app.create_azienda("7002000022", "7002").await;
    app.create_user("bianchi", Role::Azienda, None, &["7002000022"]).await;
    let bianchi = app.token("bianchi").await;
    app.sent(&bianchi, &generic("7002000022", "Non riguarda lo studio")).await;
    let r = app.sent(&rossi, &generic("7002000011", "Evento per il gestionale")).await;
    let id = r["id"].as_str().unwrap();
    app.transition(&op, id, &json!({"to": "in_carico"}), None).await;
    app.transition(&op, id, &json!({"to": "chiusa", "esito": {"code": "evasa", "text": "Fatto."}}), None).await;

    assert!(wait_until(10, || receiver.requests().len() == 2).await, "got {:?}", receiver.requests());
    let got = receiver.requests();
    for (headers, body) in &got {
        assert!(verify(headers, body, &secret), "bad signature: {headers:?}");
        assert!(!verify(headers, body, "whsec_altro"));
    }
    // Deliveries are not ordered: the first one failed once and came after the second.
    let event = |name: &str| -> (HashMap<String, String>, Value) {
        let (h, b) = got.iter().find(|(_, b)| b.contains(&format!("\"event\":\"{name}\""))).unwrap().clone();
        (h, serde_json::from_str(&b).unwrap())
    };
    let (registered_headers, registered) = event("registered");
    let (_, closed) = event("closed");
    assert_eq!(registered["request"]["protocollo"], r["protocollo"]);
    assert_eq!(closed["request"]["esito"]["code"], "evasa");
    assert_eq!(receiver.attempts(), 3, "the first delivery was retried after a 500");

    let hook_id = hook["id"].as_i64().unwrap();
    // The receiver has the delivery before the worker records its answer: wait for the record.
    let mut log = Value::Null;
    for _ in 0..100 {
        log = app.get(&format!("/api/v1/webhooks/{hook_id}/deliveries"), &studio).await.json().await.unwrap();
        if log.as_array().is_some_and(|l| l.iter().all(|d| d["status"] == "sent")) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let log = log.as_array().unwrap();
    assert_eq!(log.len(), 2, "only the delegated matricola's events: {log:?}");
    assert!(got.iter().all(|(_, b)| !b.contains("7002000022")));
    assert!(log.iter().all(|d| d["status"] == "sent"));
    let first = log.iter().find(|d| d["event"] == "registered").unwrap();
    assert_eq!(first["attempts"], 2);

    let replay = app
        .post_json(&format!("/api/v1/webhooks/{hook_id}/deliveries/{}/replay", first["id"]), &studio, &json!({}))
        .await;
    assert_eq!(replay.status(), 202);
    assert!(wait_until(10, || receiver.requests().len() == 3).await);
    let (h, body) = receiver.requests()[2].clone();
    assert!(verify(&h, &body, &secret));
    assert_eq!(
        h["cassetto-delivery"], registered_headers["cassetto-delivery"],
        "a replay carries the same delivery id"
    );
}

async fn registration_is_checked_and_private(backend: Backend) {
    let receiver = SmsGateway::start(vec![]).await;
    let (app, admin, studio) = setup(backend, &receiver).await;
    app.create_user("altro", Role::Intermediario, None, &[]).await;
    let other = client_token(&app, &admin, "altro").await;
    let rossi_password_token = app.token("rossi").await;

    let plain_http = app
        .post_json("/api/v1/webhooks", &studio, &json!({"url": "http://paghe.example/x", "events": ["closed"]}))
        .await;
    let bad_event = app
        .post_json("/api/v1/webhooks", &studio, &json!({"url": "https://paghe.example/x", "events": ["chiusa"]}))
        .await;
    let not_a_client = app
        .post_json(
            "/api/v1/webhooks",
            &rossi_password_token,
            &json!({"url": "https://paghe.example/x", "events": ["closed"]}),
        )
        .await;
    let ok: Value = app
        .post_json("/api/v1/webhooks", &studio, &json!({"url": "https://paghe.example/x", "events": ["closed"]}))
        .await
        .json()
        .await
        .unwrap();

    assert_eq!(expect_problem(plain_http, 422).await.fields(), vec!["url"]);
    assert_eq!(expect_problem(bad_event, 422).await.fields(), vec!["events[0]"]);
    expect_problem(not_a_client, 403).await;
    let id = ok["id"].as_i64().unwrap();
    expect_problem(app.get(&format!("/api/v1/webhooks/{id}/deliveries"), &other).await, 404).await;
    expect_problem(app.delete(&format!("/api/v1/webhooks/{id}"), &other).await, 404).await;
    let mine: Value = app.get("/api/v1/webhooks", &studio).await.json().await.unwrap();
    assert_eq!(mine.as_array().unwrap().len(), 1);
    assert!(mine[0].get("secret").is_none(), "the secret is shown only at registration");
    assert_eq!(app.delete(&format!("/api/v1/webhooks/{id}"), &studio).await.status(), 204);
    let mine: Value = app.get("/api/v1/webhooks", &studio).await.json().await.unwrap();
    assert_eq!(mine.as_array().unwrap().len(), 0);
}

both!(signed_deliveries_for_the_events_subscribed, registration_is_checked_and_private);
