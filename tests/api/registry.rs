//! The registry endpoints of `admin`, with their validation errors.

use cassetto_domain::Role;
use serde_json::{json, Value};

use crate::both;
use crate::helpers::{expect_problem, spawn_app, valid_cf, Backend, TestApp};

async fn with_admin(backend: Backend) -> (TestApp, String) {
    let app = spawn_app(backend).await;
    let token = app.admin_token().await;
    (app, token)
}

async fn admin_creates_lists_and_patches_sedi(backend: Backend) {
    let (app, admin) = with_admin(backend).await;

    let res = app.post_sede(&admin, &json!({"code": "7002", "name": "Roma Tiburtino", "pilot": false})).await;
    assert_eq!(res.status(), 201);
    assert_eq!(res.headers()["location"], "/api/v1/admin/sedi/7002");
    let patched = app.patch_json("/api/v1/admin/sedi/7002", &admin, &json!({"pilot": true})).await;
    let list: Value = app.get("/api/v1/admin/sedi", &admin).await.json().await.unwrap();

    assert_eq!(patched.status(), 200);
    assert_eq!(list, json!([{"code": "7002", "name": "Roma Tiburtino", "pilot": true}]));
    expect_problem(app.patch_json("/api/v1/admin/sedi/9999", &admin, &json!({"pilot": true})).await, 404).await;
}

async fn sede_validation_and_duplicates(backend: Backend) {
    let (app, admin) = with_admin(backend).await;
    app.post_sede(&admin, &json!({"code": "7002", "name": "Roma Tiburtino"})).await;

    let bad = app.post_sede(&admin, &json!({"code": "70A", "name": "X"})).await;
    let dup = app.post_sede(&admin, &json!({"code": "7002", "name": "Doppione"})).await;

    let p = expect_problem(bad, 422).await;
    assert!(p.fields().contains(&"code".to_owned()) && p.fields().contains(&"name".to_owned()), "{:?}", p.fields());
    let p = expect_problem(dup, 409).await;
    assert!(p.detail().contains("7002"));
    let list: Value = app.get("/api/v1/admin/sedi", &admin).await.json().await.unwrap();
    assert_eq!(list[0]["name"], "Roma Tiburtino", "the duplicate changed nothing");
}

fn azienda(matricola: &str, sede: &str) -> Value {
    json!({
        "matricola": matricola, "codice_fiscale": valid_cf(matricola), "ragione_sociale": "Rossi Costruzioni S.r.l.",
        "sede": sede, "email": "info@rossi.it", "pec": "rossi@pec.it", "mobile": "+39 333 1234567"
    })
}

async fn admin_creates_and_patches_aziende(backend: Backend) {
    let (app, admin) = with_admin(backend).await;
    app.create_sede("7002", "Roma Tiburtino", true).await;
    app.create_sede("2300", "Catanzaro", true).await;

    let res = app.post_azienda(&admin, &azienda("7002000011", "7002")).await;
    assert_eq!(res.status(), 201);
    let created: Value = res.json().await.unwrap();
    assert_eq!(created["mobile"], "+393331234567");
    let patched: Value = app
        .patch_json("/api/v1/admin/aziende/7002000011", &admin, &json!({"sede": "2300", "pec": null}))
        .await
        .json()
        .await
        .unwrap();

    assert_eq!(patched["sede"], "2300");
    assert_eq!(patched["pec"], Value::Null);
    assert_eq!(patched["email"], "info@rossi.it");
    let page: Value = app.get("/api/v1/admin/aziende?sede=2300", &admin).await.json().await.unwrap();
    assert_eq!(page["total"], 1);
    assert_eq!(page["items"][0]["matricola"], "7002000011");
}

async fn azienda_validation_names_each_field(backend: Backend) {
    let (app, admin) = with_admin(backend).await;
    app.create_sede("7002", "Roma Tiburtino", true).await;

    let res = app
        .post_azienda(
            &admin,
            &json!({"matricola": "12345", "codice_fiscale": "01234567890", "ragione_sociale": "X", "sede": "9999", "email": "no"}),
        )
        .await;

    let p = expect_problem(res, 422).await;
    let mut fields = p.fields();
    fields.sort();
    assert_eq!(fields, vec!["codice_fiscale", "email", "matricola", "ragione_sociale", "sede"]);
    assert!(p.body["errors"].as_array().unwrap().iter().any(|e| e["message"].as_str().unwrap().contains("10 cifre")));
    let page: Value = app.get("/api/v1/admin/aziende", &admin).await.json().await.unwrap();
    assert_eq!(page["total"], 0);
}

async fn duplicate_matricola_is_409(backend: Backend) {
    let (app, admin) = with_admin(backend).await;
    app.create_sede("7002", "Roma Tiburtino", true).await;
    app.post_azienda(&admin, &azienda("7002000011", "7002")).await;

    let res = app.post_azienda(&admin, &azienda("7002000011", "7002")).await;

    expect_problem(res, 409).await;
}

async fn csv_import_reports_bad_lines_and_imports_the_rest(backend: Backend) {
    let (app, admin) = with_admin(backend).await;
    app.create_sede("7002", "Roma Tiburtino", true).await;
    app.create_azienda("7002000099", "7002").await;
    let csv = format!(
        "matricola;codice_fiscale;ragione_sociale;sede;email;pec;mobile\n\
         7002000011;{};Alfa S.r.l.;7002;alfa@alfa.it;;\n\
         12345;{};Beta S.r.l.;7002;;;\n\
         7002000033;{};Gamma S.r.l.;9999;;;\n\
         7002000099;{};Aggiornata S.p.A.;7002;;;333 7654321\n",
        valid_cf("7002000011"),
        valid_cf("1"),
        valid_cf("7002000033"),
        valid_cf("7002000099"),
    );

    let res = app.import_aziende(&admin, &csv).await;

    assert_eq!(res.status(), 200);
    let report: Value = res.json().await.unwrap();
    assert_eq!(report["created"], 1);
    assert_eq!(report["updated"], 1);
    let errors = report["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 2);
    assert_eq!(errors[0]["line"], 3);
    assert!(errors[0]["message"].as_str().unwrap().contains("matricola"));
    assert_eq!(errors[1]["line"], 4);
    assert!(errors[1]["message"].as_str().unwrap().contains("9999"));
    let page: Value = app.get("/api/v1/admin/aziende", &admin).await.json().await.unwrap();
    assert_eq!(page["total"], 2);
    let updated = page["items"].as_array().unwrap().iter().find(|a| a["matricola"] == "7002000099").unwrap().clone();
    assert_eq!(updated["ragione_sociale"], "Aggiornata S.p.A.");
    assert_eq!(updated["mobile"], "+393337654321");
}

async fn csv_import_without_the_needed_columns_is_400(backend: Backend) {
    let (app, admin) = with_admin(backend).await;

    let res = app.import_aziende(&admin, "matricola,nome\n7002000011,Alfa\n").await;

    let p = expect_problem(res, 400).await;
    assert!(p.detail().contains("codice_fiscale"));
}

async fn admin_creates_users_of_every_role(backend: Backend) {
    let (app, admin) = with_admin(backend).await;
    app.create_sede("7002", "Roma Tiburtino", true).await;
    app.create_azienda("7002000011", "7002").await;

    for (username, role, sede, matricole) in [
        ("super", "supervisore", Value::Null, json!([])),
        ("op.roma", "operatore", json!("7002"), json!([])),
        ("rossi", "azienda", Value::Null, json!(["7002000011"])),
        ("studio", "intermediario", Value::Null, json!([])),
    ] {
        let res = app
            .post_user(
                &admin,
                &json!({"username": username, "password": "Una-password-lunga", "role": role, "display_name": "Nome Cognome", "sede": sede, "matricole": matricole}),
            )
            .await;
        assert_eq!(res.status(), 201, "{username}");
        let user: Value = res.json().await.unwrap();
        assert_eq!(user["role"], role);
        assert!(user.get("password").is_none() && user.get("password_hash").is_none());
        assert_eq!(app.login(username, "Una-password-lunga").await.status(), 200);
    }
}

async fn user_validation_errors(backend: Backend) {
    let (app, admin) = with_admin(backend).await;
    app.create_sede("7002", "Roma Tiburtino", true).await;

    let operator_without_sede = app
        .post_user(&admin, &json!({"username": "op.uno", "password": "Una-password-lunga", "role": "operatore", "display_name": "Op Uno"}))
        .await;
    let everything_wrong = app
        .post_user(&admin, &json!({"username": "a b", "password": "corta", "role": "azienda", "display_name": "X", "matricole": ["123", "7002000011"]}))
        .await;
    let bad_role = app
        .post_user(
            &admin,
            &json!({"username": "root", "password": "Una-password-lunga", "role": "root", "display_name": "Root"}),
        )
        .await;
    app.post_user(
        &admin,
        &json!({"username": "dup", "password": "Una-password-lunga", "role": "supervisore", "display_name": "Dup"}),
    )
    .await;
    let duplicate = app
        .post_user(
            &admin,
            &json!({"username": "DUP", "password": "Una-password-lunga", "role": "supervisore", "display_name": "Dup"}),
        )
        .await;

    assert_eq!(expect_problem(operator_without_sede, 422).await.fields(), vec!["sede"]);
    let mut fields = expect_problem(everything_wrong, 422).await.fields();
    fields.sort();
    assert_eq!(fields, vec!["display_name", "matricole[0]", "matricole[1]", "password", "username"]);
    assert_eq!(expect_problem(bad_role, 422).await.fields(), vec!["role"]);
    expect_problem(duplicate, 409).await;
}

async fn deleghe_grant_and_revoke_access(backend: Backend) {
    let (app, admin) = with_admin(backend).await;
    app.create_sede("7002", "Roma Tiburtino", true).await;
    app.create_azienda("7002000011", "7002").await;
    app.create_user("studio", Role::Intermediario, None, &[]).await;
    let studio = app.token("studio").await;

    let granted =
        app.post_json("/api/v1/admin/deleghe", &admin, &json!({"username": "studio", "matricola": "7002000011"})).await;
    let twice =
        app.post_json("/api/v1/admin/deleghe", &admin, &json!({"username": "studio", "matricola": "7002000011"})).await;
    let unknown =
        app.post_json("/api/v1/admin/deleghe", &admin, &json!({"username": "studio", "matricola": "7002000099"})).await;
    let to_operator = {
        app.create_user("op.roma", Role::Operatore, Some("7002"), &[]).await;
        app.post_json("/api/v1/admin/deleghe", &admin, &json!({"username": "op.roma", "matricola": "7002000011"})).await
    };

    assert_eq!(granted.status(), 201);
    let me: Value = app.get("/api/v1/me", &studio).await.json().await.unwrap();
    assert_eq!(me["matricole"], json!(["7002000011"]));
    expect_problem(twice, 409).await;
    assert_eq!(expect_problem(unknown, 422).await.fields(), vec!["matricola"]);
    assert_eq!(expect_problem(to_operator, 422).await.fields(), vec!["username"]);

    let revoked = app.delete("/api/v1/admin/deleghe/studio/7002000011", &admin).await;
    let again = app.delete("/api/v1/admin/deleghe/studio/7002000011", &admin).await;
    assert_eq!(revoked.status(), 204);
    expect_problem(again, 404).await;
    let me: Value = app.get("/api/v1/me", &studio).await.json().await.unwrap();
    assert_eq!(me["matricole"], json!([]), "a revoked delega takes effect on the next request");
}

async fn api_client_secret_is_shown_once_and_only_to_admin(backend: Backend) {
    let (app, admin) = with_admin(backend).await;
    app.create_sede("7002", "Roma Tiburtino", true).await;
    app.create_azienda("7002000011", "7002").await;
    app.create_user("rossi", Role::Azienda, None, &["7002000011"]).await;
    let rossi = app.token("rossi").await;

    let res = app
        .post_json("/api/v1/admin/api-clients", &admin, &json!({"name": "Software paghe", "username": "rossi"}))
        .await;
    let by_company =
        app.post_json("/api/v1/admin/api-clients", &rossi, &json!({"name": "Mio", "username": "rossi"})).await;
    let for_admin =
        app.post_json("/api/v1/admin/api-clients", &admin, &json!({"name": "X", "username": "admin.test"})).await;

    assert_eq!(res.status(), 201);
    let body: Value = res.json().await.unwrap();
    assert!(body["client_id"].as_str().unwrap().starts_with("cas_"));
    assert!(body["client_secret"].as_str().unwrap().len() >= 40);
    expect_problem(by_company, 403).await;
    expect_problem(for_admin, 422).await;
}

async fn registry_changes_are_audited(backend: Backend) {
    let (app, admin) = with_admin(backend).await;

    app.post_sede(&admin, &json!({"code": "7002", "name": "Roma Tiburtino"})).await;
    app.patch_json("/api/v1/admin/sedi/7002", &admin, &json!({"pilot": true})).await;

    let entries = cassetto_storage::audit::for_entity(&app.db, "sede", "7002").await.unwrap();
    let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, vec!["sede.create", "sede.update"]);
    assert!(entries.iter().all(|e| e.actor_username == "admin.test"));
}

both!(
    admin_creates_lists_and_patches_sedi,
    sede_validation_and_duplicates,
    admin_creates_and_patches_aziende,
    azienda_validation_names_each_field,
    duplicate_matricola_is_409,
    csv_import_reports_bad_lines_and_imports_the_rest,
    csv_import_without_the_needed_columns_is_400,
    admin_creates_users_of_every_role,
    user_validation_errors,
    deleghe_grant_and_revoke_access,
    api_client_secret_is_shown_once_and_only_to_admin,
    registry_changes_are_audited,
);
