//! Attachments on S3-compatible object storage (`CASSETTO_S3_*`), against a real S3 server on
//! this machine: `s3s-fs` (installed by the test command; `CASSETTO_TEST_S3S_FS` or `PATH`).

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::both;
use cassetto_domain::Role;

use crate::helpers::{expect_problem, files_under, generic, pdf, spawn_app_with, Backend, TestApp};
use crate::processes::sha;

const BUCKET: &str = "cassetto-allegati";
const ACCESS_KEY: &str = "cassetto-test";
const SECRET_KEY: &str = "cassetto-test-secret-key";

/// An `s3s-fs` process serving `root` (each sub-directory a bucket) on a free port.
struct S3Server {
    child: Option<Child>,
    root: tempfile::TempDir,
    port: u16,
    binary: PathBuf,
}

fn s3s_fs_binary() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("CASSETTO_TEST_S3S_FS") {
        return Some(PathBuf::from(p));
    }
    std::env::var_os("PATH")
        .and_then(|paths| std::env::split_paths(&paths).map(|d| d.join("s3s-fs")).find(|p| p.is_file()))
}

impl S3Server {
    /// Starts the server, or `None` (with a note) where s3s-fs is not installed outside CI.
    async fn start() -> Option<S3Server> {
        let Some(binary) = s3s_fs_binary() else {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "s3s-fs is required in CI: scripts/test.sh installs it and sets CASSETTO_TEST_S3S_FS"
            );
            eprintln!("s3s-fs not installed: object storage test skipped (scripts/test.sh installs it)");
            return None;
        };
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join(BUCKET)).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut server = S3Server { child: None, root, port, binary };
        server.restart().await;
        Some(server)
    }

    async fn restart(&mut self) {
        let child = Command::new(&self.binary)
            .args(["--host", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY])
            .arg(self.root.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await.is_err() {
            assert!(Instant::now() < deadline, "s3s-fs did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn bucket_dir(&self) -> PathBuf {
        self.root.path().join(BUCKET)
    }

    /// The settings of an instance storing its attachments in this server's bucket.
    fn settings(&self, db_url: Option<&str>) -> HashMap<&'static str, String> {
        let mut env = HashMap::from([
            ("CASSETTO_S3_BUCKET", BUCKET.to_owned()),
            ("CASSETTO_S3_ENDPOINT", self.endpoint()),
            ("CASSETTO_S3_ACCESS_KEY_ID", ACCESS_KEY.to_owned()),
            ("CASSETTO_S3_SECRET_ACCESS_KEY", SECRET_KEY.to_owned()),
        ]);
        if let Some(url) = db_url {
            env.insert("CASSETTO_DATABASE_URL", url.to_owned());
        }
        env
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn app_on(s3: &S3Server, backend: Backend) -> TestApp {
    let app = spawn_app_with(backend, s3.settings(None)).await;
    app.create_sede("7002", "Roma Tiburtino", true).await;
    app.create_azienda("7002000011", "7002").await;
    app.create_user("rossi", Role::Azienda, None, &["7002000011"]).await;
    app
}

/// A 6 MB file makes the upload go in parts; two instances read the same bundle from the bucket.
async fn bundles_live_in_the_bucket_and_every_instance_serves_them(backend: Backend) {
    let Some(s3) = S3Server::start().await else { return };
    let first = app_on(&s3, backend.clone()).await;
    let second = spawn_app_with(backend, s3.settings(Some(&first.db_url))).await;
    let rossi = first.token("rossi").await;
    let mut big = b"%PDF-1.4\n".to_vec();
    big.extend((0..6 * 1024 * 1024u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
    let files = vec![("grande.pdf", big.clone()), ("a.pdf", pdf("a")), ("b.pdf", pdf("b"))];

    let res = first.send_request(&rossi, &generic("7002000011", "Allegati su S3"), files).await;

    assert_eq!(res.status(), 201);
    let r: Value = res.json().await.unwrap();
    let id = r["id"].as_str().unwrap();
    assert_eq!(r["attachments"][0]["sha256"], sha(&big));
    let in_bucket = files_under(&s3.bucket_dir());
    assert!(
        in_bucket.iter().any(|p| p.file_name().unwrap().to_string_lossy() == format!("{id}.zip")),
        "bundle not in the bucket: {in_bucket:?}"
    );
    let local: Vec<_> = files_under(&first.data_dir().join("attachments"));
    assert!(local.is_empty(), "nothing is kept on the instance's disk: {local:?}");
    for app in [&first, &second] {
        let zip = app.get(&format!("/api/v1/requests/{id}/attachments.zip"), &rossi).await;
        assert_eq!(zip.status(), 200);
        assert_eq!(zip.headers()["content-type"], "application/zip");
        let bytes = zip.bytes().await.unwrap();
        assert_eq!(sha(&bytes), r["bundle"]["sha256"].as_str().unwrap());
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
        let mut inner = Vec::new();
        std::io::Read::read_to_end(&mut archive.by_name("grande.pdf").unwrap(), &mut inner).unwrap();
        assert_eq!(sha(&inner), sha(&big));
    }
}

/// The bucket unreachable: sending with files is refused with a clear 503 and nothing is
/// registered; once it is back, sending works and the protocol has no gap.
async fn an_unreachable_bucket_refuses_the_request_and_registers_nothing(backend: Backend) {
    let Some(mut s3) = S3Server::start().await else { return };
    let app = app_on(&s3, backend).await;
    let rossi = app.token("rossi").await;
    let before = app.send_request(&rossi, &generic("7002000011", "Prima"), vec![("a.pdf", pdf("a"))]).await;
    assert_eq!(before.status(), 201);
    let before: Value = before.json().await.unwrap();
    s3.stop();

    let res = app.send_request(&rossi, &generic("7002000011", "Durante"), vec![("b.pdf", pdf("b"))]).await;

    let p = expect_problem(res, 503).await;
    assert!(p.detail().contains("allegati"), "{}", p.detail());
    assert_eq!(app.archive(&rossi, "").await["total"], 1);
    let leftovers = files_under(&app.data_dir().join("attachments-tmp"));
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    s3.restart().await;
    let after = app.send_request(&rossi, &generic("7002000011", "Dopo"), vec![("c.pdf", pdf("c"))]).await;
    assert_eq!(after.status(), 201);
    let after: Value = after.json().await.unwrap();
    let number = |r: &Value| r["protocollo"].as_str().unwrap().rsplit('.').next().unwrap().parse::<u64>().unwrap();
    assert_eq!(number(&after), number(&before) + 1, "{} then {}", before["protocollo"], after["protocollo"]);
}

/// The start-up sweep works on the bucket too: an orphan bundle goes, committed ones stay.
async fn the_orphan_sweep_cleans_the_bucket(backend: Backend) {
    use cassetto_api::blobs::{sweep_orphans, BlobStore, S3Store};
    let Some(s3) = S3Server::start().await else { return };
    let app = app_on(&s3, backend).await;
    let rossi = app.token("rossi").await;
    let kept: Value = app
        .send_request(&rossi, &generic("7002000011", "Resta"), vec![("a.pdf", pdf("a"))])
        .await
        .json()
        .await
        .unwrap();
    let env = s3.settings(None);
    let settings = cassetto_api::settings::Settings::from_lookup(|k| match k {
        "CASSETTO_DATA_DIR" => Some(app.data_dir().display().to_string()),
        _ => env.get(k).cloned(),
    })
    .unwrap();
    let cassetto_api::settings::AttachmentStore::S3(cfg) = &settings.attachments else { panic!("not S3") };
    let store = S3Store::new(cfg, app.data_dir()).unwrap();
    let orphan = uuid::Uuid::now_v7().to_string();
    let tmp = store.temp_path();
    std::fs::write(&tmp, b"PK\x05\x06").unwrap();
    store.put_file(&orphan, &tmp).await.unwrap();
    assert!(store.open(&orphan).await.unwrap().is_some());
    tokio::time::sleep(Duration::from_millis(1100)).await;

    let removed = sweep_orphans(&store, &app.db, None, Duration::from_secs(1)).await.unwrap();

    assert_eq!(removed, 1);
    assert!(store.open(&orphan).await.unwrap().is_none());
    assert!(store.open(kept["id"].as_str().unwrap()).await.unwrap().is_some());
}

both!(
    bundles_live_in_the_bucket_and_every_instance_serves_them,
    an_unreachable_bucket_refuses_the_request_and_registers_nothing,
    the_orphan_sweep_cleans_the_bucket,
);
