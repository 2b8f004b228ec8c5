//! Webhook deliveries: `POST` of the event's JSON to the client's endpoint, signed with
//! HMAC-SHA256 over `"<timestamp>.<body>"` with the webhook's secret.
//!
//! Headers: `Cassetto-Delivery` (stable id of the event for this webhook, to deduplicate),
//! `Cassetto-Timestamp` (Unix seconds), `Cassetto-Signature: v1=<hex>`. A receiver recomputes
//! the signature and refuses timestamps older than a few minutes.

use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// `v1=<hex of HMAC-SHA256(secret, "<timestamp>.<body>")>`.
pub fn signature(secret: &str, timestamp: i64, body: &str) -> String {
    // HMAC accepts keys of any length, so this never fails.
    let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()) else { return String::new() };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    format!("v1={}", hex::encode(mac.finalize().into_bytes()))
}

pub struct HttpWebhook {
    client: reqwest::Client,
}

impl HttpWebhook {
    pub fn new() -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self { client })
    }

    pub async fn send(&self, url: &str, delivery: &str, secret: &str, body: &str) -> anyhow::Result<()> {
        let ts = chrono::Utc::now().timestamp();
        let res = self
            .client
            .post(url)
            .header("Content-Type", "application/json")
            .header("User-Agent", "Cassetto-Webhooks/1")
            .header("Cassetto-Delivery", delivery)
            .header("Cassetto-Timestamp", ts.to_string())
            .header("Cassetto-Signature", signature(secret, ts, body))
            .body(body.to_owned())
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("endpoint non raggiungibile: {e}"))?;
        let status = res.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(anyhow::anyhow!("endpoint: HTTP {status}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hmac_sha256_over_timestamp_and_body() {
        let sig = signature("segreto", 1700000000, "{\"a\":1}");
        assert!(sig.starts_with("v1="));
        assert_eq!(sig.len(), 3 + 64);
        assert_ne!(sig, signature("segreto", 1700000001, "{\"a\":1}"));
        assert_ne!(sig, signature("altro", 1700000000, "{\"a\":1}"));
    }
}
