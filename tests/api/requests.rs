//! Sending requests, attachments, protocol, routing, and the archive.

use std::collections::HashSet;
use std::io::Read;

use cassetto_domain::italian_date;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::both;
use crate::helpers::{expect_problem, files_under, generic, pdf, spawn_app_with, with_companies, Backend, TestApp};

fn today() -> String {
    italian_date(chrono::Utc::now()).format("%d/%m/%Y").to_string()
}

fn sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

async fn total(app: &TestApp, token: &str) -> u64 {
    app.archive(token, "").await["total"].as_u64().unwrap()
}

async fn a_generic_request_is_protocolled_and_routed_to_the_sede(backend: Backend) {
    let app = with_companies(backend).await;
    let rossi = app.token("rossi").await;

    let res = app.post_json("/api/v1/requests", &rossi, &generic("7002000011", "Informazioni sul cassetto")).await;

    assert_eq!(res.status(), 201);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let r: Value = res.json().await.unwrap();
    assert_eq!(location, format!("/api/v1/requests/{}", r["id"].as_str().unwrap()));
    assert_eq!(r["protocollo"], format!("INPS.7002.{}.0000001", today()));
    assert_eq!(r["status"], "aperta");
    assert_eq!(r["sede"], json!({"code": "7002", "name": "Roma Tiburtino"}));
    assert_eq!(r["subject"], "Informazioni sul cassetto");
    assert_eq!(r["esito"], Value::Null);
    assert_eq!(r["history"].as_array().unwrap().len(), 1);
    assert_eq!(r["history"][0]["from_status"], Value::Null);
    assert_eq!(r["history"][0]["to_status"], "aperta");
    let detail: Value = app.get(&location, &rossi).await.json().await.unwrap();
    assert_eq!(detail, r);
    let second = app.sent(&rossi, &generic("7002000011", "Seconda")).await;
    assert_eq!(second["protocollo"], format!("INPS.7002.{}.0000002", today()));
}

async fn a_specific_request_carries_ambito_and_period_in_the_subject(backend: Backend) {
    let app = with_companies(backend).await;
    let rossi = app.token("rossi").await;

    let durc = app
        .sent(
            &rossi,
            &json!({"matricola": "7002000011", "ambito": "REGOLARITA_CONTRIBUTIVA", "subject": "DURC irregolare",
                    "body": "Verificare i versamenti.", "details": {"period_from": "2026-01", "period_to": "2026-03"}}),
        )
        .await;
    let f24 = app
        .sent(
            &rossi,
            &json!({"matricola": "7002000011", "ambito": "F24", "subject": "Versamento non abbinato",
                    "body": "Allego la quietanza.", "details": {"payment_date": "2026-02-16", "amount": "1234,5"}}),
        )
        .await;

    assert_eq!(durc["subject"], "Regolarità contributiva - periodo 01/2026-03/2026: DURC irregolare");
    assert_eq!(durc["ambito"], "REGOLARITA_CONTRIBUTIVA");
    assert_eq!(durc["details"], json!({"period_from": "2026-01", "period_to": "2026-03"}));
    assert_eq!(f24["subject"], "Versamenti F24: Versamento non abbinato");
    assert_eq!(f24["details"]["amount"], "1234.50");
}

async fn each_validation_error_names_its_field_and_nothing_is_created(backend: Backend) {
    let app = with_companies(backend).await;
    let rossi = app.token("rossi").await;

    let cases: Vec<(Value, Vec<&str>)> = vec![
        (
            json!({"matricola": "7002000011", "ambito": "REGOLARITA_CONTRIBUTIVA", "subject": "x", "body": "y", "details": {"period_to": "2026-01"}}),
            vec!["details.period_from"],
        ),
        (
            json!({"matricola": "7002000011", "ambito": "REGOLARITA_CONTRIBUTIVA", "subject": "x", "body": "y", "details": {"period_from": "2026-03", "period_to": "2026-01"}}),
            vec!["details.period_to"],
        ),
        (
            json!({"matricola": "7002000011", "ambito": "DM_TRASMESSI", "subject": "x", "body": "y", "details": {"period": "2999-01"}}),
            vec!["details.period"],
        ),
        (
            json!({"matricola": "7002000011", "ambito": "F24", "subject": "x", "body": "y", "details": {"payment_date": "2026-02-30", "amount": "-3", "extra": 1}}),
            vec!["details.amount", "details.extra", "details.payment_date"],
        ),
        (
            json!({"matricola": "123", "ambito": "NON_ESISTE", "subject": "  ", "body": "", "details": {}}),
            vec!["ambito", "body", "matricola", "subject"],
        ),
        (json!({"ambito": "GENERICA", "subject": "x", "body": "y"}), vec!["matricola"]),
        (
            json!({"matricola": "7002000011", "ambito": "GENERICA", "subject": "a\u{0007}b", "body": "y"}),
            vec!["subject"],
        ),
    ];
    for (body, expected) in cases {
        let res = app.post_json("/api/v1/requests", &rossi, &body).await;
        let p = expect_problem(res, 422).await;
        let mut fields = p.fields();
        fields.sort();
        assert_eq!(fields, expected, "for {body}");
    }
    assert_eq!(total(&app, &rossi).await, 0);
}

async fn three_files_are_bundled_with_their_hashes(backend: Backend) {
    let app = with_companies(backend).await;
    let rossi = app.token("rossi").await;
    let a = pdf("prima");
    let b = b"matricola;importo\n7002000011;100,00\n".to_vec();
    let c = [&[0x89u8, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a][..], &[7u8; 5000][..]].concat();

    let res = app
        .send_request(
            &rossi,
            &generic("7002000011", "Con allegati"),
            vec![("../../quietanza.pdf", a.clone()), ("dati.csv", b.clone()), ("foto", c.clone())],
        )
        .await;

    assert_eq!(res.status(), 201);
    let r: Value = res.json().await.unwrap();
    let names: Vec<&str> = r["attachments"].as_array().unwrap().iter().map(|x| x["name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["quietanza.pdf", "dati.csv", "foto.png"]);
    assert_eq!(r["attachments"][0]["sha256"], sha(&a));
    assert_eq!(r["attachments"][1]["content_type"], "text/csv");
    assert_eq!(r["attachments"][2]["size"], c.len());
    let zip_res = app.get(&format!("/api/v1/requests/{}/attachments.zip", r["id"].as_str().unwrap()), &rossi).await;
    assert_eq!(zip_res.status(), 200);
    assert_eq!(zip_res.headers()["content-type"], "application/zip");
    let bytes = zip_res.bytes().await.unwrap();
    assert_eq!(r["bundle"]["sha256"], sha(&bytes));
    assert_eq!(r["bundle"]["size"], bytes.len());
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    assert_eq!(archive.len(), 3);
    for (i, original) in [a, b, c].iter().enumerate() {
        let mut entry = archive.by_index(i).unwrap();
        assert_eq!(entry.name(), names[i]);
        let mut content = Vec::new();
        entry.read_to_end(&mut content).unwrap();
        assert_eq!(sha(&content), sha(original));
    }
}

async fn a_fourth_file_is_refused_with_422(backend: Backend) {
    let app = with_companies(backend).await;
    let rossi = app.token("rossi").await;

    let files = vec![("1.pdf", pdf("1")), ("2.pdf", pdf("2")), ("3.pdf", pdf("3")), ("4.pdf", pdf("4"))];
    let res = app.send_request(&rossi, &generic("7002000011", "Troppi file"), files).await;

    let p = expect_problem(res, 422).await;
    assert_eq!(p.fields(), vec!["files[3]"]);
    assert_eq!(total(&app, &rossi).await, 0);
}

async fn a_renamed_executable_is_refused_as_type(backend: Backend) {
    let app = with_companies(backend).await;
    let rossi = app.token("rossi").await;
    let exe = [&b"MZ\x90\x00\x03\x00\x00\x00"[..], &[0u8; 200][..]].concat();

    let res = app.send_request(&rossi, &generic("7002000011", "Fattura"), vec![("fattura.pdf", exe)]).await;

    let p = expect_problem(res, 415).await;
    assert!(p.detail().contains("fattura.pdf"), "{}", p.detail());
    assert_eq!(total(&app, &rossi).await, 0);
}

async fn a_file_over_the_limit_is_413(backend: Backend) {
    let app = spawn_app_with(backend, [("CASSETTO_MAX_FILE_BYTES", "10000".to_owned())].into()).await;
    let seeded = with_companies_on(&app).await;
    let rossi = app.token(seeded).await;
    let big = [pdf("grande"), vec![b'x'; 20_000]].concat();

    let res = app.send_request(&rossi, &generic("7002000011", "Grande"), vec![("grande.pdf", big)]).await;

    expect_problem(res, 413).await;
    assert_eq!(total(&app, &rossi).await, 0);
}

async fn with_companies_on(app: &TestApp) -> &'static str {
    app.create_sede("7002", "Roma Tiburtino", true).await;
    app.create_azienda("7002000011", "7002").await;
    app.create_user("rossi", cassetto_domain::Role::Azienda, None, &["7002000011"]).await;
    "rossi"
}

async fn a_sede_not_in_pilot_refuses_with_its_own_problem(backend: Backend) {
    let app = with_companies(backend).await;
    let napoli = app.token("napoli").await;

    let res = app.post_json("/api/v1/requests", &napoli, &generic("5100000011", "Richiesta")).await;

    let p = expect_problem(res, 403).await;
    assert!(p.problem_type().ends_with("sede-not-enabled"), "{}", p.problem_type());
    assert!(p.detail().contains("Napoli") && p.detail().contains("non è ancora abilitata"), "{}", p.detail());
}

async fn an_intermediario_sends_only_for_delegated_matricole(backend: Backend) {
    let app = with_companies(backend).await;
    let studio = app.token("studio").await;

    let delegated = app.post_json("/api/v1/requests", &studio, &generic("7002000011", "Per conto di Rossi")).await;
    let not_delegated =
        app.post_json("/api/v1/requests", &studio, &generic("7002000022", "Per conto di Bianchi")).await;

    assert_eq!(delegated.status(), 201);
    let p = expect_problem(not_delegated, 403).await;
    assert!(p.detail().contains("7002000022"));
    // The company sees what its intermediario sent.
    let rossi = app.token("rossi").await;
    assert_eq!(total(&app, &rossi).await, 1);
}

async fn back_office_roles_cannot_use_the_senders_side(backend: Backend) {
    let app = with_companies(backend).await;
    app.create_user("op.roma", cassetto_domain::Role::Operatore, Some("7002"), &[]).await;
    let op = app.token("op.roma").await;

    expect_problem(app.post_json("/api/v1/requests", &op, &generic("7002000011", "X")).await, 403).await;
    expect_problem(app.get("/api/v1/requests", &op).await, 403).await;
}

async fn a_company_never_sees_or_finds_anothers_request(backend: Backend) {
    let app = with_companies(backend).await;
    let rossi = app.token("rossi").await;
    let bianchi = app.token("bianchi").await;
    let mine = app
        .send_request(&rossi, &generic("7002000011", "Riservata"), vec![("a.pdf", pdf("a"))])
        .await
        .json::<Value>()
        .await
        .unwrap();
    let id = mine["id"].as_str().unwrap();

    for path in ["", "/history", "/comments", "/attachments.zip"] {
        let res = app.get(&format!("/api/v1/requests/{id}{path}"), &bianchi).await;
        let p = expect_problem(res, 404).await;
        assert!(!p.body.to_string().contains("7002000011"), "leak in {path}: {}", p.body);
    }
    let missing = app.get("/api/v1/requests/00000000-0000-0000-0000-000000000000", &bianchi).await;
    let unknown = crate::helpers::problem(missing).await;
    let foreign = crate::helpers::problem(app.get(&format!("/api/v1/requests/{id}"), &bianchi).await).await;
    assert_eq!(unknown.body, foreign.body, "a foreign request reads exactly like a missing one");
    expect_problem(
        app.post_json(&format!("/api/v1/requests/{id}/comments"), &bianchi, &json!({"body": "ciao"})).await,
        404,
    )
    .await;
    assert_eq!(total(&app, &bianchi).await, 0);
    assert_eq!(app.archive(&bianchi, "matricola=7002000011").await["total"], 0);
    let protocollo = mine["protocollo"].as_str().unwrap();
    assert_eq!(app.archive(&bianchi, &format!("protocollo={protocollo}")).await["total"], 0);
}

async fn archive_filters_alone_and_combined(backend: Backend) {
    let app = with_companies(backend).await;
    let studio = app.token("studio").await;
    let rossi = app.token("rossi").await;
    let a = app.sent(&studio, &generic("7002000011", "DURC da verificare")).await;
    let b = app
        .sent(&studio, &json!({"matricola": "7002000011", "ambito": "F24", "subject": "Quietanza", "body": "x", "details": {"payment_date": "2026-01-10", "amount": 10}}))
        .await;
    let c = app.sent(&rossi, &generic("7002000011", "Altro durc")).await;
    app.force_status(c["id"].as_str().unwrap(), "in_carico").await;
    let today = italian_date(chrono::Utc::now());
    let tomorrow = today.succ_opt().unwrap();
    let yesterday = today.pred_opt().unwrap();
    let ids = |page: &Value| -> Vec<String> {
        page["items"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_owned()).collect()
    };
    let id = |r: &Value| r["id"].as_str().unwrap().to_owned();

    assert_eq!(app.archive(&studio, "").await["total"], 3);
    assert_eq!(ids(&app.archive(&studio, "subject=DURC").await).len(), 2);
    assert_eq!(ids(&app.archive(&studio, "subject=durc&status=in_carico").await), vec![id(&c)]);
    assert_eq!(ids(&app.archive(&studio, "status=aperta&status=in_carico").await).len(), 3);
    assert_eq!(ids(&app.archive(&studio, "status=chiusa").await).len(), 0);
    assert_eq!(ids(&app.archive(&studio, "ambito=F24").await), vec![id(&b)]);
    assert_eq!(
        ids(&app.archive(&studio, &format!("protocollo={}", a["protocollo"].as_str().unwrap())).await),
        vec![id(&a)]
    );
    assert_eq!(app.archive(&studio, "matricola=7002000011").await["total"], 3);
    assert_eq!(app.archive(&studio, "matricola=5100000011").await["total"], 0);
    assert_eq!(app.archive(&studio, &format!("opened_from={today}&opened_to={today}")).await["total"], 3);
    assert_eq!(app.archive(&studio, &format!("opened_to={yesterday}")).await["total"], 0);
    assert_eq!(app.archive(&studio, &format!("updated_from={tomorrow}")).await["total"], 0);
    assert_eq!(
        app.archive(&studio, &format!("updated_from={today}&ambito=GENERICA&subject=verificare")).await["total"],
        1
    );
    assert_eq!(ids(&app.archive(&studio, "sort=created_at").await), vec![id(&a), id(&b), id(&c)]);
    assert_eq!(ids(&app.archive(&studio, "sort=-created_at").await), vec![id(&c), id(&b), id(&a)]);
    let bad = app.get("/api/v1/requests?stato=aperta&limit=500", &studio).await;
    let p = expect_problem(bad, 400).await;
    assert_eq!(p.fields(), vec!["stato", "limit"]);
}

async fn paging_has_no_duplicates_or_gaps(backend: Backend) {
    let app = with_companies(backend).await;
    let rossi = app.token("rossi").await;
    let mut created = Vec::new();
    for i in 0..7 {
        created.push(
            app.sent(&rossi, &generic("7002000011", &format!("Richiesta {i}"))).await["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }

    for sort in ["-updated_at", "created_at"] {
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let q = match &cursor {
                Some(c) => format!("limit=3&sort={sort}&cursor={c}"),
                None => format!("limit=3&sort={sort}"),
            };
            let page = app.archive(&rossi, &q).await;
            assert_eq!(page["total"], 7);
            for item in page["items"].as_array().unwrap() {
                seen.push(item["id"].as_str().unwrap().to_owned());
            }
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => break,
            }
        }
        assert_eq!(seen.len(), 7, "{sort}");
        assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 7, "{sort}: duplicates");
        let mut expected = created.clone();
        if sort.starts_with('-') {
            expected.reverse();
        }
        assert_eq!(seen, expected, "{sort}");
    }
}

async fn an_idempotent_retry_returns_the_first_answer(backend: Backend) {
    let app = with_companies(backend).await;
    let rossi = app.token("rossi").await;
    let body = generic("7002000011", "Una sola volta");

    let first = app.send_request_with_key(&rossi, &body, vec![("a.pdf", pdf("a"))], Some("chiave-123")).await;
    let retry = app.send_request_with_key(&rossi, &body, vec![("a.pdf", pdf("a"))], Some("chiave-123")).await;
    let other = app.send_request_with_key(&rossi, &generic("7002000011", "Diversa"), vec![], Some("chiave-123")).await;

    assert_eq!(first.status(), 201);
    assert_eq!(retry.status(), 201);
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    let (first, retry): (Value, Value) = (first.json().await.unwrap(), retry.json().await.unwrap());
    assert_eq!(first["id"], retry["id"]);
    assert_eq!(first["protocollo"], retry["protocollo"]);
    let p = expect_problem(other, 422).await;
    assert_eq!(p.fields(), vec!["Idempotency-Key"]);
    assert_eq!(total(&app, &rossi).await, 1);
}

async fn concurrent_creates_get_consecutive_protocol_numbers(backend: Backend) {
    let app = with_companies(backend).await;
    let rossi = app.token("rossi").await;
    let studio = app.token("studio").await;

    let sends = (0..50).map(|i| {
        let token = if i % 2 == 0 { rossi.clone() } else { studio.clone() };
        let app = &app;
        async move {
            let res =
                app.post_json("/api/v1/requests", &token, &generic("7002000011", &format!("Concorrente {i}"))).await;
            assert_eq!(res.status(), 201);
            res.json::<Value>().await.unwrap()["protocollo"].as_str().unwrap().to_owned()
        }
    });
    let protocolli = futures_util::future::join_all(sends).await;

    let mut numbers: Vec<u64> = protocolli.iter().map(|p| p.rsplit('.').next().unwrap().parse().unwrap()).collect();
    numbers.sort();
    assert_eq!(numbers, (1..=50).collect::<Vec<u64>>());
}

async fn a_follow_up_comment_until_the_request_is_closed(backend: Backend) {
    let app = with_companies(backend).await;
    let rossi = app.token("rossi").await;
    let r = app.sent(&rossi, &generic("7002000011", "Con seguito")).await;
    let id = r["id"].as_str().unwrap();

    let res = app
        .post_json(&format!("/api/v1/requests/{id}/comments"), &rossi, &json!({"body": "Aggiungo un dettaglio."}))
        .await;
    assert_eq!(res.status(), 201);
    let detail: Value = app.get(&format!("/api/v1/requests/{id}"), &rossi).await.json().await.unwrap();
    assert_eq!(detail["comments"][0]["body"], "Aggiungo un dettaglio.");
    assert_eq!(detail["comments"][0]["author"]["role"], "azienda");
    assert!(detail["updated_at"].as_str().unwrap() > r["updated_at"].as_str().unwrap());
    let empty = app.post_json(&format!("/api/v1/requests/{id}/comments"), &rossi, &json!({"body": ""})).await;
    assert_eq!(expect_problem(empty, 422).await.fields(), vec!["body"]);

    app.force_status(id, "chiusa").await;
    let late = app.post_json(&format!("/api/v1/requests/{id}/comments"), &rossi, &json!({"body": "Ancora"})).await;
    expect_problem(late, 409).await;
    let comments: Value = app.get(&format!("/api/v1/requests/{id}/comments"), &rossi).await.json().await.unwrap();
    assert_eq!(comments.as_array().unwrap().len(), 1);
}

async fn a_request_without_files_has_no_bundle(backend: Backend) {
    let app = with_companies(backend).await;
    let rossi = app.token("rossi").await;
    let r = app.sent(&rossi, &generic("7002000011", "Senza allegati")).await;

    let res = app.get(&format!("/api/v1/requests/{}/attachments.zip", r["id"].as_str().unwrap()), &rossi).await;

    assert_eq!(r["bundle"], Value::Null);
    expect_problem(res, 404).await;
    let wrong_type = app
        .client
        .post(app.url("/api/v1/requests"))
        .bearer_auth(&rossi)
        .header("content-type", "text/plain")
        .body("ciao")
        .send()
        .await
        .unwrap();
    expect_problem(wrong_type, 415).await;
}

/// A word in more requests of the archive than are counted, searched in a sender's own
/// archive: the sender's matching requests only, counted exactly, every one once across the
/// pages in either order, and with another filter too. (On PostgreSQL the word counts make
/// this a scan of the sender's requests, sorted: the path these pages check.)
async fn a_common_word_in_a_senders_archive_finds_only_its_requests(backend: Backend) {
    let postgres = matches!(backend, Backend::Postgres(_));
    let app = with_companies(backend).await;
    let (rossi, bianchi, studio) = (app.token("rossi").await, app.token("bianchi").await, app.token("studio").await);
    common_word_copies(&app, postgres, (&rossi, "7002000011", "mine"), (&bianchi, "7002000022", "theirs")).await;
    let counted = |page: &Value| (page["total"].as_u64().unwrap(), page["total_exact"].as_bool().unwrap());

    // The intermediario, delegated for Rossi's matricola and not Bianchi's, page by page.
    for sort in ["-updated_at", "created_at"] {
        let (items, counts) =
            every_page(&app, &studio, "/api/v1/requests", &format!("subject=ferie&limit=100&sort={sort}")).await;
        assert_eq!(counts, HashSet::from([(600, true)]), "{sort}");
        let mut seen = Vec::new();
        for item in &items {
            assert_eq!(item["matricola"], "7002000011");
            assert!(item["subject"].as_str().unwrap().starts_with("Ferie estive "));
            seen.push(item["id"].as_str().unwrap().to_owned());
        }
        assert_eq!(seen, copies_in_order("mine", 600, sort), "{sort}");
    }
    let open = app.archive(&studio, "subject=FERIE&status=aperta").await;
    assert_eq!(counted(&open), (6, true));
    assert!(open["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|q| q["status"] == "aperta" && q["matricola"] == "7002000011"));
    assert_eq!(counted(&app.archive(&studio, "subject=modello").await), (1, true));
    assert_eq!(counted(&app.archive(&studio, "subject=campione").await), (0, true));
    // Each company: its own copies (Bianchi's are more than are counted).
    assert_eq!(counted(&app.archive(&rossi, "subject=ferie").await), (600, true));
    assert_eq!(counted(&app.archive(&bianchi, "subject=ferie").await), (1_000, false));
    assert_eq!(counted(&app.archive(&bianchi, "subject=ferie%20estive%2060").await), (11, true));
}

/// A word in more requests of the archive than are counted, searched in one sede's quesiti:
/// the operatore's (and the supervisore's with that sede) are the sede's matching requests
/// only, counted exactly, every one once across the pages in either order, and with a status
/// too; another sede's, more than are counted, are capped. (On PostgreSQL the word counts
/// make this a scan of the sede's requests in the sort's order: the path these pages check.)
async fn a_common_word_in_one_sedes_quesiti_finds_only_that_sedes(backend: Backend) {
    let postgres = matches!(backend, Backend::Postgres(_));
    let app = with_companies(backend).await;
    app.create_user("op.roma", cassetto_domain::Role::Operatore, Some("7002"), &[]).await;
    app.create_user("supervisore", cassetto_domain::Role::Supervisore, None, &[]).await;
    app.create_sede("2300", "Catanzaro", true).await;
    app.create_azienda("2300000011", "2300").await;
    app.create_user("greco", cassetto_domain::Role::Azienda, None, &["2300000011"]).await;
    let (rossi, greco) = (app.token("rossi").await, app.token("greco").await);
    let (op, supervisore) = (app.token("op.roma").await, app.token("supervisore").await);
    common_word_copies(&app, postgres, (&rossi, "7002000011", "roma"), (&greco, "2300000011", "catanzaro")).await;
    let quesiti = |token: &str, query: String| {
        let (app, token) = (&app, token.to_owned());
        async move {
            let res = app.get(&format!("/api/v1/quesiti?{query}"), &token).await;
            assert_eq!(res.status(), 200, "{query}");
            res.json::<Value>().await.unwrap()
        }
    };
    let counted = |page: &Value| (page["total"].as_u64().unwrap(), page["total_exact"].as_bool().unwrap());

    for (token, filter) in [(&op, ""), (&supervisore, "&sede=7002")] {
        for sort in ["-updated_at", "created_at"] {
            let query = format!("subject=ferie{filter}&limit=100&sort={sort}");
            let (items, counts) = every_page(&app, token, "/api/v1/quesiti", &query).await;
            assert_eq!(counts, HashSet::from([(600, true)]), "{query}");
            let mut seen = Vec::new();
            for item in &items {
                assert_eq!(item["sede"]["code"], "7002", "{query}");
                assert!(item["subject"].as_str().unwrap().starts_with("Ferie estive "));
                seen.push(item["id"].as_str().unwrap().to_owned());
            }
            assert_eq!(seen, copies_in_order("roma", 600, sort), "{query}");
        }
        let open = quesiti(token, format!("subject=FERIE&status=aperta{filter}")).await;
        assert_eq!(counted(&open), (6, true), "{filter}");
        assert!(open["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|q| q["status"] == "aperta" && q["sede"]["code"] == "7002"));
        assert_eq!(counted(&quesiti(token, format!("subject=campione{filter}")).await), (0, true), "{filter}");
    }
    assert_eq!(counted(&quesiti(&supervisore, "subject=ferie&sede=2300".into()).await), (1_000, false));
    assert_eq!(counted(&quesiti(&supervisore, "subject=ferie%20estive%2060&sede=2300".into()).await), (11, true));
}

/// A word in more requests of the archive than are counted, searched by the supervisore in
/// every sede with an ambito or a status (one or two, in either order): the matching requests
/// of every sede, every one once across the pages, counted exactly up to the cap. Pages are
/// found by walking the sort's index (one status by the last update: by its own index); a
/// walk that comes short of a page (the open copies' last page, another ambito's none) leaves
/// it to the filters' own index.
async fn a_common_word_with_other_filters_in_every_sede(backend: Backend) {
    let postgres = matches!(backend, Backend::Postgres(_));
    let app = with_companies(backend).await;
    app.create_user("supervisore", cassetto_domain::Role::Supervisore, None, &[]).await;
    app.create_sede("2300", "Catanzaro", true).await;
    app.create_azienda("2300000011", "2300").await;
    app.create_user("greco", cassetto_domain::Role::Azienda, None, &["2300000011"]).await;
    let (rossi, greco, supervisore) =
        (app.token("rossi").await, app.token("greco").await, app.token("supervisore").await);
    common_word_copies(&app, postgres, (&rossi, "7002000011", "roma"), (&greco, "2300000011", "catanzaro")).await;
    let counted = |page: &Value| (page["total"].as_u64().unwrap(), page["total_exact"].as_bool().unwrap());
    // Every hundredth copy is open: Rome's copies are the older ones.
    let open = |sort: &str| {
        let of = |prefix: &str, n: u32| {
            copies_in_order(prefix, n, sort).into_iter().filter(|id| id.rsplit('-').next().unwrap().ends_with("00"))
        };
        let (roma, catanzaro) = (of("roma", 600), of("catanzaro", 1_500));
        if sort.starts_with('-') {
            catanzaro.chain(roma).collect::<Vec<_>>()
        } else {
            roma.chain(catanzaro).collect()
        }
    };

    for sort in ["-updated_at", "created_at"] {
        for statuses in ["status=aperta", "status=aperta&status=in_carico"] {
            let query = format!("subject=ferie&{statuses}&limit=4&sort={sort}");
            let (items, counts) = every_page(&app, &supervisore, "/api/v1/quesiti", &query).await;
            assert_eq!(counts, HashSet::from([(21, true)]), "{query}");
            let ids: Vec<String> = items.iter().map(|i| i["id"].as_str().unwrap().to_owned()).collect();
            assert_eq!(ids, open(sort), "{query}");
            assert!(items.iter().all(|i| i["status"] == "aperta"), "{query}");
        }
        let query = format!("subject=ferie&status=chiusa&limit=100&sort={sort}");
        let (items, counts) = every_page(&app, &supervisore, "/api/v1/quesiti", &query).await;
        assert_eq!(counts, HashSet::from([(1_000, false)]), "{query}");
        let ids: HashSet<&str> = items.iter().map(|i| i["id"].as_str().unwrap()).collect();
        assert_eq!((items.len(), ids.len()), (2_079, 2_079), "{query}");
        assert!(items.iter().all(|i| i["status"] == "chiusa") && !ids.contains("roma-100"), "{query}");
        let query = format!("subject=ferie&ambito=GENERICA&limit=100&sort={sort}");
        let (items, counts) = every_page(&app, &supervisore, "/api/v1/quesiti", &query).await;
        assert_eq!(counts, HashSet::from([(1_000, false)]), "{query}");
        let ids: HashSet<&str> = items.iter().map(|i| i["id"].as_str().unwrap()).collect();
        assert_eq!((items.len(), ids.len()), (2_100, 2_100), "{query}");
        let none =
            app.get(&format!("/api/v1/quesiti?subject=ferie&ambito=DM_TRASMESSI&sort={sort}"), &supervisore).await;
        let none: Value = none.json().await.unwrap();
        assert_eq!((counted(&none), none["items"].as_array().unwrap().len()), ((0, true), 0), "{sort}");
    }
    // A phrase, not a word: the trigram index's few matches (60 of each, 601–609 of Catanzaro).
    let few = app.get("/api/v1/quesiti?subject=ferie%20estive%2060&status=chiusa", &supervisore).await;
    assert_eq!(counted(&few.json().await.unwrap()), (11, true));
}

/// Arrange for a common word: a request «Modello» sent by `few` (token, matricola, prefix of
/// the copies) copied 600 times and one «Campione» by `many` copied 1,500 times (more than are
/// counted), every copy «Ferie estive <i>»; on PostgreSQL, until the word counts hold them.
async fn common_word_copies(app: &TestApp, postgres: bool, few: (&str, &str, &str), many: (&str, &str, &str)) {
    for ((token, matricola, prefix), subject, n) in [(few, "Modello", 600), (many, "Campione", 1_500)] {
        let template = app.sent(token, &generic(matricola, subject)).await;
        app.bulk_copies(template["id"].as_str().unwrap(), prefix, n).await;
    }
    if postgres {
        assert_eq!(app.words_settled("ferie").await, 2_100);
    }
}

/// The ids of `bulk_copies(_, prefix, n)` in the order of `sort`: every copy has its
/// template's dates, so the order is the id's.
fn copies_in_order(prefix: &str, n: u32, sort: &str) -> Vec<String> {
    let mut ids: Vec<String> = (1..=n).map(|i| format!("{prefix}-{i}")).collect();
    ids.sort();
    if sort.starts_with('-') {
        ids.reverse();
    }
    ids
}

/// Every id of `query`'s pages, followed by cursor, with each page's `total`.
async fn all_pages(app: &TestApp, token: &str, query: &str) -> (Vec<String>, HashSet<u64>) {
    let (items, counts) = every_page(app, token, "/api/v1/requests", query).await;
    let ids = items.iter().map(|i| i["id"].as_str().unwrap().to_owned()).collect();
    (ids, counts.into_iter().map(|(total, _)| total).collect())
}

/// Every item of `path?query`'s pages (the archive or the quesiti), followed by cursor, with
/// each page's (`total`, `total_exact`).
async fn every_page(app: &TestApp, token: &str, path: &str, query: &str) -> (Vec<Value>, HashSet<(u64, bool)>) {
    let (mut items, mut counts) = (Vec::new(), HashSet::new());
    let mut next = query.to_owned();
    loop {
        let res = app.get(&format!("{path}?{next}"), token).await;
        assert_eq!(res.status(), 200, "{path}?{next}");
        let page: Value = res.json().await.unwrap();
        counts.insert((page["total"].as_u64().unwrap(), page["total_exact"].as_bool().unwrap()));
        items.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => next = format!("{query}&cursor={c}"),
            None => return (items, counts),
        }
    }
}

/// An intermediario whose requests are separated by a run of another company's longer than
/// the archive's walk reads (see `walk_bound` in the storage crate): its pages, in every
/// order and with a status, are its own requests, every one once, in order — whether a page
/// is found by walking the archive or by sorting its own requests.
async fn a_senders_pages_cross_a_long_run_of_another_companys_requests(backend: Backend) {
    let app = with_companies(backend).await;
    let (studio, bianchi) = (app.token("studio").await, app.token("bianchi").await);
    let mut mine = Vec::new();
    for i in 0..3 {
        mine.push(
            app.sent(&studio, &generic("7002000011", &format!("Prima {i}"))).await["id"].as_str().unwrap().to_owned(),
        );
    }
    let theirs = app.sent(&bianchi, &generic("7002000022", "Campione")).await;
    let run = cassetto_storage::requests::WALK_ENTRIES as u32 + 100;
    app.bulk_copies(theirs["id"].as_str().unwrap(), "theirs", run).await;
    for i in 0..3 {
        mine.push(
            app.sent(&studio, &generic("7002000011", &format!("Dopo {i}"))).await["id"].as_str().unwrap().to_owned(),
        );
    }
    app.force_status(&mine[1], "in_carico").await;
    app.force_status(&mine[4], "in_carico").await;
    let newest_first: Vec<String> = mine.iter().rev().cloned().collect();

    for (sort, expected) in
        [("-updated_at", &newest_first), ("-created_at", &newest_first), ("updated_at", &mine), ("created_at", &mine)]
    {
        let (ids, totals) = all_pages(&app, &studio, &format!("limit=2&sort={sort}")).await;
        assert_eq!(&ids, expected, "{sort}");
        assert_eq!(totals, HashSet::from([6]), "{sort}");
    }
    let (ids, totals) = all_pages(&app, &studio, "limit=1&status=in_carico").await;
    assert_eq!(ids, vec![mine[4].clone(), mine[1].clone()]);
    assert_eq!(totals, HashSet::from([2]));
    let (ids, _) = all_pages(&app, &studio, "limit=3&status=aperta&sort=created_at").await;
    assert_eq!(ids, vec![mine[0].clone(), mine[2].clone(), mine[3].clone(), mine[5].clone()]);
    // Bianchi's own pages: its copies (more than are counted), the first pages found by walking.
    let page = app.archive(&bianchi, "limit=5").await;
    assert_eq!((&page["total"], &page["total_exact"]), (&json!(cassetto_storage::requests::COUNT_CAP), &json!(false)));
    assert_eq!(page["items"].as_array().unwrap().len(), 5);
    assert!(page["items"].as_array().unwrap().iter().all(|i| i["matricola"] == "7002000022"));
}

both!(
    a_senders_pages_cross_a_long_run_of_another_companys_requests,
    a_common_word_in_a_senders_archive_finds_only_its_requests,
    a_common_word_in_one_sedes_quesiti_finds_only_that_sedes,
    a_common_word_with_other_filters_in_every_sede,
    a_generic_request_is_protocolled_and_routed_to_the_sede,
    a_specific_request_carries_ambito_and_period_in_the_subject,
    each_validation_error_names_its_field_and_nothing_is_created,
    three_files_are_bundled_with_their_hashes,
    a_fourth_file_is_refused_with_422,
    a_renamed_executable_is_refused_as_type,
    a_file_over_the_limit_is_413,
    a_sede_not_in_pilot_refuses_with_its_own_problem,
    an_intermediario_sends_only_for_delegated_matricole,
    back_office_roles_cannot_use_the_senders_side,
    a_company_never_sees_or_finds_anothers_request,
    archive_filters_alone_and_combined,
    paging_has_no_duplicates_or_gaps,
    an_idempotent_retry_returns_the_first_answer,
    concurrent_creates_get_consecutive_protocol_numbers,
    a_follow_up_comment_until_the_request_is_closed,
    a_request_without_files_has_no_bundle,
);

/// A crash between publishing a bundle and committing its request leaves an orphan bundle:
/// the sweep at start-up removes it and keeps every committed one.
async fn orphan_bundles_are_swept_and_committed_ones_kept(backend: Backend) {
    use cassetto_api::blobs::{sweep_orphans, BlobStore, LocalDirStore};
    let app = with_companies(backend).await;
    let rossi = app.token("rossi").await;
    let kept = app.send_request(&rossi, &generic("7002000011", "Con allegato"), vec![("a.pdf", pdf("a"))]).await;
    let kept: Value = kept.json().await.unwrap();
    let store = LocalDirStore::new(&app.data_dir().join("attachments")).unwrap();
    let orphan_id = uuid::Uuid::now_v7().to_string();
    let tmp = store.temp_path();
    std::fs::write(&tmp, b"PK\x05\x06").unwrap();
    store.put_file(&orphan_id, &tmp).await.unwrap();
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
    for id in [&orphan_id, &kept["id"].as_str().unwrap().to_owned()] {
        let path = store.file_path(id);
        std::fs::File::options().write(true).open(&path).unwrap().set_modified(old).unwrap();
    }

    let removed = sweep_orphans(&store, &app.db, None, std::time::Duration::from_secs(3600)).await.unwrap();

    assert_eq!(removed, 1);
    assert!(store.open(&orphan_id).await.unwrap().is_none());
    let zip = app.get(&format!("/api/v1/requests/{}/attachments.zip", kept["id"].as_str().unwrap()), &rossi).await;
    assert_eq!(zip.status(), 200);
    assert_eq!(sha(&zip.bytes().await.unwrap()), kept["bundle"]["sha256"].as_str().unwrap());
}

both!(orphan_bundles_are_swept_and_committed_ones_kept);

/// Bytes of `path` the page cache holds, as `fincore` (util-linux) reports them.
fn cached_bytes(path: &std::path::Path) -> u64 {
    let out = std::process::Command::new("fincore")
        .args(["--bytes", "--noheadings", "--output", "RES"])
        .arg(path)
        .output()
        .expect("fincore (util-linux)");
    assert!(out.status.success(), "fincore: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

/// A stored bundle is on disk and out of memory: its pages leave the page cache once it is
/// published, and it downloads intact from the disk.
#[tokio::test]
async fn a_stored_bundle_leaves_the_page_cache() {
    use cassetto_api::blobs::LocalDirStore;
    // Arrange
    let app = with_companies(crate::helpers::Backend::Sqlite).await;
    let rossi = app.token("rossi").await;
    let fs = std::process::Command::new("stat").args(["-f", "-c", "%T"]).arg(app.data_dir()).output().unwrap();
    if String::from_utf8_lossy(&fs.stdout).trim() == "tmpfs" {
        eprintln!("skipped: the data directory is on tmpfs, whose pages are its storage");
        return;
    }
    let file = crate::processes::pdf(7, 2_000_000);

    // Act
    let sent =
        app.send_request(&rossi, &generic("7002000011", "Con allegato grande"), vec![("grande.pdf", file)]).await;

    // Assert
    assert_eq!(sent.status(), 201);
    let sent: Value = sent.json().await.unwrap();
    let id = sent["id"].as_str().unwrap();
    let path = LocalDirStore::new(&app.data_dir().join("attachments")).unwrap().file_path(id);
    assert!(std::fs::metadata(&path).unwrap().len() > 2_000_000);
    assert_eq!(cached_bytes(&path), 0, "the published bundle is still in the page cache");
    let zip = app.get(&format!("/api/v1/requests/{id}/attachments.zip"), &rossi).await;
    assert_eq!(zip.status(), 200);
    assert_eq!(sha(&zip.bytes().await.unwrap()), sent["bundle"]["sha256"].as_str().unwrap());
    // Reading it brought it back: what `fincore` reports is the cache, not a constant.
    assert!(cached_bytes(&path) > 0);
}

/// Two instances on one database share the protocol register: numbers stay unique and gapless.
async fn two_instances_share_one_gapless_protocol_register(backend: Backend) {
    let first = with_companies(backend).await;
    let second = crate::helpers::spawn_second_instance(&first).await;
    let rossi = first.token("rossi").await;

    let sends = (0..30).map(|i| {
        let app = if i % 2 == 0 { &first } else { &second };
        let token = rossi.clone();
        async move {
            let res = app.post_json("/api/v1/requests", &token, &generic("7002000011", &format!("Istanza {i}"))).await;
            assert_eq!(res.status(), 201);
            res.json::<Value>().await.unwrap()["protocollo"].as_str().unwrap().to_owned()
        }
    });
    let protocolli = futures_util::future::join_all(sends).await;

    let mut numbers: Vec<u64> = protocolli.iter().map(|p| p.rsplit('.').next().unwrap().parse().unwrap()).collect();
    numbers.sort();
    assert_eq!(numbers, (1..=30).collect::<Vec<u64>>());
}

/// Payroll software signs in with client credentials and sends as its owner.
async fn payroll_software_sends_as_its_owner(backend: Backend) {
    let app = with_companies(backend).await;
    let admin = app.admin_token().await;
    let created: Value = app
        .post_json("/api/v1/admin/api-clients", &admin, &json!({"name": "Paghe Facili", "username": "studio"}))
        .await
        .json()
        .await
        .unwrap();
    let token: Value = app
        .client_credentials(created["client_id"].as_str().unwrap(), created["client_secret"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    let token = token["access_token"].as_str().unwrap();

    let ok =
        app.send_request(token, &generic("7002000011", "Dal gestionale paghe"), vec![("cedolini.pdf", pdf("c"))]).await;
    let foreign = app.post_json("/api/v1/requests", token, &generic("7002000022", "Non delegata")).await;

    assert_eq!(ok.status(), 201);
    let r: Value = ok.json().await.unwrap();
    expect_problem(foreign, 403).await;
    let trail = cassetto_storage::audit::for_entity(&app.db, "request", r["id"].as_str().unwrap()).await.unwrap();
    assert_eq!(trail[0].actor_username, "studio");
    assert!(trail[0].detail.contains(created["client_id"].as_str().unwrap()), "the audit names the API client");
}

both!(two_instances_share_one_gapless_protocol_register, payroll_software_sends_as_its_owner);

/// Recipients of the notifications of request `id`, from the outbox.
async fn recipients(app: &TestApp, id: &str) -> Vec<String> {
    use cassetto_storage::entities::notification;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    notification::Entity::find()
        .filter(notification::Column::RequestId.eq(id))
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|n| n.recipient)
        .collect()
}

async fn run_sql(app: &TestApp, sql: &str) {
    use sea_orm::ConnectionTrait;
    app.db.execute_unprepared(sql).await.unwrap();
}

/// What a send reads of the registry is kept between requests (see `registry_cache`), yet a
/// change made anywhere — by hand in the database, through another instance — counts from the
/// very next request: a preference, a revoked delega, a deactivated user.
async fn registry_changes_made_elsewhere_count_from_the_next_send(backend: Backend) {
    let app = with_companies(backend).await;
    let other = crate::helpers::spawn_second_instance(&app).await;
    let admin = other.admin_token().await;
    let studio = app.token("studio").await;
    let first: Value = app.sent(&studio, &generic("7002000011", "Prima")).await;
    assert!(recipients(&app, first["id"].as_str().unwrap()).await.contains(&"rossi@example.it".to_owned()));

    // Act: a new e-mail for the azienda's user, by hand; then a second send.
    run_sql(&app, "UPDATE users SET email = 'nuovo.rossi@example.it' WHERE username = 'rossi'").await;
    let second: Value = app.sent(&studio, &generic("7002000011", "Seconda")).await;
    // Act: the delega revoked through the other instance; then a third send.
    let revoked = other.delete("/api/v1/admin/deleghe/studio/7002000011", &admin).await;
    let third = app.post_json("/api/v1/requests", &studio, &generic("7002000011", "Terza")).await;
    // Act: the sede of Napoli enabled by hand, between two sends.
    let not_yet = app.post_json("/api/v1/requests", &studio, &generic("5100000011", "Napoli")).await;
    run_sql(&app, "UPDATE sedi SET pilot = true WHERE code = '5100'").await;
    let enabled = app.post_json("/api/v1/requests", &studio, &generic("5100000011", "Napoli")).await;
    // Act: the intermediario deactivated by hand.
    run_sql(&app, "UPDATE users SET active = false WHERE username = 'studio'").await;
    let after = app.get("/api/v1/me", &studio).await;

    let to = recipients(&app, second["id"].as_str().unwrap()).await;
    assert!(
        to.contains(&"nuovo.rossi@example.it".to_owned()) && !to.contains(&"rossi@example.it".to_owned()),
        "{to:?}"
    );
    assert_eq!(revoked.status(), 204);
    assert!(expect_problem(third, 403).await.detail().contains("delega"));
    assert!(expect_problem(not_yet, 403).await.problem_type().ends_with("sede-not-enabled"));
    assert_eq!(enabled.status(), 201);
    expect_problem(after, 401).await;
}

both!(registry_changes_made_elsewhere_count_from_the_next_send);

fn progressive(created: &Value) -> u64 {
    created["protocollo"].as_str().unwrap().rsplit('.').next().unwrap().parse().unwrap()
}

/// A send checks its caller against the registry cache and confirms, inside its write, that the
/// registry has not changed since: one that meets a change is undone and done again, so the
/// protocol register stays gapless and its files are published once; one whose user was
/// deactivated in between is refused with 401, and leaves neither a request nor a bundle (nor is
/// an earlier answer replayed to it).
async fn a_send_that_meets_a_registry_change_is_done_again_or_refused(backend: Backend) {
    // Arrange: a first send puts the intermediario in the cache.
    let app = with_companies(backend).await;
    let studio = app.token("studio").await;
    let first = app.sent(&studio, &generic("7002000011", "Prima")).await;
    let attachments = app.data_dir().join("attachments");
    let bundles_before = files_under(&attachments).len();

    // Act: a change elsewhere in the registry, then a send with a file.
    run_sql(&app, "UPDATE aziende SET email = 'bianchi.nuova@example.it' WHERE matricola = '7002000022'").await;
    let seconda = generic("7002000011", "Seconda");
    let redone = app.send_request_with_key(&studio, &seconda, vec![("a.pdf", pdf("seconda"))], Some("k-2")).await;
    // Act: the intermediario deactivated, then another send with a file.
    run_sql(&app, "UPDATE users SET active = false WHERE username = 'studio'").await;
    let refused = app.send_request(&studio, &generic("7002000011", "Terza"), vec![("b.pdf", pdf("terza"))]).await;
    // Act: active again (an archive page puts it back in the cache), deactivated, then the
    // second send retried with its key.
    run_sql(&app, "UPDATE users SET active = true WHERE username = 'studio'").await;
    assert_eq!(app.archive(&studio, "").await["total"], 2, "the refused send wrote nothing");
    run_sql(&app, "UPDATE users SET active = false WHERE username = 'studio'").await;
    let replayed = app.send_request_with_key(&studio, &seconda, vec![("a.pdf", pdf("seconda"))], Some("k-2")).await;

    // Assert
    assert_eq!(redone.status(), 201);
    let redone: Value = redone.json().await.unwrap();
    assert_eq!(progressive(&redone), progressive(&first) + 1, "no number is lost to the undone attempt");
    let rossi = app.token("rossi").await;
    let zip = app.get(&format!("/api/v1/requests/{}/attachments.zip", redone["id"].as_str().unwrap()), &rossi).await;
    assert_eq!(zip.status(), 200);
    assert_eq!(sha(&zip.bytes().await.unwrap()), redone["bundle"]["sha256"].as_str().unwrap());
    assert!(expect_problem(refused, 401).await.detail().contains("non è più attivo"));
    assert!(expect_problem(replayed, 401).await.detail().contains("non è più attivo"), "no replay either");
    let archive = app.archive(&rossi, "").await;
    assert_eq!(archive["total"], 2, "the refused send wrote nothing");
    assert_eq!(files_under(&attachments).len(), bundles_before + 1, "only the second send's bundle is kept");
}

both!(a_send_that_meets_a_registry_change_is_done_again_or_refused);

/// The sede's name on each row of the archive and of the back office's list comes from the
/// registry cache: a rename made through another instance, or by hand, shows from the next page.
async fn a_renamed_sede_shows_its_new_name_from_the_next_page(backend: Backend) {
    // Arrange
    let app = crate::helpers::with_back_office(backend).await;
    let other = crate::helpers::spawn_second_instance(&app).await;
    let admin = other.admin_token().await;
    let studio = app.token("studio").await;
    let supervisore = app.token("supervisore").await;
    app.sent(&studio, &generic("7002000011", "Prima")).await;
    let before = app.archive(&studio, "").await;

    // Act: renamed through the other instance, then by hand.
    let renamed = other.patch_json("/api/v1/admin/sedi/7002", &admin, &json!({"name": "Roma Eur"})).await;
    let archive = app.archive(&studio, "").await;
    let queue: Value = app.get("/api/v1/quesiti", &supervisore).await.json().await.unwrap();
    run_sql(&app, "UPDATE sedi SET name = 'Roma Laurentino' WHERE code = '7002'").await;
    let by_hand = app.archive(&studio, "").await;

    // Assert
    assert_eq!(before["items"][0]["sede"], json!({"code": "7002", "name": "Roma Tiburtino"}));
    assert_eq!(renamed.status(), 200);
    assert_eq!(archive["items"][0]["sede"]["name"], "Roma Eur");
    assert_eq!(queue["items"][0]["sede"]["name"], "Roma Eur");
    assert_eq!(by_hand["items"][0]["sede"]["name"], "Roma Laurentino");
}

both!(a_renamed_sede_shows_its_new_name_from_the_next_page);
