//! The back office: quesiti, transitions, comments, rerouting, concurrency, monitoring.

use chrono::{Duration, Utc};
use serde_json::{json, Value};

use crate::both;
use crate::helpers::{expect_problem, generic, with_back_office, Backend, TestApp};

async fn sent_id(app: &TestApp, token: &str, subject: &str) -> String {
    app.sent(token, &generic("7002000011", subject)).await["id"].as_str().unwrap().to_owned()
}

fn etag(res: &reqwest::Response) -> String {
    res.headers()["etag"].to_str().unwrap().to_owned()
}

fn close(text: &str) -> Value {
    json!({"to": "chiusa", "comment": "Pratica definita.", "esito": {"code": "accolta", "text": text}})
}

async fn the_full_life_of_a_quesito_from_both_sides(backend: Backend) {
    let app = with_back_office(backend).await;
    let rossi = app.token("rossi").await;
    let op = app.token("op.roma").await;
    let id = sent_id(&app, &rossi, "Verifica posizione").await;

    let queue: Value = app.get("/api/v1/quesiti?status=aperta", &op).await.json().await.unwrap();
    assert_eq!(queue["total"], 1);
    assert_eq!(queue["items"][0]["id"], id.as_str());
    let read = app.get(&format!("/api/v1/quesiti/{id}"), &op).await;
    let tag = etag(&read);
    let q: Value = read.json().await.unwrap();
    assert_eq!(q["version"], 1);
    assert_eq!(tag, "\"1\"");
    assert_eq!(q["sent_by"]["role"], "azienda");

    let taken = app.transition(&op, &id, &json!({"to": "in_carico", "comment": "Presa in carico."}), Some(&tag)).await;
    assert_eq!(taken.status(), 200);
    let taken: Value = taken.json().await.unwrap();
    assert_eq!(taken["status"], "in_carico");
    assert_eq!(taken["assigned_to"], "op.roma");
    app.post_json(&format!("/api/v1/quesiti/{id}/comments"), &op, &json!({"body": "Servono le ricevute F24."})).await;
    app.post_json(
        &format!("/api/v1/quesiti/{id}/comments"),
        &op,
        &json!({"body": "NOTA INTERNA: verificare col FEA", "internal": true}),
    )
    .await;
    let closed = app.transition(&op, &id, &close("La posizione è regolare."), None).await;
    assert_eq!(closed.status(), 200);

    let seen: Value = app.get(&format!("/api/v1/requests/{id}"), &rossi).await.json().await.unwrap();
    assert_eq!(seen["status"], "chiusa");
    assert_eq!(seen["esito"], json!({"code": "accolta", "text": "La posizione è regolare."}));
    assert!(seen["closed_at"].is_string());
    let steps: Vec<(&str, &str)> = seen["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| (h["to_status"].as_str().unwrap(), h["comment"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(steps[1..], [("in_carico", "Presa in carico."), ("chiusa", "Pratica definita.")]);
    assert_eq!(seen["history"][1]["actor"]["role"], "operatore");
    assert_eq!(seen["comments"].as_array().unwrap().len(), 1);
    assert_eq!(seen["comments"][0]["body"], "Servono le ricevute F24.");
    let late = app.post_json(&format!("/api/v1/requests/{id}/comments"), &rossi, &json!({"body": "Grazie"})).await;
    expect_problem(late, 409).await;
}

async fn every_allowed_and_refused_transition(backend: Backend) {
    let app = with_back_office(backend).await;
    let rossi = app.token("rossi").await;
    let op = app.token("op.roma").await;
    let id = sent_id(&app, &rossi, "Transizioni").await;
    let to = |s: &str| json!({"to": s});

    let p = expect_problem(app.transition(&op, &id, &to("aperta"), None).await, 409).await;
    assert!(p.detail().contains("aperta"), "{}", p.detail());
    assert_eq!(app.transition(&op, &id, &to("in_carico"), None).await.status(), 200);
    let p = expect_problem(app.transition(&op, &id, &to("in_carico"), None).await, 409).await;
    assert!(p.detail().contains("«in_carico»"), "{}", p.detail());
    let released: Value = app.transition(&op, &id, &to("aperta"), None).await.json().await.unwrap();
    assert_eq!(released["status"], "aperta");
    assert_eq!(released["assigned_to"], Value::Null);
    let closed: Value = app.transition(&op, &id, &close("Evasa subito"), None).await.json().await.unwrap();
    assert_eq!(closed["status"], "chiusa");
    for s in ["aperta", "in_carico"] {
        let p = expect_problem(app.transition(&op, &id, &to(s), None).await, 409).await;
        assert!(p.detail().contains("chiusa") && p.detail().contains(s), "{}", p.detail());
    }
    expect_problem(app.transition(&op, &id, &close("Di nuovo"), None).await, 409).await;
    let bad = app.transition(&op, &id, &json!({"to": "sospesa"}), None).await;
    assert_eq!(expect_problem(bad, 422).await.fields(), vec!["to"]);
}

async fn closing_needs_an_esito_with_a_text(backend: Backend) {
    let app = with_back_office(backend).await;
    let rossi = app.token("rossi").await;
    let op = app.token("op.roma").await;
    let id = sent_id(&app, &rossi, "Esito").await;

    let none = app.transition(&op, &id, &json!({"to": "chiusa"}), None).await;
    let empty =
        app.transition(&op, &id, &json!({"to": "chiusa", "esito": {"code": "respinta", "text": "  "}}), None).await;
    let bad_code =
        app.transition(&op, &id, &json!({"to": "chiusa", "esito": {"code": "boh", "text": "x"}}), None).await;
    let not_closing =
        app.transition(&op, &id, &json!({"to": "in_carico", "esito": {"code": "evasa", "text": "x"}}), None).await;

    assert_eq!(expect_problem(none, 422).await.fields(), vec!["esito"]);
    assert_eq!(expect_problem(empty, 422).await.fields(), vec!["esito.text"]);
    assert_eq!(expect_problem(bad_code, 422).await.fields(), vec!["esito.code"]);
    assert_eq!(expect_problem(not_closing, 422).await.fields(), vec!["esito"]);
    let q: Value = app.get(&format!("/api/v1/quesiti/{id}"), &op).await.json().await.unwrap();
    assert_eq!((q["status"].as_str(), q["version"].as_i64()), (Some("aperta"), Some(1)), "refusals change nothing");
}

async fn a_stale_version_is_412(backend: Backend) {
    let app = with_back_office(backend).await;
    let rossi = app.token("rossi").await;
    let op = app.token("op.roma").await;
    let op2 = app.token("op2.roma").await;
    let id = sent_id(&app, &rossi, "Concorrenza").await;
    let tag1 = etag(&app.get(&format!("/api/v1/quesiti/{id}"), &op).await);
    let tag2 = etag(&app.get(&format!("/api/v1/quesiti/{id}"), &op2).await);

    let first = app.transition(&op, &id, &json!({"to": "in_carico"}), Some(&tag1)).await;
    let second = app.transition(&op2, &id, &json!({"to": "in_carico"}), Some(&tag2)).await;

    assert_eq!(first.status(), 200);
    assert_eq!(etag(&first), "\"2\"");
    let p = expect_problem(second, 412).await;
    assert!(p.detail().contains("ricaricarlo"));
    let q: Value = app.get(&format!("/api/v1/quesiti/{id}"), &op2).await.json().await.unwrap();
    assert_eq!(q["assigned_to"], "op.roma");
}

async fn only_the_assignee_works_a_quesito_in_charge(backend: Backend) {
    let app = with_back_office(backend).await;
    let rossi = app.token("rossi").await;
    let op = app.token("op.roma").await;
    let op2 = app.token("op2.roma").await;
    let admin = app.token("admin").await;
    let id = sent_id(&app, &rossi, "Assegnazione").await;
    app.transition(&op, &id, &json!({"to": "in_carico"}), None).await;

    let p = expect_problem(app.transition(&op2, &id, &close("Chiudo io"), None).await, 403).await;
    assert!(p.detail().contains("Utente op.roma"), "{}", p.detail());
    assert_eq!(app.transition(&admin, &id, &close("Chiude l'amministratore"), None).await.status(), 200);
}

async fn internal_comments_never_reach_the_sender(backend: Backend) {
    let app = with_back_office(backend).await;
    let rossi = app.token("rossi").await;
    let op = app.token("op.roma").await;
    let id = sent_id(&app, &rossi, "Riservatezza").await;
    let secret = "SEGRETO-INTERNO-42";

    let res =
        app.post_json(&format!("/api/v1/quesiti/{id}/comments"), &op, &json!({"body": secret, "internal": true})).await;
    assert_eq!(res.status(), 201);
    let back_office: Value = app.get(&format!("/api/v1/quesiti/{id}"), &op).await.json().await.unwrap();
    assert_eq!(back_office["comments"][0]["internal"], true);

    for path in [
        format!("/api/v1/requests/{id}"),
        format!("/api/v1/requests/{id}/comments"),
        format!("/api/v1/requests/{id}/history"),
        "/api/v1/requests".to_owned(),
    ] {
        let text = app.get(&path, &rossi).await.text().await.unwrap();
        assert!(!text.contains(secret), "{path} leaks the internal comment");
    }
}

async fn visibility_by_role_and_sede(backend: Backend) {
    let app = with_back_office(backend).await;
    let rossi = app.token("rossi").await;
    let other_sede = app.token("op.catanzaro").await;
    let supervisore = app.token("supervisore").await;
    let id = sent_id(&app, &rossi, "Visibilità").await;

    for res in [
        app.get(&format!("/api/v1/quesiti/{id}"), &other_sede).await,
        app.transition(&other_sede, &id, &json!({"to": "in_carico"}), None).await,
        app.post_json(&format!("/api/v1/quesiti/{id}/comments"), &other_sede, &json!({"body": "x"})).await,
        app.post_json(&format!("/api/v1/quesiti/{id}/reroute"), &other_sede, &json!({"sede": "2300", "comment": "x"}))
            .await,
    ] {
        expect_problem(res, 404).await;
    }
    let list: Value = app.get("/api/v1/quesiti", &other_sede).await.json().await.unwrap();
    assert_eq!(list["total"], 0);
    let all: Value = app.get("/api/v1/quesiti", &supervisore).await.json().await.unwrap();
    assert_eq!(all["total"], 1);
    assert_eq!(app.get(&format!("/api/v1/quesiti/{id}"), &supervisore).await.status(), 200);
    expect_problem(app.transition(&supervisore, &id, &json!({"to": "in_carico"}), None).await, 403).await;
    expect_problem(app.get("/api/v1/quesiti", &rossi).await, 403).await;
    expect_problem(app.get(&format!("/api/v1/quesiti/{id}"), &rossi).await, 403).await;
    expect_problem(app.get("/api/v1/stats", &rossi).await, 403).await;
}

async fn rerouting_moves_the_quesito_to_another_sede(backend: Backend) {
    let app = with_back_office(backend).await;
    let rossi = app.token("rossi").await;
    let op = app.token("op.roma").await;
    let op_cz = app.token("op.catanzaro").await;
    let id = sent_id(&app, &rossi, "Smistamento").await;
    app.transition(&op, &id, &json!({"to": "in_carico"}), None).await;

    let not_pilot =
        app.post_json(&format!("/api/v1/quesiti/{id}/reroute"), &op, &json!({"sede": "5100", "comment": "x"})).await;
    let same =
        app.post_json(&format!("/api/v1/quesiti/{id}/reroute"), &op, &json!({"sede": "7002", "comment": "x"})).await;
    let moved = app
        .post_json(
            &format!("/api/v1/quesiti/{id}/reroute"),
            &op,
            &json!({"sede": "2300", "comment": "Competenza di Catanzaro."}),
        )
        .await;

    assert_eq!(expect_problem(not_pilot, 422).await.fields(), vec!["sede"]);
    assert_eq!(expect_problem(same, 422).await.fields(), vec!["sede"]);
    assert_eq!(moved.status(), 200);
    let moved: Value = moved.json().await.unwrap();
    assert_eq!(moved["status"], "aperta");
    assert_eq!(moved["assigned_to"], Value::Null);
    assert_eq!(moved["sede"]["code"], "2300");
    expect_problem(app.get(&format!("/api/v1/quesiti/{id}"), &op).await, 404).await;
    assert_eq!(app.get(&format!("/api/v1/quesiti/{id}"), &op_cz).await.status(), 200);
    let seen: Value = app.get(&format!("/api/v1/requests/{id}"), &rossi).await.json().await.unwrap();
    assert_eq!(seen["sede"], json!({"code": "2300", "name": "Catanzaro"}));
    let last = seen["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!((last["from_sede"].as_str(), last["to_sede"].as_str()), (Some("7002"), Some("2300")));
    assert_eq!(last["comment"], "Competenza di Catanzaro.");
    assert!(seen["protocollo"].as_str().unwrap().starts_with("INPS.7002."), "the protocol stamp stays");

    app.transition(&op_cz, &id, &close("Definita a Catanzaro"), None).await;
    let closed =
        app.post_json(&format!("/api/v1/quesiti/{id}/reroute"), &op_cz, &json!({"sede": "7002", "comment": "x"})).await;
    expect_problem(closed, 409).await;
}

async fn the_queue_filters_by_assignment_and_sede(backend: Backend) {
    let app = with_back_office(backend).await;
    let rossi = app.token("rossi").await;
    let op = app.token("op.roma").await;
    let supervisore = app.token("supervisore").await;
    let mine = sent_id(&app, &rossi, "Mia").await;
    let _free = sent_id(&app, &rossi, "Libera").await;
    app.transition(&op, &mine, &json!({"to": "in_carico"}), None).await;

    let me: Value = app.get("/api/v1/quesiti?assigned=me", &op).await.json().await.unwrap();
    let none: Value = app.get("/api/v1/quesiti?assigned=none", &op).await.json().await.unwrap();
    let by_name: Value = app.get("/api/v1/quesiti?assigned=op.roma", &supervisore).await.json().await.unwrap();
    let by_sede: Value = app.get("/api/v1/quesiti?sede=2300", &supervisore).await.json().await.unwrap();

    assert_eq!(me["total"], 1);
    assert_eq!(me["items"][0]["id"], mine.as_str());
    assert_eq!(none["total"], 1);
    assert_eq!(by_name["total"], 1);
    assert_eq!(by_sede["total"], 0);
}

/// A period of opening, across every sede: the latest updated first, the same page by page as
/// all at once, with an exact total (on PostgreSQL few matches are read and sorted).
async fn a_period_of_opening_lists_the_latest_updated_first(backend: Backend) {
    let app = with_back_office(backend).await;
    let rossi = app.token("rossi").await;
    let op = app.token("op.roma").await;
    let supervisore = app.token("supervisore").await;
    let mut sent = Vec::new();
    for i in 0..5 {
        sent.push(sent_id(&app, &rossi, &format!("Periodo {i}")).await);
    }
    app.transition(&op, &sent[1], &json!({"to": "in_carico"}), None).await;
    let today = cassetto_domain::italian_date(Utc::now());
    let query = format!("/api/v1/quesiti?opened_from={today}&opened_to={today}");

    let all: Value = app.get(&query, &supervisore).await.json().await.unwrap();
    let mut paged = Vec::new();
    let mut url = format!("{query}&limit=2");
    loop {
        let page: Value = app.get(&url, &supervisore).await.json().await.unwrap();
        paged.extend(page["items"].as_array().unwrap().iter().map(|q| q["id"].as_str().unwrap().to_owned()));
        match page["next_cursor"].as_str() {
            Some(c) => url = format!("{query}&limit=2&cursor={c}"),
            None => break,
        }
    }

    let expected = vec![&sent[1], &sent[4], &sent[3], &sent[2], &sent[0]];
    assert_eq!((all["total"].as_u64(), all["total_exact"].as_bool()), (Some(5), Some(true)));
    let listed: Vec<&str> = all["items"].as_array().unwrap().iter().map(|q| q["id"].as_str().unwrap()).collect();
    assert_eq!(listed, expected.iter().map(|s| s.as_str()).collect::<Vec<_>>());
    assert_eq!(paged.iter().collect::<Vec<_>>(), expected);
}

async fn stats_match_a_known_data_set(backend: Backend) {
    let app = with_back_office(backend).await;
    let rossi = app.token("rossi").await;
    let supervisore = app.token("supervisore").await;
    let op_cz = app.token("op.catanzaro").await;
    let t0 = Utc::now() - Duration::days(3);
    let mut ids = Vec::new();
    for i in 0..4 {
        ids.push(sent_id(&app, &rossi, &format!("Stat {i}")).await);
    }
    app.sent(&rossi, &json!({"matricola": "7002000011", "ambito": "F24", "subject": "F24", "body": "x", "details": {"payment_date": "2026-01-10", "amount": 5}}))
        .await;
    // take charge after 60, 120, 600 s; close after 3600 and 7200 s; two still open.
    app.force_times(&ids[0], t0, Some(t0 + Duration::seconds(60)), Some(t0 + Duration::seconds(3600))).await;
    app.force_times(&ids[1], t0, Some(t0 + Duration::seconds(120)), Some(t0 + Duration::seconds(7200))).await;
    app.force_times(&ids[2], t0, Some(t0 + Duration::seconds(600)), None).await;
    app.force_status(&ids[0], "chiusa").await;
    app.force_status(&ids[1], "chiusa").await;
    app.force_status(&ids[2], "in_carico").await;

    let s: Value = app.get("/api/v1/stats", &supervisore).await.json().await.unwrap();

    assert_eq!(s["total"], 5);
    assert_eq!(s["by_status"], json!({"aperta": 2, "in_carico": 1, "chiusa": 2}));
    assert_eq!(s["by_ambito"], json!({"GENERICA": 4, "F24": 1}));
    assert_eq!(s["by_sede"], json!({"7002": 5}));
    assert!((s["median_time_to_take_charge_s"].as_f64().unwrap() - 120.0).abs() < 0.01, "{s}");
    assert!((s["median_time_to_close_s"].as_f64().unwrap() - 5400.0).abs() < 0.01, "{s}");
    assert_eq!(
        s["backlog_by_age"],
        json!({"under_1_day": 2, "from_1_to_7_days": 1, "from_7_to_30_days": 0, "over_30_days": 0})
    );
    let today = cassetto_domain::italian_date(Utc::now());
    let recent: Value = app.get(&format!("/api/v1/stats?from={today}"), &supervisore).await.json().await.unwrap();
    assert_eq!(recent["total"], 2, "only the two opened today");
    let own: Value = app.get("/api/v1/stats?sede=7002", &op_cz).await.json().await.unwrap();
    assert_eq!(own["total"], 0, "an operatore sees its own sede whatever it asks");
    assert_eq!(own["median_time_to_close_s"], Value::Null);
}

async fn the_audit_trail_records_who_did_what(backend: Backend) {
    let app = with_back_office(backend).await;
    let rossi = app.token("rossi").await;
    let op = app.token("op.roma").await;
    let admin = app.token("admin").await;
    let id = sent_id(&app, &rossi, "Audit").await;
    app.transition(&op, &id, &json!({"to": "in_carico"}), None).await;
    app.post_json(&format!("/api/v1/quesiti/{id}/comments"), &op, &json!({"body": "ok", "internal": true})).await;
    app.transition(&op, &id, &close("Fatto"), None).await;

    let trail: Value = app.get(&format!("/api/v1/quesiti/{id}/audit"), &admin).await.json().await.unwrap();

    let actions: Vec<(&str, &str)> = trail
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["action"].as_str().unwrap(), e["actor_username"].as_str().unwrap()))
        .collect();
    assert_eq!(
        actions,
        vec![
            ("request.create", "rossi"),
            ("quesito.transition", "op.roma"),
            ("comment.internal", "op.roma"),
            ("quesito.transition", "op.roma")
        ]
    );
    expect_problem(app.get(&format!("/api/v1/quesiti/{id}/audit"), &op).await, 403).await;
}

/// A word found in more subjects than are counted: alone, the total is capped; with filters
/// that leave few of them, it is exact, and every page holds only matching requests.
async fn a_common_word_is_counted_exactly_under_selective_filters(backend: Backend) {
    let app = with_back_office(backend).await;
    let rossi = app.token("rossi").await;
    let template = app.sent(&rossi, &generic("7002000011", "Modello")).await;
    app.bulk_copies(template["id"].as_str().unwrap(), "bulk", 1_500).await;
    let sup = app.token("supervisore").await;

    let alone: Value = app.get("/api/v1/quesiti?subject=ferie", &sup).await.json().await.unwrap();
    let open: Value = app
        .get("/api/v1/quesiti?subject=ferie&status=aperta&assigned=none&limit=100", &sup)
        .await
        .json()
        .await
        .unwrap();

    assert_eq!((alone["total"].as_u64(), alone["total_exact"].as_bool()), (Some(1_000), Some(false)), "{alone}");
    assert_eq!((open["total"].as_u64(), open["total_exact"].as_bool()), (Some(15), Some(true)));
    let items = open["items"].as_array().unwrap();
    assert_eq!(items.len(), 15);
    assert!(items
        .iter()
        .all(|q| q["status"] == "aperta" && q["subject"].as_str().unwrap().starts_with("Ferie estive")));

    // The same queue five at a time, by cursor: the same requests in the same order.
    let mut paged = Vec::new();
    let mut url = "/api/v1/quesiti?subject=ferie&status=aperta&assigned=none&limit=5".to_owned();
    loop {
        let page: Value = app.get(&url, &sup).await.json().await.unwrap();
        paged.extend(page["items"].as_array().unwrap().iter().map(|q| q["id"].clone()));
        match page["next_cursor"].as_str() {
            Some(c) => url = format!("/api/v1/quesiti?subject=ferie&status=aperta&assigned=none&limit=5&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(paged, items.iter().map(|q| q["id"].clone()).collect::<Vec<_>>());

    // Taken in charge, a request leaves the unassigned queue's count; both statuses at once
    // count the queue of each.
    let op = app.token("op.roma").await;
    let taken = app.transition(&op, items[0]["id"].as_str().unwrap(), &json!({"to": "in_carico"}), None).await;
    assert_eq!(taken.status(), 200);
    let total = |query: &'static str| total_of(&app, &sup, format!("subject=ferie&{query}"));
    assert_eq!(total("status=aperta&assigned=none").await, (14, true));
    assert_eq!(total("status=in_carico&assigned=none").await, (0, true));
    assert_eq!(total("status=in_carico&assigned=me").await, (0, true));
    assert_eq!(total("status=in_carico").await, (1, true));
    assert_eq!(total("status=aperta&status=in_carico&assigned=none").await, (14, true));
    assert_eq!(total("assigned=none").await, (1_000, false));
}

/// A request is found by its subject in every sede from the moment it is acknowledged, and
/// once. On SQLite a new subject waits in a queue until the running instance moves it into the
/// trigram table (migration 11); every search reads both. The test holds the process's write
/// turn, which the instance's mover needs, to keep requests in the queue, then moves it.
async fn a_subject_is_found_in_every_sede_before_and_after_it_is_indexed(backend: Backend) {
    let app = with_back_office(backend).await;
    let rossi = app.token("rossi").await;
    let sup = app.token("supervisore").await;
    let template = app.sent(&rossi, &generic("7002000011", "Modello")).await;
    let sent = app.sent(&rossi, &generic("7002000011", "Pratica Zanzibar 42")).await;
    let id = sent["id"].as_str().unwrap();
    let total = |query: &'static str| total_of(&app, &sup, query.to_owned());
    let first_id = |query: &'static str| {
        let app = &app;
        let sup = &sup;
        async move {
            let page: Value = app.get(&format!("/api/v1/quesiti?{query}"), sup).await.json().await.unwrap();
            page["items"].as_array().unwrap().iter().map(|q| q["id"].as_str().unwrap().to_owned()).collect::<Vec<_>>()
        }
    };

    let mut turn = Some(cassetto_storage::write_turn(&app.db).await);
    // 1,500 copies, «ferie estive 1» … «ferie estive 1500», one in a hundred open.
    app.bulk_copies(template["id"].as_str().unwrap(), "queued", 1_500).await;
    if let Some(queued) = app.fts_pending(None).await {
        assert!(queued >= 1_500, "the copies wait in the queue: {queued}");
    }
    let mut open_queue: Option<Vec<String>> = None;
    for moved in [false, true] {
        assert_eq!(first_id("subject=zanzibar").await, vec![id.to_owned()], "moved: {moved}");
        assert_eq!(total("subject=zanzibar").await, (1, true));
        assert_eq!(total("subject=ZANZIBAR%2042").await, (1, true));
        assert_eq!(total("subject=estive%207").await, (111, true));
        assert_eq!(total("subject=ferie").await, (1_000, false));
        assert_eq!(total("subject=ferie&status=aperta&assigned=none").await, (15, true));
        // Every copy is unassigned: the queue holds more than the cap of them.
        assert_eq!(total("subject=ferie&assigned=none").await, (1_000, false));
        assert_eq!(total("subject=ferie&status=chiusa&status=aperta&assigned=none").await, (1_000, false));
        // Its page, the same before and after (PostgreSQL: once the word counts know «ferie»
        // for common, the queue is read with `strpos()` instead of `LIKE`).
        let queue = first_id("subject=ferie&status=aperta&assigned=none&limit=100").await;
        assert_eq!(queue.len(), 15, "moved: {moved}");
        assert_eq!(*open_queue.get_or_insert_with(|| queue.clone()), queue, "moved: {moved}");
        assert_eq!(total("subject=ferie&sede=7002&status=chiusa").await, (1_000, false));
        assert_eq!(total("subject=ferie&status=chiusa&opened_from=2000-01-01").await, (1_000, false));
        if !moved {
            drop(turn.take());
            cassetto_storage::subject_words::absorb_all(&app.db).await.unwrap();
            // Nothing left in the queue, and each subject in the trigram table once.
            if let Some(queued) = app.fts_pending(None).await {
                assert_eq!(queued, 0);
                assert_eq!(app.fts_rows(Some(id)).await, Some(1));
                assert_eq!(app.fts_rows(None).await, Some(1_502));
            }
        }
    }
}

/// `GET /api/v1/quesiti?{query}`: its `total` and `total_exact`.
async fn total_of(app: &TestApp, token: &str, query: String) -> (u64, bool) {
    let page: Value = app.get(&format!("/api/v1/quesiti?{query}"), token).await.json().await.unwrap();
    (page["total"].as_u64().unwrap(), page["total_exact"].as_bool().unwrap())
}

/// A common word searched alone in every sede is «more than the cap»; a part of a word and
/// a phrase are counted exactly. That first answer comes from the word counts (migrations 10
/// and 12), kept by the running instance: each request once per word, however many movers
/// move the queue at once (PostgreSQL: instances; SQLite: tasks taking the write turn in
/// turn), and the same counts when the migrations are run again.
async fn a_word_of_many_subjects_is_more_than_the_cap_in_every_sede(backend: Backend) {
    let app = with_back_office(backend).await;
    let rossi = app.token("rossi").await;
    let template = app.sent(&rossi, &generic("7002000011", "Modello")).await;
    app.bulk_copies(template["id"].as_str().unwrap(), "bulk", 1_500).await;
    app.sent(&rossi, &generic("7002000011", "Ferie? Ferie, FERIE!")).await;
    let sup = app.token("supervisore").await;
    let total = |subject: &'static str| total_of(&app, &sup, format!("subject={subject}"));

    {
        // Two more movers beside the instance's own task, each moving small batches.
        let movers: Vec<_> = (0..2)
            .map(|_| {
                let db = app.db.clone();
                tokio::spawn(async move {
                    for _ in 0..50 {
                        cassetto_storage::subject_words::absorb(&db, 40).await.unwrap();
                    }
                })
            })
            .collect();
        for m in movers {
            m.await.unwrap();
        }
        assert_eq!(app.words_settled("ferie").await, 1_501, "a word thrice in a subject counts once");
        assert_eq!(app.words_settled("estive").await, 1_500);
        assert_eq!(app.words_settled("777").await, 1);
        assert_eq!(app.words_settled("modello").await, 1);
        assert_eq!(app.words_settled("erie").await, 0, "a part of a word is not a word");
    }

    assert_eq!(total("ferie").await, (1_000, false));
    assert_eq!(total("FERIE").await, (1_000, false));
    assert_eq!(total("erie").await, (1_000, false));
    // «estive 7», «estive 70» … «estive 79», «estive 700» … «estive 799».
    assert_eq!(total("estive%207").await, (111, true));
    assert_eq!(total("modello").await, (1, true));
    assert_eq!(total("vacanze").await, (0, true));
    // Its pages, by cursor: matching requests only, none twice.
    let mut seen = std::collections::HashSet::new();
    let mut url = "/api/v1/quesiti?subject=ferie&limit=100".to_owned();
    for _ in 0..3 {
        let page: Value = app.get(&url, &sup).await.json().await.unwrap();
        let items = page["items"].as_array().unwrap();
        assert_eq!(items.len(), 100);
        assert!(items.iter().all(|q| q["subject"].as_str().unwrap().to_lowercase().contains("ferie")));
        seen.extend(items.iter().map(|q| q["id"].as_str().unwrap().to_owned()));
        url = format!("/api/v1/quesiti?subject=ferie&limit=100&cursor={}", page["next_cursor"].as_str().unwrap());
    }
    assert_eq!(seen.len(), 300);

    {
        // Run again on the same requests, the migrations count them as the instance did.
        use cassetto_migration::MigratorTrait;
        // Migrations 12 (SQLite's counts), 11 (SQLite's queue) and 10 (PostgreSQL's counts).
        cassetto_migration::Migrator::down(&app.db, Some(3)).await.unwrap();
        cassetto_migration::Migrator::up(&app.db, None).await.unwrap();
        assert_eq!(app.words_settled("ferie").await, 1_501);
        assert_eq!(app.words_settled("estive").await, 1_500);
        assert_eq!(total("ferie").await, (1_000, false));
    }
}

both!(
    a_word_of_many_subjects_is_more_than_the_cap_in_every_sede,
    a_subject_is_found_in_every_sede_before_and_after_it_is_indexed,
    a_common_word_is_counted_exactly_under_selective_filters,
    the_full_life_of_a_quesito_from_both_sides,
    every_allowed_and_refused_transition,
    closing_needs_an_esito_with_a_text,
    a_stale_version_is_412,
    only_the_assignee_works_a_quesito_in_charge,
    internal_comments_never_reach_the_sender,
    visibility_by_role_and_sede,
    rerouting_moves_the_quesito_to_another_sede,
    the_queue_filters_by_assignment_and_sede,
    a_period_of_opening_lists_the_latest_updated_first,
    stats_match_a_known_data_set,
    the_audit_trail_records_who_did_what,
);
