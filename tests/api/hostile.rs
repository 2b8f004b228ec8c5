//! Hostile input: oversized and malformed bodies, a thousand filters, dangerous file names,
//! injection attempts in text fields, and cross-origin calls. Each is refused with a clear
//! problem in Italian, or stored harmlessly, and nothing else changes.

use serde_json::{json, Value};

use crate::both;
use crate::helpers::{expect_problem, generic, pdf, spawn_app_with, with_companies, Backend, TestApp};

async fn total(app: &TestApp, token: &str) -> u64 {
    app.archive(token, "").await["total"].as_u64().unwrap()
}

async fn raw_multipart(app: &TestApp, token: &str, content_type: &str, body: Vec<u8>) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/requests"))
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn an_oversized_json_body_is_413_and_creates_nothing(backend: Backend) {
    let app = with_companies(backend).await;
    let rossi = app.token("rossi").await;
    let huge = "x".repeat(2 * 1024 * 1024);

    let res = app.post_json("/api/v1/requests", &rossi, &generic("7002000011", &huge)).await;

    let p = expect_problem(res, 413).await;
    assert!(p.detail().contains("supera il limite"), "{}", p.detail());
    assert_eq!(total(&app, &rossi).await, 0);
}

async fn a_thousand_filters_are_refused_at_once(backend: Backend) {
    let app = with_companies(backend).await;
    let rossi = app.token("rossi").await;
    let query = vec!["status=aperta"; 1000].join("&");

    let res = app.get(&format!("/api/v1/requests?{query}"), &rossi).await;

    let p = expect_problem(res, 400).await;
    assert!(p.detail().contains("troppi parametri"), "{}", p.detail());
}

async fn malformed_multipart_is_a_clear_problem_and_creates_nothing(backend: Backend) {
    let app = with_companies(backend).await;
    let rossi = app.token("rossi").await;
    let request = generic("7002000011", "Multipart rotto").to_string();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        // The body never closes its boundary.
        (
            "multipart/form-data; boundary=XYZ",
            format!("--XYZ\r\nContent-Disposition: form-data; name=\"request\"\r\n\r\n{request}\r\n--XYZ\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a.pdf\"\r\n\r\n%PDF-1.4 troncato").into_bytes(),
        ),
        // A boundary that the body does not use.
        ("multipart/form-data; boundary=ABC", format!("--XYZ\r\n\r\n{request}\r\n--XYZ--\r\n").into_bytes()),
        // No boundary at all.
        ("multipart/form-data", b"qualcosa".to_vec()),
        // The request part is not JSON.
        (
            "multipart/form-data; boundary=XYZ",
            b"--XYZ\r\nContent-Disposition: form-data; name=\"request\"\r\n\r\n{non json\r\n--XYZ--\r\n".to_vec(),
        ),
        // Files but no request part.
        (
            "multipart/form-data; boundary=XYZ",
            b"--XYZ\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a.pdf\"\r\n\r\n%PDF-1.4\r\n--XYZ--\r\n"
                .to_vec(),
        ),
    ];

    for (content_type, body) in cases {
        let res = raw_multipart(&app, &rossi, content_type, body).await;

        let status = res.status().as_u16();
        assert!(matches!(status, 400 | 422), "{content_type}: {status}");
        let p = expect_problem(res, status).await;
        assert!(!p.detail().is_empty());
    }
    assert_eq!(total(&app, &rossi).await, 0);
    let leftovers: Vec<_> = crate::helpers::files_under(&app.data_dir().join("attachments"));
    assert!(leftovers.is_empty(), "files left behind: {leftovers:?}");
}

async fn dangerous_file_names_are_made_harmless(backend: Backend) {
    let app = with_companies(backend).await;
    let rossi = app.token("rossi").await;

    let res = app
        .send_request(
            &rossi,
            &generic("7002000011", "Nomi ostili"),
            vec![
                ("..\\..\\windows\\system32\\config.pdf", pdf("1")),
                ("/etc/passwd%0D%0A<script>.pdf", pdf("2")),
                ("C:\\Users\\..\\ricevuta\t.pdf", pdf("3")),
            ],
        )
        .await;

    assert_eq!(res.status(), 201);
    let r: Value = res.json().await.unwrap();
    let names: Vec<String> =
        r["attachments"].as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap().to_owned()).collect();
    for name in &names {
        assert!(!name.contains(['/', '\\']), "{name}");
        assert!(!name.contains(".."), "{name}");
        assert!(!name.chars().any(char::is_control), "{name:?}");
        assert!(name.ends_with(".pdf"), "{name}");
    }

    // Raw control characters and line breaks in a part header break the multipart framing
    // itself: the request is refused as a whole.
    for raw in ["ricevuta\r\nX-Header: x.pdf", "/etc/passwd\u{7}\u{1b}[31m.pdf"] {
        let injected =
            app.send_request(&rossi, &generic("7002000011", "Intestazione iniettata"), vec![(raw, pdf("4"))]).await;
        expect_problem(injected, 400).await;
    }
    assert_eq!(total(&app, &rossi).await, 1, "only the first request was registered");
    let zip = app.get(&format!("/api/v1/requests/{}/attachments.zip", r["id"].as_str().unwrap()), &rossi).await;
    let bytes = zip.bytes().await.unwrap();
    let archive = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let entries: Vec<&str> = archive.file_names().collect();
    assert_eq!(entries.len(), 3);
    for e in entries {
        assert!(names.iter().any(|n| n == e), "{e} not among {names:?}");
    }
}

async fn injection_attempts_are_stored_verbatim_and_match_nothing_else(backend: Backend) {
    let app = with_companies(backend).await;
    let rossi = app.token("rossi").await;
    let bianchi = app.token("bianchi").await;
    app.sent(&bianchi, &generic("7002000022", "Richiesta di un'altra azienda")).await;
    let sql = "x'); DROP TABLE requests; --";
    let html = "<img src=x onerror=alert(1)><script>alert('xss')</script>";

    let mine =
        app.sent(&rossi, &json!({"matricola": "7002000011", "ambito": "GENERICA", "subject": sql, "body": html})).await;
    let id = mine["id"].as_str().unwrap();
    let c = app.post_json(&format!("/api/v1/requests/{id}/comments"), &rossi, &json!({"body": html})).await;
    assert_eq!(c.status(), 201);

    let detail: Value = app.get(&format!("/api/v1/requests/{id}"), &rossi).await.json().await.unwrap();
    assert!(detail["subject"].as_str().unwrap().ends_with(sql), "{}", detail["subject"]);
    assert_eq!(detail["body"], html);
    assert_eq!(detail["comments"][0]["body"], html);
    // Alone and with another filter (on PostgreSQL the two take different query shapes).
    for also in ["", "&status=aperta"] {
        for probe in ["%' OR '1'='1", "' OR 1=1 --", "%", "_", "\\", "x_)"] {
            let found = app.archive(&rossi, &format!("subject={}{also}", urlencode(probe))).await;
            assert_eq!(found["total"], 0, "subject={probe}{also} matched: {found}");
        }
        for present in ["drop table", "x');"] {
            let found = app.archive(&rossi, &format!("subject={}{also}", urlencode(present))).await;
            assert_eq!(found["total"], 1, "subject={present}{also}: {found}");
        }
    }
    assert_eq!(total(&app, &bianchi).await, 1, "the other company's archive is intact");
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

async fn cross_origin_calls_are_allowed_for_the_spa_origin_only(backend: Backend) {
    let app =
        spawn_app_with(backend, [("CASSETTO_CORS_ORIGINS", "https://cassetto.inps.example".to_owned())].into()).await;

    let allowed = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/api/v1/requests"))
        .header("origin", "https://cassetto.inps.example")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "authorization, content-type")
        .send()
        .await
        .unwrap();
    let foreign = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/api/v1/requests"))
        .header("origin", "https://malevolo.example")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    let simple = app.client.get(app.url("/healthz")).header("origin", "https://malevolo.example").send().await.unwrap();

    assert!(allowed.status().is_success(), "{}", allowed.status());
    assert_eq!(allowed.headers()["access-control-allow-origin"], "https://cassetto.inps.example");
    let methods = allowed.headers()["access-control-allow-methods"].to_str().unwrap().to_uppercase();
    assert!(methods.contains("POST"), "{methods}");
    assert!(foreign.headers().get("access-control-allow-origin").is_none());
    assert!(simple.headers().get("access-control-allow-origin").is_none());
}

async fn without_a_configured_origin_no_cross_origin_call_is_allowed(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;

    let res = app
        .client
        .get(app.url("/api/v1/ambiti"))
        .header("origin", "https://cassetto.inps.example")
        .send()
        .await
        .unwrap();

    assert!(res.headers().get("access-control-allow-origin").is_none());
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    assert_eq!(res.headers()["x-frame-options"], "DENY");
    assert_eq!(res.headers()["content-security-policy"], "default-src 'none'; frame-ancestors 'none'");
    assert_eq!(res.headers()["cache-control"], "no-store");
}

both!(
    an_oversized_json_body_is_413_and_creates_nothing,
    a_thousand_filters_are_refused_at_once,
    malformed_multipart_is_a_clear_problem_and_creates_nothing,
    dangerous_file_names_are_made_harmless,
    injection_attempts_are_stored_verbatim_and_match_nothing_else,
    cross_origin_calls_are_allowed_for_the_spa_origin_only,
    without_a_configured_origin_no_cross_origin_call_is_allowed,
);
