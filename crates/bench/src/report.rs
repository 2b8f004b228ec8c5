//! Latency samples, percentiles and the Markdown report.

use std::fmt::Write as _;
use std::time::Duration;

#[derive(Clone, Debug, Default)]
pub struct Samples(pub Vec<Duration>);

impl Samples {
    pub fn push(&mut self, d: Duration) {
        self.0.push(d);
    }

    /// The `p`-th percentile (nearest rank), in milliseconds.
    pub fn pct(&self, p: f64) -> f64 {
        if self.0.is_empty() {
            return f64::NAN;
        }
        let mut v = self.0.clone();
        v.sort();
        let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
        v[rank.clamp(1, v.len()) - 1].as_secs_f64() * 1000.0
    }

    pub fn p50(&self) -> f64 {
        self.pct(50.0)
    }

    pub fn p99(&self) -> f64 {
        self.pct(99.0)
    }
}

/// One measured line: the API over HTTP and the same work done directly on the database.
pub struct Line {
    pub section: &'static str,
    pub name: String,
    pub http: Measure,
    pub floor: Measure,
    pub note: String,
}

pub enum Measure {
    Latency(Samples),
    /// Throughput (per second) with the latencies behind it.
    Rate {
        per_s: f64,
        latency: Samples,
    },
    Bytes(u64),
    None,
}

impl Measure {
    fn cells(&self) -> (String, String) {
        match self {
            Measure::Latency(s) => (format!("{:.2}", s.p50()), format!("{:.2}", s.p99())),
            Measure::Rate { per_s, latency } if latency.0.is_empty() => (format!("{per_s:.0}/s"), "–".into()),
            Measure::Rate { per_s, latency } => {
                (format!("{per_s:.0}/s"), format!("p50 {:.1} · p99 {:.1}", latency.p50(), latency.p99()))
            }
            Measure::Bytes(b) => (format!("{:.1} MB", *b as f64 / 1e6), String::new()),
            Measure::None => ("–".into(), "–".into()),
        }
    }

    fn key(&self) -> Option<f64> {
        match self {
            Measure::Latency(s) => Some(s.p99()),
            Measure::Rate { per_s, .. } => Some(*per_s),
            _ => None,
        }
    }
}

impl Line {
    /// HTTP over floor: time ratio for latencies, floor over HTTP for rates (so > 1 is slower).
    pub fn ratio(&self) -> Option<f64> {
        match (&self.http, &self.floor) {
            (Measure::Latency(_), Measure::Latency(_)) => Some(self.http.key()? / self.floor.key()?),
            (Measure::Rate { .. }, Measure::Rate { .. }) => Some(self.floor.key()? / self.http.key()?),
            _ => None,
        }
    }
}

pub fn markdown(title: &str, lines: &[Line]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "### {title}\n");
    let mut section = "";
    for l in lines {
        if l.section != section {
            section = l.section;
            let _ = writeln!(out, "\n#### {section}\n");
            let _ =
                writeln!(out, "| case | HTTP p50 / rate | HTTP p99 | floor p50 / rate | floor p99 | ratio | note |");
            let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---|");
        }
        let (h50, h99) = l.http.cells();
        let (f50, f99) = l.floor.cells();
        let ratio = l.ratio().map(|r| format!("{r:.2}×")).unwrap_or_else(|| "–".into());
        let _ = writeln!(out, "| {} | {h50} | {h99} | {f50} | {f99} | {ratio} | {} |", l.name, l.note);
    }
    out
}
