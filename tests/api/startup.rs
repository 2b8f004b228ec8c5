//! Start-up errors: one clear line on stderr and a non-zero exit, never a panic.

use std::process::Command;

fn run(env: &[(&str, &str)], args: &[&str]) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cassetto"));
    cmd.args(args).env_clear().env("PATH", std::env::var("PATH").unwrap_or_default());
    cmd.env("CASSETTO_DATA_DIR", dir.path());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run cassetto");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn assert_one_clear_line(code: i32, stderr: &str, needle: &str) {
    assert_eq!(code, 1, "stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "expected one line, got: {stderr}");
    assert!(lines[0].starts_with("errore: "), "{stderr}");
    assert!(lines[0].contains(needle), "«{needle}» not in: {stderr}");
}

#[test]
fn unreachable_database_stops_start_up() {
    let (code, err) =
        run(&[("CASSETTO_DATABASE_URL", "postgres://postgres:segreta@127.0.0.1:1/cassetto")], &["migrate"]);
    assert_one_clear_line(code, &err, "impossibile collegarsi alla base dati");
    assert!(!err.contains("segreta"), "the password leaked: {err}");
}

#[test]
fn unsupported_database_url_stops_start_up() {
    let (code, err) = run(&[("CASSETTO_DATABASE_URL", "mysql://localhost/x")], &["migrate"]);
    assert_one_clear_line(code, &err, "CASSETTO_DATABASE_URL");
}

#[test]
fn unwritable_data_dir_stops_start_up() {
    let file = tempfile::NamedTempFile::new().unwrap();
    let path = file.path().join("sub");
    let (code, err) = run(&[("CASSETTO_DATA_DIR", path.to_str().unwrap())], &["migrate"]);
    assert_one_clear_line(code, &err, "cartella dati");
}

#[test]
fn bad_bind_address_and_numbers_stop_start_up() {
    let (code, err) = run(&[("CASSETTO_BIND", "dappertutto")], &["serve"]);
    assert_one_clear_line(code, &err, "CASSETTO_BIND");
    let (code, err) = run(&[("CASSETTO_MAX_FILE_BYTES", "tanti")], &["serve"]);
    assert_one_clear_line(code, &err, "CASSETTO_MAX_FILE_BYTES");
    let (code, err) = run(&[("CASSETTO_SMTP_URL", "http://relay")], &["serve"]);
    assert_one_clear_line(code, &err, "CASSETTO_SMTP_URL");
}

#[test]
fn migrate_seed_and_user_add_work_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let env = [("CASSETTO_DATA_DIR", data)];
    let cmd = |args: &[&str]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_cassetto"));
        c.args(args).envs(env.iter().copied());
        c.output().unwrap()
    };

    assert!(cmd(&["migrate"]).status.success());
    let first = cmd(&["seed-demo"]);
    let second = cmd(&["seed-demo"]);
    let added = cmd(&[
        "user",
        "add",
        "--username",
        "nuovo.op",
        "--password",
        "Password-lunga-1",
        "--role",
        "operatore",
        "--sede",
        "7002",
    ]);
    let bad = cmd(&["user", "add", "--username", "x", "--password", "corta", "--role", "azienda"]);

    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    assert!(String::from_utf8_lossy(&first.stdout).contains("7 sedi"));
    assert!(String::from_utf8_lossy(&first.stdout).contains("6 richieste"));
    assert!(
        String::from_utf8_lossy(&second.stdout).contains("0 sedi, 0 aziende, 0 utenti, 0 richieste"),
        "seed-demo is idempotent"
    );
    assert!(added.status.success(), "{}", String::from_utf8_lossy(&added.stderr));
    assert_eq!(bad.status.code(), Some(1));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("password") && err.contains("username") && err.contains("matricole"), "{err}");
    assert!(std::path::Path::new(data).join("cassetto.db").exists());
    let statuses = tokio::runtime::Runtime::new().unwrap().block_on(async {
        use sea_orm::{ConnectionTrait, Statement};
        let db = cassetto_storage::connect(&format!("sqlite://{data}/cassetto.db")).await.unwrap();
        let rows = db
            .query_all_raw(Statement::from_string(
                db.get_database_backend(),
                "SELECT DISTINCT status FROM requests ORDER BY status",
            ))
            .await
            .unwrap();
        rows.iter().map(|r| r.try_get::<String>("", "status").unwrap()).collect::<Vec<_>>()
    });
    assert_eq!(statuses, vec!["aperta", "chiusa", "in_carico"], "demo requests in every status");
}
