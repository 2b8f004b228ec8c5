//! Health, readiness, metrics, the OpenAPI document, Swagger UI and unknown paths.

use crate::both;
use crate::helpers::{expect_problem, spawn_app, Backend};

async fn health_and_readiness_answer(backend: Backend) {
    let app = spawn_app(backend).await;

    let health = app.client.get(app.url("/healthz")).send().await.unwrap();
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();

    assert_eq!(health.status(), 200);
    assert_eq!(ready.status(), 200);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["status"], "ok");
}

async fn metrics_count_requests_by_route_and_status(backend: Backend) {
    let app = spawn_app(backend).await;
    app.client.get(app.url("/healthz")).send().await.unwrap();
    app.client.get(app.url("/api/v1/me")).send().await.unwrap();

    let text = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();

    assert!(text.contains(r#"cassetto_http_requests_total{method="GET",route="/healthz",status="200"} 1"#), "{text}");
    assert!(text.contains(r#"route="/api/v1/me",status="401""#), "{text}");
    assert!(text.contains("cassetto_http_request_duration_seconds_bucket"), "{text}");
}

async fn responses_carry_a_request_id_and_security_headers(backend: Backend) {
    let app = spawn_app(backend).await;

    let res = app.client.get(app.url("/healthz")).send().await.unwrap();

    assert!(res.headers().get("x-request-id").is_some());
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    assert_eq!(res.headers()["x-frame-options"], "DENY");
}

async fn unknown_api_paths_are_problem_404(backend: Backend) {
    let app = spawn_app(backend).await;

    let res = app.client.get(app.url("/api/v1/non-esiste")).send().await.unwrap();

    let p = expect_problem(res, 404).await;
    assert!(p.problem_type().ends_with("not-found"));
}

async fn a_wrong_method_is_405_with_allow(backend: Backend) {
    let app = spawn_app(backend).await;

    let put = app.client.put(app.url("/api/v1/requests")).send().await.unwrap();
    let trace =
        app.client.request(reqwest::Method::TRACE, app.url("/api/v1/admin/aziende/import")).send().await.unwrap();
    let delete = app.client.delete(app.url("/healthz")).send().await.unwrap();

    assert_eq!(put.headers()["allow"], "GET, POST");
    expect_problem(put, 405).await;
    assert_eq!(trace.headers()["allow"], "POST");
    expect_problem(trace, 405).await;
    assert_eq!(delete.headers()["allow"], "GET");
    expect_problem(delete, 405).await;
}

async fn openapi_and_swagger_ui_are_served(backend: Backend) {
    let app = spawn_app(backend).await;

    let doc: serde_json::Value = app.client.get(app.url("/openapi.json")).send().await.unwrap().json().await.unwrap();
    let ui = app.client.get(app.url("/swagger-ui/")).send().await.unwrap();

    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/api/v1/auth/login",
        "/api/v1/auth/token",
        "/api/v1/me",
        "/api/v1/admin/sedi",
        "/api/v1/admin/aziende/import",
        "/healthz",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} missing from the document");
    }
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    assert_eq!(ui.status(), 200);
    assert!(ui.text().await.unwrap().contains("swagger"));
}

async fn the_root_serves_a_page_in_italian(backend: Backend) {
    let app = spawn_app(backend).await;

    let res = app.client.get(app.url("/richieste?status=aperta")).send().await.unwrap();

    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("lang=\"it\""));
}

both!(
    health_and_readiness_answer,
    metrics_count_requests_by_route_and_status,
    responses_carry_a_request_id_and_security_headers,
    unknown_api_paths_are_problem_404,
    a_wrong_method_is_405_with_allow,
    openapi_and_swagger_ui_are_served,
    the_root_serves_a_page_in_italian,
);

/// The committed `openapi/openapi.json` is what the server generates.
#[test]
fn committed_openapi_document_matches_the_server() {
    let generated: serde_json::Value =
        serde_json::from_str(&cassetto_api::startup::openapi().to_pretty_json().unwrap()).unwrap();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json");
    let committed: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("openapi/openapi.json")).expect("valid JSON");
    assert!(
        generated == committed,
        "openapi/openapi.json is stale: run `cargo run --bin cassetto -- openapi > openapi/openapi.json`"
    );
}
