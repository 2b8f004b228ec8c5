//! A `cassetto` process under measurement: started on a free port, read for its memory, stopped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

pub const JWT_SECRET: &str = "bench-secret-bench-secret-bench-secret-0123";

pub struct Server {
    child: Child,
    pub base: String,
}

fn free_port() -> anyhow::Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

/// The `cassetto` binary built beside this one (`cargo build --release` builds both).
pub fn binary() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let bin = exe.with_file_name("cassetto");
    if !bin.exists() {
        bail!("{} not found: build it with `cargo build --release --bin cassetto`", bin.display());
    }
    Ok(bin)
}

/// Runs `cassetto <args>` against `db_url` with `data_dir`, plus `env`.
pub fn spawn(
    bin: &Path,
    args: &[&str],
    db_url: &str,
    data_dir: &Path,
    env: &[(&str, String)],
) -> anyhow::Result<(Child, String)> {
    let port = free_port()?;
    let bind = format!("127.0.0.1:{port}");
    let mut cmd = Command::new(bin);
    cmd.args(args)
        .env("CASSETTO_DATABASE_URL", db_url)
        .env("CASSETTO_BIND", &bind)
        .env("CASSETTO_DATA_DIR", data_dir)
        .env("CASSETTO_JWT_SECRET", JWT_SECRET)
        .env("CASSETTO_SPA_DIR", data_dir.join("no-spa"))
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let child = cmd.spawn().with_context(|| format!("starting {}", bin.display()))?;
    Ok((child, format!("http://{bind}")))
}

impl Server {
    pub async fn start(bin: &Path, db_url: &str, data_dir: &Path) -> anyhow::Result<Self> {
        let (child, base) = spawn(bin, &["serve", "--no-worker"], db_url, data_dir, &[])?;
        let mut s = Server { child, base };
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if let Ok(r) = client.get(format!("{}/readyz", s.base)).send().await {
                if r.status().is_success() {
                    return Ok(s);
                }
            }
            if let Some(status) = s.child.try_wait()? {
                bail!("cassetto serve exited with {status}");
            }
            if Instant::now() > deadline {
                bail!("cassetto serve not ready after 120 s");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Resident memory now and at its peak since the last [`Server::reset_peak`], in bytes.
    pub fn memory(&self) -> anyhow::Result<(u64, u64)> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))?;
        let field = |name: &str| -> u64 {
            status
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
                .map(|kb| kb * 1024)
                .unwrap_or(0)
        };
        Ok((field("VmRSS:"), field("VmHWM:")))
    }

    /// Resets the peak resident set size to the current one (Linux `clear_refs` 5).
    pub fn reset_peak(&self) -> anyhow::Result<()> {
        std::fs::write(format!("/proc/{}/clear_refs", self.pid()), "5").context("resetting VmHWM")
    }

    pub fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
