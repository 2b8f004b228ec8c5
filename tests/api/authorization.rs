//! The authorization matrix: every endpoint of the route table × every role, on own and
//! foreign resources. The policy below must name every endpoint the server serves, so a new
//! endpoint cannot be forgotten; a denied call (401/403/404) never shows another company's data.

use cassetto_api::route_table::RouteTable;
use cassetto_domain::Role;
use serde_json::json;

use crate::both;
use crate::helpers::{pdf, with_back_office, Backend};

/// Who gets through (any answer but 401/403/404) each endpoint; everyone else is denied.
fn allowed(method: &str, path: &str, user: &str) -> Option<bool> {
    let is = |names: &[&str]| names.contains(&user);
    let senders_of_the_request = ["rossi", "studio"];
    let everyone = ["rossi", "bianchi", "studio", "op.roma", "op.catanzaro", "supervisore", "admin"];
    Some(match (method, path.trim_start_matches("/api/v1")) {
        ("GET", "/me")
        | ("GET", "/me/preferences")
        | ("PUT", "/me/preferences")
        | ("GET", "/ambiti")
        | ("GET", "/aziende") => is(&everyone),
        ("GET", "/admin/sedi") => is(&["admin", "supervisore", "op.roma", "op.catanzaro"]),
        ("GET", "/admin/aziende") => is(&["admin", "supervisore"]),
        ("POST", "/admin/sedi")
        | ("PATCH", "/admin/sedi/{code}")
        | ("POST", "/admin/aziende")
        | ("POST", "/admin/aziende/import")
        | ("PATCH", "/admin/aziende/{matricola}")
        | ("POST", "/admin/users")
        | ("POST", "/admin/deleghe")
        | ("DELETE", "/admin/deleghe/{username}/{matricola}")
        | ("POST", "/admin/api-clients") => is(&["admin"]),
        ("POST", "/requests") | ("GET", "/requests") => is(&["rossi", "bianchi", "studio"]),
        ("GET", "/requests/{id}")
        | ("GET", "/requests/{id}/history")
        | ("GET", "/requests/{id}/comments")
        | ("POST", "/requests/{id}/comments")
        | ("GET", "/requests/{id}/attachments.zip")
        | ("GET", "/requests/{id}/notifications") => is(&senders_of_the_request),
        ("GET", "/quesiti") | ("GET", "/stats") => is(&["admin", "supervisore", "op.roma", "op.catanzaro"]),
        ("GET", "/quesiti/{id}")
        | ("GET", "/quesiti/{id}/attachments.zip")
        | ("GET", "/quesiti/{id}/notifications") => is(&["admin", "supervisore", "op.roma"]),
        ("POST", "/quesiti/{id}/transitions")
        | ("POST", "/quesiti/{id}/comments")
        | ("POST", "/quesiti/{id}/reroute") => is(&["admin", "op.roma"]),
        ("GET", "/quesiti/{id}/audit") => is(&["admin"]),
        // Webhooks belong to API clients: a password token never reaches them.
        ("POST", "/webhooks")
        | ("GET", "/webhooks")
        | ("DELETE", "/webhooks/{id}")
        | ("GET", "/webhooks/{id}/deliveries")
        | ("POST", "/webhooks/{id}/deliveries/{delivery_id}/replay") => false,
        _ => return None,
    })
}

const PUBLIC: &[(&str, &str)] = &[
    ("POST", "/api/v1/auth/login"),
    ("POST", "/api/v1/auth/token"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
];

async fn every_endpoint_checks_every_role(backend: Backend) {
    let app = with_back_office(backend).await;
    app.create_user("usa.e.getta", Role::Intermediario, None, &["7002000022"]).await;
    let rossi = app.token("rossi").await;
    let request = app
        .send_request(&rossi, &crate::helpers::generic("7002000011", "Riservata di Rossi"), vec![("a.pdf", pdf("a"))])
        .await
        .json::<serde_json::Value>()
        .await
        .unwrap();
    let id = request["id"].as_str().unwrap().to_owned();
    let protocollo = request["protocollo"].as_str().unwrap().to_owned();
    // Admin last: its successful calls (a delega removed) must not change what others see.
    let users = ["rossi", "bianchi", "studio", "op.roma", "op.catanzaro", "supervisore", "admin"];
    let mut tokens = Vec::new();
    for u in users {
        tokens.push((u, app.token(u).await));
    }

    let routes = RouteTable::all(&cassetto_api::startup::openapi());
    let mut checked = 0;
    for (method, pattern) in &routes {
        if PUBLIC.contains(&(*method, pattern.as_str())) {
            continue;
        }
        assert!(
            allowed(method, pattern, "admin").is_some(),
            "no authorization policy for {method} {pattern}: add it to the matrix"
        );
        let path = pattern
            .replace("{id}", if pattern.contains("webhooks") { "1" } else { &id })
            .replace("{delivery_id}", "1")
            .replace("{code}", "7002")
            .replace("{username}", "usa.e.getta")
            .replace("{matricola}", if pattern.contains("deleghe") { "7002000022" } else { "7002000011" });
        // Without a token: 401, always.
        let anonymous =
            app.client.request(method.parse().unwrap(), app.url(&path)).json(&json!({})).send().await.unwrap();
        assert_eq!(anonymous.status(), 401, "{method} {path} without a token");
        for (user, token) in &tokens {
            let res = app
                .client
                .request(method.parse().unwrap(), app.url(&path))
                .bearer_auth(token)
                .json(&json!({}))
                .send()
                .await
                .unwrap();
            let status = res.status().as_u16();
            let body = res.text().await.unwrap_or_default();
            assert!(status < 500, "{method} {path} as {user}: {status} {body}");
            let denied = matches!(status, 401 | 403 | 404);
            let expected_through = allowed(method, pattern, user).unwrap_or(false);
            assert_eq!(!denied, expected_through, "{method} {path} as {user}: {status} {body}");
            if denied {
                assert!(
                    !body.contains(&protocollo) && !body.contains("Riservata"),
                    "{method} {path} as {user} leaks: {body}"
                );
            }
            if *user == "bianchi" && !pattern.starts_with("/api/v1/admin") {
                assert!(!body.contains(&protocollo), "{method} {path}: bianchi sees rossi's request: {body}");
            }
            checked += 1;
        }
    }
    assert!(checked >= 7 * 30, "only {checked} calls checked");
}

both!(every_endpoint_checks_every_role);
