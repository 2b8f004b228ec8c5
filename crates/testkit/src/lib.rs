//! Real peers on 127.0.0.1 for the tests and the benchmarks: a small SMTP server and an HTTP SMS
//! gateway (also a webhook receiver), each able to go down, come back, or refuse. Test support
//! only: it panics on a broken lock or a port it cannot bind.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

#[derive(Debug, Clone)]
pub struct Mail {
    pub to: Vec<String>,
    pub data: String,
}

impl Mail {
    pub fn header(&self, name: &str) -> Option<String> {
        let prefix = format!("{}:", name.to_ascii_lowercase());
        self.data
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with(&prefix))
            .map(|l| l[prefix.len()..].trim().to_owned())
    }

    /// The message with quoted-printable soft breaks and escapes undone, for text checks.
    pub fn text(&self) -> String {
        let joined = self.data.replace("=\r\n", "");
        let bytes = joined.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'=' && i + 2 < bytes.len() {
                if let Ok(b) = u8::from_str_radix(std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz"), 16) {
                    out.push(b);
                    i += 3;
                    continue;
                }
            }
            out.push(bytes[i]);
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
}

#[derive(Default)]
struct SmtpShared {
    mails: Mutex<Vec<Mail>>,
    rejected: Mutex<Vec<String>>,
    conns: Mutex<Vec<JoinHandle<()>>>,
}

pub struct SmtpServer {
    pub port: u16,
    shared: Arc<SmtpShared>,
    accept: Option<JoinHandle<()>>,
}

impl SmtpServer {
    pub async fn start() -> Self {
        Self::start_on(0).await
    }

    pub async fn start_on(port: u16) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", port)).await.expect("bind smtp");
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(SmtpShared::default());
        let s = shared.clone();
        let accept = tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let _ = sock.set_nodelay(true);
                let s2 = s.clone();
                let h = tokio::spawn(async move {
                    let _ = session(sock, s2).await;
                });
                s.conns.lock().unwrap().push(h);
            }
        });
        Self { port, shared, accept: Some(accept) }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Closes the port and every open connection.
    pub fn stop(&mut self) {
        if let Some(a) = self.accept.take() {
            a.abort();
        }
        for h in self.shared.conns.lock().unwrap().drain(..) {
            h.abort();
        }
    }

    /// Answers 550 to RCPT TO for this address.
    pub fn reject(&self, address: &str) {
        self.shared.rejected.lock().unwrap().push(address.to_lowercase());
    }

    pub fn mails(&self) -> Vec<Mail> {
        self.shared.mails.lock().unwrap().clone()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn session(sock: tokio::net::TcpStream, shared: Arc<SmtpShared>) -> std::io::Result<()> {
    let (r, mut w) = sock.into_split();
    let mut r = BufReader::new(r);
    w.write_all(b"220 localhost ESMTP test\r\n").await?;
    let mut to: Vec<String> = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if r.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let cmd = line.trim_end().to_owned();
        let upper = cmd.to_ascii_uppercase();
        if upper.starts_with("EHLO") {
            w.write_all(b"250-localhost\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n").await?;
        } else if upper.starts_with("HELO") || upper.starts_with("NOOP") {
            w.write_all(b"250 OK\r\n").await?;
        } else if upper.starts_with("MAIL FROM") {
            to.clear();
            w.write_all(b"250 OK\r\n").await?;
        } else if upper.starts_with("RCPT TO") {
            let addr = cmd[8..].trim().trim_start_matches('<').trim_end_matches('>').to_lowercase();
            let addr = addr.split('>').next().unwrap_or("").trim_start_matches('<').to_owned();
            if shared.rejected.lock().unwrap().contains(&addr) {
                w.write_all(b"550 5.1.1 mailbox unavailable\r\n").await?;
            } else {
                to.push(addr);
                w.write_all(b"250 OK\r\n").await?;
            }
        } else if upper == "DATA" {
            w.write_all(b"354 go ahead\r\n").await?;
            let mut data = String::new();
            loop {
                line.clear();
                if r.read_line(&mut line).await? == 0 {
                    return Ok(());
                }
                if line == ".\r\n" || line == ".\n" {
                    break;
                }
                data.push_str(&line);
            }
            shared.mails.lock().unwrap().push(Mail { to: to.clone(), data });
            w.write_all(b"250 OK queued\r\n").await?;
        } else if upper.starts_with("RSET") {
            to.clear();
            w.write_all(b"250 OK\r\n").await?;
        } else if upper.starts_with("QUIT") {
            w.write_all(b"221 bye\r\n").await?;
            return Ok(());
        } else {
            w.write_all(b"502 not implemented\r\n").await?;
        }
    }
}

#[derive(Default)]
struct GatewayShared {
    /// Statuses to answer, in order; 200 once exhausted.
    script: Mutex<Vec<u16>>,
    delivered: Mutex<Vec<serde_json::Value>>,
    /// Every request that got a 2xx: lower-cased headers and raw body.
    requests: Mutex<Vec<(std::collections::HashMap<String, String>, String)>>,
    attempts: Mutex<u32>,
}

/// An HTTP endpoint that records what it receives: the SMS gateway (`POST {"to","text"}`) and a
/// webhook receiver alike.
pub struct SmsGateway {
    pub port: u16,
    shared: Arc<GatewayShared>,
    accept: JoinHandle<()>,
}

impl SmsGateway {
    pub async fn start(script: Vec<u16>) -> Self {
        Self::start_on(0, script).await
    }

    /// On a given port (0: any), e.g. where a gateway that was down comes back.
    pub async fn start_on(port: u16, script: Vec<u16>) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", port)).await.expect("bind sms");
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(GatewayShared { script: Mutex::new(script), ..Default::default() });
        let s = shared.clone();
        let accept = tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let _ = sock.set_nodelay(true);
                let s2 = s.clone();
                tokio::spawn(async move {
                    let _ = http_session(sock, s2).await;
                });
            }
        });
        Self { port, shared, accept }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/sms", self.port)
    }

    pub fn delivered(&self) -> Vec<serde_json::Value> {
        self.shared.delivered.lock().unwrap().clone()
    }

    pub fn requests(&self) -> Vec<(std::collections::HashMap<String, String>, String)> {
        self.shared.requests.lock().unwrap().clone()
    }

    pub fn attempts(&self) -> u32 {
        *self.shared.attempts.lock().unwrap()
    }
}

impl Drop for SmsGateway {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

async fn http_session(sock: tokio::net::TcpStream, shared: Arc<GatewayShared>) -> std::io::Result<()> {
    let (r, mut w) = sock.into_split();
    let mut r = BufReader::new(r);
    loop {
        let mut len = 0usize;
        let mut headers = std::collections::HashMap::new();
        let mut line = String::new();
        if r.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        loop {
            line.clear();
            r.read_line(&mut line).await?;
            if line == "\r\n" || line.is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':') {
                headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                len = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0u8; len];
        r.read_exact(&mut body).await?;
        *shared.attempts.lock().unwrap() += 1;
        let status = {
            let mut script = shared.script.lock().unwrap();
            if script.is_empty() {
                200
            } else {
                script.remove(0)
            }
        };
        if status == 200 {
            if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&body) {
                shared.delivered.lock().unwrap().push(v);
            }
            shared.requests.lock().unwrap().push((headers, String::from_utf8_lossy(&body).into_owned()));
        }
        let reply = format!("HTTP/1.1 {status} X\r\ncontent-length: 2\r\ncontent-type: text/plain\r\n\r\nok");
        w.write_all(reply.as_bytes()).await?;
    }
}

/// Polls `check` every 50 ms until it holds or `secs` pass.
pub async fn wait_until<F: FnMut() -> bool>(secs: u64, mut check: F) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while std::time::Instant::now() < deadline {
        if check() {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    check()
}
