//! The archive search: every filter of the contract alone and the combinations the SPA offers, as
//! the four kinds of readers, first page and a deep page, over HTTP and directly on the database.

use std::time::Instant;

use anyhow::Context;
use chrono::{Duration, NaiveDate, Utc};
use rand::{rngs::StdRng, Rng, SeedableRng};
use sea_orm::DatabaseConnection;

use cassetto_domain::italian_day_start;
use cassetto_storage::registry;
use cassetto_storage::requests::{search, Cursor, Filters, Scope, Sort, SortKey};

use crate::load::{Dataset, AMBITI, TOPICS};
use crate::report::{Line, Measure, Samples};
use crate::Api;

#[derive(Clone, Copy)]
pub enum Reader {
    Azienda,
    Studio,
    Operatore,
    Supervisore,
}

impl Reader {
    fn label(self) -> &'static str {
        match self {
            Reader::Azienda => "azienda (1 matricola)",
            Reader::Studio => "intermediario",
            Reader::Operatore => "operatore (sede)",
            Reader::Supervisore => "supervisore (tutte le sedi)",
        }
    }

    fn path(self) -> &'static str {
        match self {
            Reader::Azienda | Reader::Studio => "/api/v1/requests",
            _ => "/api/v1/quesiti",
        }
    }
}

/// One query: its URL form and its parsed form for the floor.
#[derive(Clone)]
struct Case {
    query: String,
    filters: Filters,
    sort: Sort,
}

const DESC_UPDATED: Sort = Sort { key: SortKey::UpdatedAt, descending: true };

fn day(d: NaiveDate) -> chrono::DateTime<Utc> {
    italian_day_start(d)
}

/// Builds `n` variations of a scenario (different matricole, words, dates).
fn cases(name: &str, reader: Reader, ds: &Dataset, n: usize, op_id: i32) -> Vec<Case> {
    let mut rng = StdRng::seed_from_u64(name.len() as u64 * 7919 + n as u64);
    let today = Utc::now().date_naive();
    (0..n)
        .map(|_| {
            let mut f = Filters::default();
            let mut q: Vec<(String, String)> = vec![];
            let mut sort = DESC_UPDATED;
            let matricola = match reader {
                Reader::Azienda => ds.azienda_matricola.clone(),
                Reader::Studio => ds.studio_matricole[rng.random_range(0..ds.studio_matricole.len())].clone(),
                _ => ds.matricole[rng.random_range(0..ds.matricole.len())].clone(),
            };
            let topic = TOPICS[rng.random_range(0..TOPICS.len())].split(' ').next().unwrap_or("durc").to_lowercase();
            let rf = ds.refs[rng.random_range(0..ds.refs.len())].clone();
            let ambito = AMBITI[rng.random_range(0..AMBITI.len())].0.to_owned();
            let status = ["aperta", "in_carico", "chiusa"][rng.random_range(0..3)].to_owned();
            let from = today - Duration::days(rng.random_range(30..700));
            let to = from + Duration::days(30);
            let sede = ds.sedi[rng.random_range(0..ds.sedi.len())].clone();
            let protocollo = ds.protocolli[rng.random_range(0..ds.protocolli.len())].clone();
            for part in name.split('+') {
                match part {
                    "none" => {}
                    "matricola" => {
                        f.matricola = Some(matricola.clone());
                        q.push(("matricola".into(), matricola.clone()));
                    }
                    "subject" => {
                        f.subject = Some(topic.clone());
                        q.push(("subject".into(), topic.clone()));
                    }
                    "subject_ref" => {
                        f.subject = Some(rf.clone());
                        q.push(("subject".into(), rf.clone()));
                    }
                    "status" => {
                        f.statuses = vec![status.clone()];
                        q.push(("status".into(), status.clone()));
                    }
                    "aperta" => {
                        f.statuses = vec!["aperta".into()];
                        q.push(("status".into(), "aperta".into()));
                    }
                    "ambito" => {
                        f.ambito = Some(ambito.clone());
                        q.push(("ambito".into(), ambito.clone()));
                    }
                    "protocollo" => {
                        f.protocollo = Some(protocollo.clone());
                        q.push(("protocollo".into(), protocollo.clone()));
                    }
                    "opened" => {
                        f.opened_from = Some(day(from));
                        f.opened_before = Some(day(to + Duration::days(1)));
                        q.push(("opened_from".into(), from.to_string()));
                        q.push(("opened_to".into(), to.to_string()));
                    }
                    "updated" => {
                        f.updated_from = Some(day(from));
                        f.updated_before = Some(day(to + Duration::days(1)));
                        q.push(("updated_from".into(), from.to_string()));
                        q.push(("updated_to".into(), to.to_string()));
                    }
                    "created_sort" => {
                        sort = Sort { key: SortKey::CreatedAt, descending: true };
                        q.push(("sort".into(), "-created_at".into()));
                    }
                    "sede" => {
                        f.sede = Some(sede.clone());
                        q.push(("sede".into(), sede.clone()));
                    }
                    "assigned_me" => {
                        f.assigned = Some(Some(op_id));
                        q.push(("assigned".into(), "me".into()));
                    }
                    "assigned_none" => {
                        f.assigned = Some(None);
                        q.push(("assigned".into(), "none".into()));
                    }
                    other => panic!("unknown scenario part {other}"),
                }
            }
            let query = q.iter().map(|(k, v)| format!("{k}={}", urlencode(v))).collect::<Vec<_>>().join("&");
            Case { query, filters: f, sort }
        })
        .collect()
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The scenarios: (reader, filters joined by `+`).
pub const SCENARIOS: &[(Reader, &str)] = &[
    (Reader::Azienda, "none"),
    (Reader::Azienda, "status"),
    (Reader::Azienda, "subject"),
    (Reader::Studio, "none"),
    (Reader::Studio, "matricola"),
    (Reader::Studio, "subject"),
    (Reader::Studio, "subject_ref"),
    (Reader::Studio, "status"),
    (Reader::Studio, "ambito"),
    (Reader::Studio, "protocollo"),
    (Reader::Studio, "opened"),
    (Reader::Studio, "updated"),
    (Reader::Studio, "created_sort"),
    (Reader::Studio, "status+ambito"),
    (Reader::Studio, "matricola+status+opened"),
    (Reader::Studio, "subject+status+updated"),
    (Reader::Operatore, "none"),
    (Reader::Operatore, "aperta"),
    (Reader::Operatore, "status"),
    (Reader::Operatore, "assigned_me"),
    (Reader::Operatore, "aperta+assigned_none"),
    (Reader::Operatore, "subject"),
    (Reader::Operatore, "subject_ref"),
    (Reader::Operatore, "protocollo"),
    (Reader::Operatore, "status+assigned_me+subject"),
    (Reader::Supervisore, "none"),
    (Reader::Supervisore, "status"),
    (Reader::Supervisore, "sede"),
    (Reader::Supervisore, "sede+status"),
    (Reader::Supervisore, "subject"),
    (Reader::Supervisore, "subject_ref"),
    (Reader::Supervisore, "protocollo"),
    (Reader::Supervisore, "matricola"),
    (Reader::Supervisore, "ambito+opened"),
    (Reader::Supervisore, "status+subject"),
    (Reader::Supervisore, "ambito+subject"),
    (Reader::Supervisore, "opened+subject"),
    (Reader::Supervisore, "updated+subject"),
    (Reader::Supervisore, "created_sort+status+subject"),
    (Reader::Supervisore, "status+assigned_none+subject"),
];

pub struct Readers {
    pub azienda: String,
    pub studio: String,
    pub operatore: String,
    pub supervisore: String,
    pub op_id: i32,
    pub azienda_id: i32,
    pub studio_id: i32,
}

/// Pages followed before measuring a deep page.
const DEEP_PAGES: usize = 25;

/// How long a case is measured: at least `samples` queries, and on until it has run for
/// [`Sampling::MIN_TIME`] (at most ten times `samples`), but never past [`Sampling::BUDGET`]
/// once it has ten.
///
/// A p99 is the third slowest of 200 answers: on a case of half a millisecond, whether one
/// of the two or three hiccups of the machine (a timer, another service's wake-up, the
/// kernel paging out cold pages; about one query in 300, for the floor as for HTTP) falls in
/// the HTTP sample or in the floor's decided its ratio — 1.4× or 3.5× for the same code
/// (docs/BENCHMARKS.md, twentieth round). Two seconds of a fast case are a couple of
/// thousand answers: their p99 is the machine's, not a draw. A slow case keeps its 200.
struct Sampling {
    min: usize,
    max: usize,
    started: Instant,
}

impl Sampling {
    const MIN_TIME: std::time::Duration = std::time::Duration::from_secs(2);
    const BUDGET: std::time::Duration = std::time::Duration::from_secs(20);

    fn new(min: usize) -> Self {
        Sampling { min, max: min * 10, started: Instant::now() }
    }

    /// Whether to measure one more query, `taken` being measured already.
    fn more(&self, taken: usize) -> bool {
        self.more_after(taken, self.started.elapsed())
    }

    fn more_after(&self, taken: usize, elapsed: std::time::Duration) -> bool {
        if taken >= self.max || (taken >= 10 && elapsed >= Self::BUDGET) {
            return false;
        }
        taken < self.min || elapsed < Self::MIN_TIME
    }
}

pub async fn run(
    api: &Api,
    db: &DatabaseConnection,
    ds: &Dataset,
    tokens: &Readers,
    samples: usize,
    only: Option<&str>,
) -> anyhow::Result<Vec<Line>> {
    let mut lines = vec![];
    // What the server's registry cache holds: read once, as it is.
    let azienda_holding = registry::holding(db, tokens.azienda_id).await?;
    let studio_holding = registry::holding(db, tokens.studio_id).await?;
    for (reader, name) in SCENARIOS {
        let label = format!("{} · {}", reader.label(), name.replace('+', " + "));
        if only.is_some_and(|o| !label.contains(o)) {
            continue;
        }
        let token = match reader {
            Reader::Azienda => &tokens.azienda,
            Reader::Studio => &tokens.studio,
            Reader::Operatore => &tokens.operatore,
            Reader::Supervisore => &tokens.supervisore,
        };
        let scope = match reader {
            Reader::Azienda => Scope::DelegatedTo(tokens.azienda_id, azienda_holding),
            Reader::Studio => Scope::DelegatedTo(tokens.studio_id, studio_holding),
            Reader::Operatore => Scope::Sede(ds.op_sede.clone()),
            Reader::Supervisore => Scope::All,
        };
        let cs = cases(name, *reader, ds, samples * 10, tokens.op_id);
        // Warm-up: a few of each, not measured.
        for c in cs.iter().take(5) {
            api.get_json(&format!("{}?{}", reader.path(), c.query), token).await?;
            search(db, &scope, &c.filters, c.sort, None, 21).await?;
        }
        let (mut http, mut floor, mut total_sum) = (Samples::default(), Samples::default(), 0u64);
        let mut deepest: Option<(u64, usize)> = None;
        let sampling = Sampling::new(samples);
        for c in &cs {
            // A slow case stops after 20 s (at least 10 samples): its p99 is then the worst seen.
            if !sampling.more(http.0.len()) {
                break;
            }
            let url = format!("{}?{}", reader.path(), c.query);
            // Each query's values are new (a sede, a month, a matricola): whichever of the two
            // runs first reads their pages from the operating system, the second finds them in
            // memory. So they take turns at going first.
            let run_floor = || async {
                let t = Instant::now();
                search(db, &scope, &c.filters, c.sort, None, 21).await.map(|_| t.elapsed())
            };
            let floor_first = http.0.len() % 2 == 1;
            if floor_first {
                floor.push(run_floor().await?);
            }
            let t = Instant::now();
            let body = api.get_body(&url, token).await?;
            http.push(t.elapsed());
            if !floor_first {
                floor.push(run_floor().await?);
            }
            let page: serde_json::Value = serde_json::from_slice(&body)?;
            let total = page["total"].as_u64().context("total")?;
            total_sum += total;
            if deepest.is_none_or(|(t, _)| total > t) {
                deepest = Some((total, http.0.len() - 1));
            }
        }
        let avg_total = total_sum / http.0.len().max(1) as u64;
        let measured = http.0.len();
        eprintln!(
            "  {label}: HTTP p50 {:.2} p99 {:.2} · floor p50 {:.2} p99 {:.2} · total {avg_total}",
            http.p50(),
            http.p99(),
            floor.p50(),
            floor.p99()
        );
        lines.push(Line {
            section: "Archive search, first page (20 rows + total), ms",
            name: label.clone(),
            http: Measure::Latency(http),
            floor: Measure::Latency(floor),
            note: format!("{measured} queries, mean total {avg_total}"),
        });
        // A deep page: follow the cursor, then measure fetching the page there.
        if let Some((_, at)) = deepest.filter(|(t, _)| *t as usize > 20 * (DEEP_PAGES + 1)) {
            let c = &cs[at];
            let mut url = format!("{}?{}", reader.path(), c.query);
            let mut cursor: Option<Cursor> = None;
            for _ in 0..DEEP_PAGES {
                let page = api.get_json(&url, token).await?;
                let next = page["next_cursor"].as_str().context("next_cursor")?;
                url = format!("{}?{}&cursor={next}", reader.path(), c.query);
                let (rows, _, _) = search(db, &scope, &c.filters, c.sort, cursor.as_ref(), 20).await?;
                let last = rows.last().context("a full page")?;
                let at = if c.sort.key == SortKey::UpdatedAt { last.updated_at } else { last.created_at };
                cursor = Some(Cursor { at, id: last.id.clone() });
            }
            let (mut http, mut floor) = (Samples::default(), Samples::default());
            let sampling = Sampling::new(samples.min(100));
            while sampling.more(http.0.len()) {
                let t = Instant::now();
                api.get_body(&url, token).await?;
                http.push(t.elapsed());
                let t = Instant::now();
                search(db, &scope, &c.filters, c.sort, cursor.as_ref(), 21).await?;
                floor.push(t.elapsed());
            }
            eprintln!(
                "  {label} (page 26): HTTP p50 {:.2} p99 {:.2} · floor p50 {:.2} p99 {:.2}",
                http.p50(),
                http.p99(),
                floor.p50(),
                floor.p99()
            );
            lines.push(Line {
                section: "Archive search, page 26 (after 500 rows), ms",
                name: label,
                http: Measure::Latency(http),
                floor: Measure::Latency(floor),
                note: String::new(),
            });
        }
    }
    // Deep pages after the first pages, in the report.
    lines.sort_by_key(|l| l.section.starts_with("Archive search, page"));
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::Sampling;
    use std::time::Duration;

    #[test]
    fn a_fast_case_runs_two_seconds_and_a_slow_one_keeps_its_minimum() {
        let s = Sampling::new(200);
        let ms = Duration::from_millis;
        // Fast: past the minimum, on until two seconds, never past ten times the minimum.
        assert!(s.more_after(199, ms(100)));
        assert!(s.more_after(1_500, ms(1_900)));
        assert!(!s.more_after(1_500, ms(2_000)));
        assert!(!s.more_after(2_000, ms(1_000)));
        // Slow: the minimum, then stop; a very slow one stops at the budget with ten.
        assert!(s.more_after(150, ms(5_000)));
        assert!(!s.more_after(200, ms(5_000)));
        assert!(s.more_after(9, ms(25_000)));
        assert!(!s.more_after(10, ms(20_000)));
    }
}
