//! Structured logs with `tracing`: human-readable by default, JSON with `CASSETTO_LOG_FORMAT=json`.
//!
//! Personal data never reaches the log in clear: request spans carry the route pattern, never
//! the path or the query string (which may hold a username, a codice fiscale or a searched
//! subject), and every line passes through [`redact`] on its way to stderr, which masks e-mail
//! addresses, codici fiscali, phone-like digit runs and bearer tokens wherever they come from
//! (an SMTP server echoing a recipient, a database error quoting a duplicate key…).

use std::io::Write;
use std::sync::OnceLock;

use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::Error;
use actix_web::HttpMessage;
use regex::Regex;
use tracing::Span;
use tracing_actix_web::{DefaultRootSpanBuilder, RootSpanBuilder};
use tracing_subscriber::{fmt, EnvFilter};

pub fn init() {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn,actix_server=warn"));
    let json = std::env::var("CASSETTO_LOG_FORMAT").map(|v| v == "json").unwrap_or(false);
    let builder = fmt().with_env_filter(filter).with_writer(|| RedactingStderr);
    let _ = if json { builder.json().try_init() } else { builder.try_init() };
}

fn patterns() -> &'static [(Regex, &'static str)] {
    static PATTERNS: OnceLock<Vec<(Regex, &'static str)>> = OnceLock::new();
    PATTERNS.get_or_init(|| {
        [
            // JSON Web Tokens (three base64url parts, the first a JSON header).
            (r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*", "[token]"),
            (r"(?i)bearer\s+[A-Za-z0-9._~+/=-]+", "Bearer [token]"),
            (r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}", "[e-mail]"),
            // A personal codice fiscale: 6 letters, 2 digits, a letter, 2 digits, a letter,
            // 3 digits, a letter (digits may be replaced by letters for homonyms).
            (
                r"(?i)\b[A-Z]{6}[0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{3}[A-Z]\b",
                "[codice fiscale]",
            ),
            // Phone numbers, numeric codici fiscali and partite IVA: runs of 9 or more digits.
            (r"\+?\b\d{9,}\b", "[numero]"),
        ]
        .into_iter()
        .filter_map(|(re, with)| Regex::new(re).ok().map(|r| (r, with)))
        .collect()
    })
}

/// `text` with personal data masked.
pub fn redact(text: &str) -> String {
    let mut out = text.to_owned();
    for (re, with) in patterns() {
        if re.is_match(&out) {
            out = re.replace_all(&out, *with).into_owned();
        }
    }
    out
}

/// Stderr, through [`redact`]. The formatter writes each event in one call.
struct RedactingStderr;

impl Write for RedactingStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        std::io::stderr().write_all(redact(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// The root span of each request: method, route pattern, status, request id; never the path
/// with its values nor the query string, nor the client's address.
pub struct RouteSpan;

impl RootSpanBuilder for RouteSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let route = request.match_pattern().unwrap_or_else(|| "unmatched".into());
        let request_id =
            request.extensions().get::<tracing_actix_web::RequestId>().map(|r| r.to_string()).unwrap_or_default();
        tracing::info_span!(
            "request",
            method = %request.method(),
            route = %route,
            request_id = %request_id,
            status = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
            exception.message = tracing::field::Empty,
            exception.details = tracing::field::Empty,
        )
    }

    fn on_request_end<B: actix_web::body::MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        if let Ok(res) = outcome {
            span.record("status", res.status().as_u16());
        }
        DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn personal_data_is_masked() {
        let line = "550 5.1.1 <mario.rossi@example.it>: no such user; cf RSSMRA80A01H501U, \
                    piva 01234567897, cell +393331234567, token eyJhbGciOi.eyJzdWIi.sig, Bearer abc.def";
        let out = redact(line);
        for secret in
            ["mario.rossi@example.it", "RSSMRA80A01H501U", "01234567897", "3331234567", "eyJhbGciOi", "abc.def"]
        {
            assert!(!out.contains(secret), "{secret} in {out}");
        }
        assert!(out.contains("550 5.1.1"), "{out}");
    }

    #[test]
    fn ordinary_text_is_left_alone() {
        let line = "request route=/api/v1/requests/{id} status=201 id=0190f3a2-7c1e-7d3b-9a55-3c2f1e0d9b8a";
        assert_eq!(redact(line), line);
    }
}
