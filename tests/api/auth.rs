//! Sign-in, tokens, the caller's identity and preferences.

use cassetto_domain::Role;
use jsonwebtoken::{encode, EncodingKey, Header};
use serde_json::{json, Value};

use crate::both;
use crate::helpers::{expect_problem, generic, spawn_app, with_back_office, Backend, TestApp, JWT_SECRET, PASSWORD};

async fn company_user(app: &TestApp) {
    app.create_sede("7002", "Roma Tiburtino", true).await;
    app.create_azienda("7002000011", "7002").await;
    app.create_user("azienda.rossi", Role::Azienda, None, &["7002000011"]).await;
}

async fn login_with_good_credentials_gives_a_bearer_token(backend: Backend) {
    let app = spawn_app(backend).await;
    company_user(&app).await;

    let res = app.login("Azienda.Rossi", PASSWORD).await;

    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    let me: Value = app.get("/api/v1/me", body["access_token"].as_str().unwrap()).await.json().await.unwrap();
    assert_eq!(me["username"], "azienda.rossi");
    assert_eq!(me["role"], "azienda");
    assert_eq!(me["matricole"], json!(["7002000011"]));
}

async fn wrong_password_and_unknown_user_get_the_same_401(backend: Backend) {
    let app = spawn_app(backend).await;
    company_user(&app).await;

    let wrong = expect_problem(app.login("azienda.rossi", "sbagliata-123").await, 401).await;
    let unknown = expect_problem(app.login("nessuno", PASSWORD).await, 401).await;

    assert_eq!(wrong.body, unknown.body, "the answer must not reveal whether the user exists");
    assert_eq!(wrong.detail(), "credenziali non valide");
}

async fn login_with_missing_fields_is_422_naming_them(backend: Backend) {
    let app = spawn_app(backend).await;

    let res = app.client.post(app.url("/api/v1/auth/login")).json(&json!({"username": "x"})).send().await.unwrap();
    let malformed = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();

    let p = expect_problem(res, 422).await;
    assert_eq!(p.fields(), vec!["password"]);
    expect_problem(malformed, 400).await;
}

async fn repeated_failures_lock_the_name_with_429(backend: Backend) {
    let app = spawn_app(backend).await;
    company_user(&app).await;

    for _ in 0..4 {
        expect_problem(app.login("azienda.rossi", "sbagliata-123").await, 401).await;
    }
    let fifth = app.login("azienda.rossi", "sbagliata-123").await;
    assert!(fifth.headers().get("retry-after").is_some());
    expect_problem(fifth, 429).await;

    // Even the right password is refused while locked; unknown names lock the same way.
    expect_problem(app.login("azienda.rossi", PASSWORD).await, 429).await;
    for _ in 0..4 {
        expect_problem(app.login("fantasma", "x-123456789").await, 401).await;
    }
    expect_problem(app.login("fantasma", "x-123456789").await, 429).await;
}

async fn requests_without_a_token_are_401(backend: Backend) {
    let app = spawn_app(backend).await;

    let res = app.client.get(app.url("/api/v1/me")).send().await.unwrap();

    assert_eq!(res.headers()["www-authenticate"], "Bearer");
    expect_problem(res, 401).await;
}

fn sign(claims: &Value, secret: &str) -> String {
    encode(&Header::default(), claims, &EncodingKey::from_secret(secret.as_bytes())).unwrap()
}

async fn expired_tampered_unsigned_and_foreign_tokens_are_401(backend: Backend) {
    let app = spawn_app(backend).await;
    company_user(&app).await;
    let good = app.token("azienda.rossi").await;
    let now = chrono::Utc::now().timestamp();
    let me_id: Value = app.get("/api/v1/me", &good).await.json().await.unwrap();
    let sub = me_id["id"].to_string();

    let expired =
        sign(&json!({"sub": sub, "role": "azienda", "iat": now - 7200, "exp": now - 3600, "jti": "x"}), JWT_SECRET);
    let wrong_key = sign(
        &json!({"sub": sub, "role": "azienda", "iat": now, "exp": now + 600, "jti": "x"}),
        "another-secret-another-secret-another-secret",
    );
    let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
    let payload = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        json!({"sub": sub, "role": "admin", "iat": now, "exp": now + 600, "jti": "x"}).to_string(),
    );
    parts[1] = payload.clone();
    let tampered = parts.join(".");
    let header_none =
        base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, r#"{"alg":"none","typ":"JWT"}"#);
    let unsigned = format!("{header_none}.{payload}.");

    let p = expect_problem(app.get("/api/v1/me", &expired).await, 401).await;
    assert!(p.detail().contains("scaduto"));
    for token in [wrong_key, tampered, unsigned, "garbage".to_owned()] {
        expect_problem(app.get("/api/v1/me", &token).await, 401).await;
    }
    assert_eq!(app.get("/api/v1/me", &good).await.status(), 200);
}

async fn wrong_role_is_403(backend: Backend) {
    let app = spawn_app(backend).await;
    company_user(&app).await;
    let token = app.token("azienda.rossi").await;

    let res = app.post_sede(&token, &json!({"code": "9999", "name": "Sede X", "pilot": true})).await;

    let p = expect_problem(res, 403).await;
    assert!(p.problem_type().ends_with("forbidden"));
    let sedi = app.get("/api/v1/admin/sedi", &token).await;
    expect_problem(sedi, 403).await;
}

async fn set_user(app: &TestApp, username: &str, column: &str, value: sea_orm::Value) {
    use sea_orm::{ConnectionTrait, Statement};
    let backend = app.db.get_database_backend();
    let sql = match backend {
        sea_orm::DbBackend::Postgres => format!("UPDATE users SET {column} = $1 WHERE username = $2"),
        _ => format!("UPDATE users SET {column} = ? WHERE username = ?"),
    };
    app.db
        .execute_raw(Statement::from_sql_and_values(backend, sql, [value, username.into()]))
        .await
        .expect("update user");
}

/// A token stops working at once when its user is deactivated or given another role, on the
/// archives too: 401, and nothing of the archive in the answer.
async fn a_token_stops_working_when_its_user_is_deactivated_or_changes_role(backend: Backend) {
    let app = with_back_office(backend).await;
    let rossi = app.token("rossi").await;
    let supervisore = app.token("supervisore").await;
    let op = app.token("op.roma").await;
    app.sent(&rossi, &generic("7002000011", "Pratica riservata")).await;
    assert_eq!(app.archive(&rossi, "").await["total"], 1);
    assert_eq!(app.get("/api/v1/quesiti", &supervisore).await.status(), 200);
    expect_problem(app.get("/api/v1/requests", &op).await, 403).await;
    expect_problem(app.get("/api/v1/requests", &supervisore).await, 403).await;

    set_user(&app, "rossi", "active", false.into()).await;
    set_user(&app, "supervisore", "role", "operatore".into()).await;

    for (url, token, cause) in [
        ("/api/v1/requests", &rossi, "non è più attivo"),
        ("/api/v1/requests?subject=riservata", &rossi, "non è più attivo"),
        ("/api/v1/requests?stato=sbagliato", &rossi, "non è più attivo"),
        ("/api/v1/quesiti", &supervisore, "ruolo"),
        ("/api/v1/quesiti?subject=riservata&status=aperta", &supervisore, "ruolo"),
    ] {
        let res = app.get(url, token).await;
        let p = expect_problem(res, 401).await;
        assert!(p.detail().contains(cause), "{url}: {}", p.detail());
    }
}

async fn client_credentials_give_a_token_acting_as_the_owner(backend: Backend) {
    let app = spawn_app(backend).await;
    company_user(&app).await;
    let admin = app.admin_token().await;
    let created: Value = app
        .post_json("/api/v1/admin/api-clients", &admin, &json!({"name": "Paghe Facili", "username": "azienda.rossi"}))
        .await
        .json()
        .await
        .unwrap();
    let (id, secret) = (created["client_id"].as_str().unwrap(), created["client_secret"].as_str().unwrap());

    let res = app.client_credentials(id, secret).await;
    let bad = app.client_credentials(id, "not-the-secret").await;
    let bad_grant = app
        .client
        .post(app.url("/api/v1/auth/token"))
        .form(&[("grant_type", "password"), ("client_id", id), ("client_secret", secret)])
        .send()
        .await
        .unwrap();

    assert_eq!(res.status(), 200);
    let token: Value = res.json().await.unwrap();
    let me: Value = app.get("/api/v1/me", token["access_token"].as_str().unwrap()).await.json().await.unwrap();
    assert_eq!(me["username"], "azienda.rossi");
    assert_eq!(me["matricole"], json!(["7002000011"]));
    expect_problem(bad, 401).await;
    expect_problem(bad_grant, 400).await;
}

async fn me_lists_the_companies_the_user_may_act_for(backend: Backend) {
    let app = spawn_app(backend).await;
    company_user(&app).await;
    app.create_azienda("7002000022", "7002").await;
    app.create_user("studio.verdi", Role::Intermediario, None, &["7002000022", "7002000011"]).await;
    let token = app.token("studio.verdi").await;

    let aziende: Value = app.get("/api/v1/aziende", &token).await.json().await.unwrap();

    let list = aziende.as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["matricola"], "7002000011");
    assert_eq!(list[0]["sede"], json!({"code": "7002", "name": "Roma Tiburtino"}));
}

async fn ambiti_list_their_fields(backend: Backend) {
    let app = spawn_app(backend).await;
    company_user(&app).await;
    let token = app.token("azienda.rossi").await;

    let ambiti: Value = app.get("/api/v1/ambiti", &token).await.json().await.unwrap();

    let list = ambiti.as_array().unwrap();
    assert_eq!(list[0]["code"], "GENERICA");
    let regolarita = list.iter().find(|a| a["code"] == "REGOLARITA_CONTRIBUTIVA").unwrap();
    let names: Vec<&str> =
        regolarita["fields"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["period_from", "period_to"]);
    assert_eq!(regolarita["fields"][0]["type"], "period");
    let f24 = list.iter().find(|a| a["code"] == "F24").unwrap();
    assert_eq!(
        f24["fields"][1],
        json!({"name": "amount", "label": "Importo versato (euro)", "type": "amount", "required": true})
    );
}

async fn preferences_are_validated_and_normalised(backend: Backend) {
    let app = spawn_app(backend).await;
    company_user(&app).await;
    let token = app.token("azienda.rossi").await;

    let ok = app
        .put_json(
            "/api/v1/me/preferences",
            &token,
            &json!({"email": "paghe@rossi.it", "mobile": "333 123 4567", "email_enabled": true, "sms_enabled": true}),
        )
        .await;
    let bad = app
        .put_json(
            "/api/v1/me/preferences",
            &token,
            &json!({"email": "non-una-mail", "mobile": "06 123", "email_enabled": true, "sms_enabled": true}),
        )
        .await;
    let no_address = app
        .put_json(
            "/api/v1/me/preferences",
            &token,
            &json!({"email": null, "mobile": null, "email_enabled": false, "sms_enabled": true}),
        )
        .await;

    assert_eq!(ok.status(), 200);
    let saved: Value = app.get("/api/v1/me/preferences", &token).await.json().await.unwrap();
    assert_eq!(saved["mobile"], "+393331234567");
    assert_eq!(saved["email"], "paghe@rossi.it");
    let p = expect_problem(bad, 422).await;
    assert!(p.fields().contains(&"email".to_owned()), "{:?}", p.fields());
    let p = expect_problem(no_address, 422).await;
    assert_eq!(p.fields(), vec!["mobile"]);
    let unchanged: Value = app.get("/api/v1/me/preferences", &token).await.json().await.unwrap();
    assert_eq!(unchanged, saved, "a refused update changes nothing");
}

both!(
    login_with_good_credentials_gives_a_bearer_token,
    wrong_password_and_unknown_user_get_the_same_401,
    login_with_missing_fields_is_422_naming_them,
    repeated_failures_lock_the_name_with_429,
    requests_without_a_token_are_401,
    expired_tampered_unsigned_and_foreign_tokens_are_401,
    wrong_role_is_403,
    a_token_stops_working_when_its_user_is_deactivated_or_changes_role,
    client_credentials_give_a_token_acting_as_the_owner,
    me_lists_the_companies_the_user_may_act_for,
    ambiti_list_their_fields,
    preferences_are_validated_and_normalised,
);
