//! The real binary grown past one process: two `cassetto serve` and two `cassetto worker` on one
//! PostgreSQL with a shared attachment directory; and an attachment disk that fills up.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, Statement};
use serde_json::{json, Value};

use crate::both;
use crate::helpers::Backend;
use crate::processes::{db_for, get_json, pdf, run_ok, send_with_files, sha, token, Proc};

/// `INPS.<sede>.<dd/mm/yyyy>.<progressive>` → (register `<sede>/<year>`, progressive).
fn register_and_number(protocollo: &str) -> (String, u64) {
    let parts: Vec<&str> = protocollo.split('.').collect();
    let year = parts[2].rsplit('/').next().unwrap();
    (format!("{}/{year}", parts[1]), parts[3].parse().unwrap())
}

#[tokio::test]
async fn two_servers_and_two_workers_share_one_postgres() {
    // Arrange: one database, one shared attachment directory, two servers without their own
    // worker, two workers, one SMTP server and one SMS gateway.
    let Some(Backend::Postgres(db_url)) = Backend::postgres().await else { return };
    let dir = tempfile::tempdir().unwrap();
    let shared = dir.path().join("shared-attachments");
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    for d in [&a, &b] {
        std::fs::create_dir_all(d).unwrap();
    }
    run_ok(&db_url, &a, &["seed-demo"]);
    let smtp = cassetto_testkit::SmtpServer::start().await;
    let sms = cassetto_testkit::SmsGateway::start(vec![]).await;
    let env = [
        ("CASSETTO_ATTACHMENTS_DIR", shared.display().to_string()),
        ("CASSETTO_SMTP_URL", smtp.url()),
        ("CASSETTO_SMS_URL", sms.url()),
    ];
    let servers = [
        Proc::serve_as(&[], &["serve", "--no-worker"], &db_url, &a, "serve.log", &env).await,
        Proc::serve_as(&[], &["serve", "--no-worker"], &db_url, &b, "serve.log", &env).await,
    ];
    let _workers = [Proc::worker(&db_url, &a, "worker.log", &env), Proc::worker(&db_url, &b, "worker.log", &env)];
    let client = reqwest::Client::new();
    let users = ["azienda.rossi", "studio.verdi"];
    let mut tokens = Vec::new();
    for u in users {
        tokens.push(token(&client, &servers[0].base, u).await);
    }
    let matricole = ["7002000011", "7002000022"];

    // Act: sixteen clients, each alternating between the two servers, half with a file.
    let bases: Vec<String> = servers.iter().map(|s| s.base.clone()).collect();
    let clients: Vec<_> = (0..16usize)
        .map(|c| {
            let (client, bases, token) = (client.clone(), bases.clone(), tokens[c % 2].clone());
            let matricola = matricole[c % 2];
            tokio::spawn(async move {
                let mut sent = Vec::new();
                for i in 0..15usize {
                    let request = json!({"matricola": matricola, "ambito": "GENERICA",
                        "subject": format!("Scala {c}-{i}"), "body": "Due istanze, due worker."});
                    let files = if i % 2 == 0 { vec![pdf((c * 100 + i) as u64, 20_000)] } else { vec![] };
                    let res = send_with_files(&client, &bases[(c + i) % 2], &token, &request, &files).await.unwrap();
                    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
                    sent.push((res.json::<Value>().await.unwrap(), files));
                }
                sent
            })
        })
        .collect();
    let mut sent = Vec::new();
    for c in clients {
        sent.extend(c.await.unwrap());
    }

    // Assert: protocol numbers unique and gapless in every register.
    assert_eq!(sent.len(), 240);
    let mut registers: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for (r, _) in &sent {
        let (register, n) = register_and_number(r["protocollo"].as_str().unwrap());
        registers.entry(register).or_default().push(n);
    }
    for (register, mut ns) in registers {
        ns.sort_unstable();
        let first = ns[0];
        let expected: Vec<u64> = (first..first + ns.len() as u64).collect();
        assert_eq!(ns, expected, "register {register} has gaps or duplicates");
    }
    // Each bundle is served by the server that did not receive it (the directory is shared).
    for (k, (r, files)) in sent.iter().enumerate().filter(|(_, (_, f))| !f.is_empty()).take(20) {
        let base = &bases[(k + 1) % 2];
        let id = r["id"].as_str().unwrap();
        let owner = if r["matricola"] == matricole[0] { &tokens[0] } else { &tokens[1] };
        let zip = client.get(format!("{base}/api/v1/requests/{id}/attachments.zip")).bearer_auth(owner).send().await;
        let bytes = zip.unwrap().bytes().await.unwrap();
        assert_eq!(sha(&bytes), r["bundle"]["sha256"].as_str().unwrap());
        assert_eq!(r["attachments"][0]["sha256"], sha(&files[0]));
    }
    // Every notification goes out exactly once, whichever worker took it.
    let db = cassetto_storage::connect(&db_url).await.unwrap();
    let count = |sql: &'static str| {
        let db = db.clone();
        async move {
            let row = db.query_one_raw(Statement::from_string(db.get_database_backend(), sql)).await.unwrap().unwrap();
            row.try_get_by_index::<i64>(0).unwrap() as usize
        }
    };
    let deadline = Instant::now() + Duration::from_secs(90);
    while count("SELECT COUNT(*) FROM notifications WHERE status <> 'sent'").await > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(count("SELECT COUNT(*) FROM notifications WHERE status <> 'sent'").await, 0, "undelivered");
    let emails = count("SELECT COUNT(*) FROM notifications WHERE channel = 'email'").await;
    let texts = count("SELECT COUNT(*) FROM notifications WHERE channel = 'sms'").await;
    assert!(emails >= 240, "an e-mail per request at least, got {emails}");
    assert!(texts >= 240, "both senders have a mobile number, got {texts} SMS");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mails = smtp.mails();
    assert_eq!(mails.len(), emails, "e-mails received vs enqueued");
    let ids: HashSet<String> = mails.iter().filter_map(|m| m.header("Message-ID")).collect();
    assert_eq!(ids.len(), mails.len(), "an e-mail was delivered twice");
    assert_eq!(sms.delivered().len(), texts, "SMS received vs enqueued");
    let by_worker = count("SELECT COUNT(DISTINCT locked_by) FROM notifications").await;
    println!(
        "scale-out: {} requests through 2 servers, {} registers gapless, {emails} e-mails and {texts} SMS \
         each delivered once by {by_worker} worker(s)",
        sent.len(),
        sent.iter()
            .map(|(r, _)| register_and_number(r["protocollo"].as_str().unwrap()).0)
            .collect::<HashSet<_>>()
            .len()
    );
}

/// The command that runs `cassetto` with a `size` tmpfs mounted on `dir` in a private mount
/// namespace (gone with the process), or `None` where namespaces are not allowed.
fn small_disk_wrapper(dir: &Path, size: &str) -> Option<Vec<String>> {
    let root = std::fs::read_to_string("/proc/self/status")
        .ok()?
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .is_some_and(|l| l.split_whitespace().nth(1) == Some("0"));
    let ns: &[&str] = if root { &["--mount"] } else { &["--user", "--map-root-user", "--mount"] };
    let probe = std::process::Command::new("unshare")
        .args(ns)
        .args(["--propagation", "private", "--", "sh", "-c", "mount -t tmpfs -o size=1m tmpfs \"$0\"", "/tmp"])
        .output()
        .ok()?;
    if !probe.status.success() {
        return None;
    }
    let mut w: Vec<String> = ["unshare"].iter().chain(ns).map(|s| s.to_string()).collect();
    let script = format!("mount -t tmpfs -o size={size} tmpfs \"$0\" && exec \"$@\"");
    w.extend(["--propagation", "private", "--", "sh", "-c", &script].map(String::from));
    w.push(dir.display().to_string());
    Some(w)
}

/// The attachment disk fills up: the request is refused with a clear 503, nothing is registered,
/// the partial upload is removed, and sending works again at once.
async fn a_full_attachment_disk_refuses_cleanly(backend: Backend) {
    // Arrange: attachments on a 4 MB filesystem; one request with 1 MB already there.
    let dir = tempfile::tempdir().unwrap();
    let db_url = db_for(&backend, dir.path());
    let attachments = dir.path().join("attachments");
    std::fs::create_dir_all(&attachments).unwrap();
    let Some(wrapper) = small_disk_wrapper(&attachments, "4m") else {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "mount namespaces are needed in CI");
        eprintln!("unshare/mount not permitted: full-disk test skipped");
        return;
    };
    run_ok(&db_url, dir.path(), &["seed-demo"]);
    let server = Proc::serve_as(&wrapper, &["serve"], &db_url, dir.path(), "serve.log", &[]).await;
    let client = reqwest::Client::new();
    let rossi = token(&client, &server.base, "azienda.rossi").await;
    let request = |s: &str| json!({"matricola": "7002000011", "ambito": "GENERICA", "subject": s, "body": "Disco."});
    let archive = |client: reqwest::Client, base: String, token: String| async move {
        get_json::<Value>(&client, format!("{base}/api/v1/requests?limit=1"), &token).await["total"].as_u64().unwrap()
    };
    let first_file = pdf(1, 1024 * 1024);
    let first = send_with_files(&client, &server.base, &rossi, &request("Prima"), &[first_file]).await.unwrap();
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    let before = archive(client.clone(), server.base.clone(), rossi.clone()).await;

    // Act: 4.5 MB of attachments do not fit.
    let big: Vec<Vec<u8>> = (0..3).map(|k| pdf(10 + k, 1536 * 1024)).collect();
    let full = send_with_files(&client, &server.base, &rossi, &request("Troppo"), &big).await.unwrap();

    // Assert
    assert_eq!(full.status(), 503);
    assert_eq!(full.headers()["content-type"], "application/problem+json");
    let problem: Value = full.json().await.unwrap();
    assert!(problem["detail"].as_str().unwrap().contains("spazio per gli allegati esaurito"), "{problem}");
    assert_eq!(archive(client.clone(), server.base.clone(), rossi.clone()).await, before, "an orphan request");
    // The partial bundle was removed: 2 MB fit again next to the first megabyte.
    let after_file = pdf(20, 2 * 1024 * 1024);
    let after = send_with_files(&client, &server.base, &rossi, &request("Dopo"), &[after_file]).await.unwrap();
    assert_eq!(after.status(), 201, "space was not given back");
    let after: Value = after.json().await.unwrap();
    let (reg_a, n_a) = register_and_number(first["protocollo"].as_str().unwrap());
    let (reg_b, n_b) = register_and_number(after["protocollo"].as_str().unwrap());
    assert_eq!((reg_a, n_a + 1), (reg_b, n_b), "the refused request used a protocol number");
    let zip = client
        .get(format!("{}/api/v1/requests/{}/attachments.zip", server.base, first["id"].as_str().unwrap()))
        .bearer_auth(&rossi)
        .send()
        .await
        .unwrap();
    assert_eq!(sha(&zip.bytes().await.unwrap()), first["bundle"]["sha256"].as_str().unwrap());
}

both!(a_full_attachment_disk_refuses_cleanly);
