//! The archive's query string: filters, sorting, paging, parsed strictly so that a typo in a
//! parameter name is an error rather than a silently ignored filter.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use cassetto_domain::{italian_day_start, Matricola, Protocollo, SedeCode, Status};
use cassetto_dto::FieldError;
use cassetto_storage::requests::{Cursor, Filters, Sort, SortKey};
use chrono::{DateTime, Days, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;

use crate::error::{ApiError, ApiResult};

pub const MAX_LIMIT: u64 = 100;
const MAX_PARAMS: usize = 40;

/// The archive's filters (documentation of the query string; parsing is `parse`).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct ArchiveParams {
    /// Only this matricola (10 digits).
    #[param(pattern = r"^[0-9]{10}$")]
    matricola: Option<String>,
    /// Part of the subject, case-insensitive.
    #[param(max_length = 200)]
    subject: Option<String>,
    /// Repeatable: `status=aperta&status=in_carico`.
    status: Option<Vec<Status>>,
    /// An ambito code.
    #[param(pattern = r"^[A-Z0-9_]{1,40}$")]
    ambito: Option<String>,
    /// The exact protocol stamp.
    #[param(pattern = r"^INPS\.[0-9]{4}\.[0-3][0-9]/[01][0-9]/[0-9]{4}\.[0-9]{7,}$")]
    protocollo: Option<String>,
    /// Opened on or after this day (`YYYY-MM-DD`, Italian calendar).
    opened_from: Option<NaiveDate>,
    /// Opened on or before this day.
    opened_to: Option<NaiveDate>,
    /// Last updated on or after this day.
    updated_from: Option<NaiveDate>,
    /// Last updated on or before this day.
    updated_to: Option<NaiveDate>,
    /// `updated_at`, `-updated_at` (default), `created_at`, `-created_at`.
    #[param(pattern = r"^-?(updated_at|created_at)$")]
    sort: Option<String>,
    /// Page size, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u64>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// The back office's extra filters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct QuesitiParams {
    /// Only this sede (supervisore and admin).
    #[param(pattern = r"^[0-9]{4}$")]
    sede: Option<String>,
    /// `me`, `none`, or a username.
    assigned: Option<String>,
}

/// A parsed archive query.
#[derive(Debug, Clone)]
pub struct ArchiveQuery {
    pub filters: Filters,
    pub sort: Sort,
    pub limit: u64,
    pub cursor: Option<Cursor>,
    /// `assigned=<username>`, resolved by the caller.
    pub assigned_username: Option<String>,
    pub assigned_me: bool,
}

#[derive(Serialize, Deserialize)]
struct CursorToken {
    s: String,
    t: DateTime<Utc>,
    i: String,
}

fn sort_name(s: Sort) -> &'static str {
    match (s.key, s.descending) {
        (SortKey::UpdatedAt, true) => "-updated_at",
        (SortKey::UpdatedAt, false) => "updated_at",
        (SortKey::CreatedAt, true) => "-created_at",
        (SortKey::CreatedAt, false) => "created_at",
    }
}

pub fn encode_cursor(sort: Sort, at: DateTime<Utc>, id: &str) -> String {
    let token = CursorToken { s: sort_name(sort).to_owned(), t: at, i: id.to_owned() };
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&token).unwrap_or_default())
}

/// Parses a query string; `back_office` admits `sede` and `assigned`.
pub fn parse(query: &str, back_office: bool) -> ApiResult<ArchiveQuery> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query)
        .map_err(|_| ApiError::BadRequest("la stringa di ricerca non è codificata correttamente".into()))?;
    if pairs.len() > MAX_PARAMS {
        return Err(ApiError::BadRequest(format!("troppi parametri di ricerca (al massimo {MAX_PARAMS})")));
    }
    let mut errs: Vec<FieldError> = Vec::new();
    let mut bad = |field: &str, message: &str| errs.push(FieldError { field: field.into(), message: message.into() });
    let mut q = ArchiveQuery {
        filters: Filters::default(),
        sort: Sort { key: SortKey::UpdatedAt, descending: true },
        limit: 20,
        cursor: None,
        assigned_username: None,
        assigned_me: false,
    };
    let mut seen: Vec<String> = Vec::new();
    let mut cursor_raw: Option<String> = None;
    let mut dates: [Option<NaiveDate>; 4] = [None; 4];
    for (key, value) in pairs {
        if key != "status" {
            if seen.contains(&key) {
                bad(&key, "parametro ripetuto");
                continue;
            }
            seen.push(key.clone());
        }
        let value = value.trim().to_owned();
        match key.as_str() {
            "matricola" => match Matricola::parse(&value) {
                Ok(m) => q.filters.matricola = Some(m.into_inner()),
                Err(e) => bad("matricola", &e.to_string()),
            },
            "subject" => {
                if value.chars().count() > 200 {
                    bad("subject", "al massimo 200 caratteri");
                } else if !value.is_empty() {
                    q.filters.subject = Some(value.to_lowercase());
                }
            }
            "status" => match Status::parse(&value) {
                Ok(s) => {
                    if !q.filters.statuses.iter().any(|x| x == s.as_str()) {
                        q.filters.statuses.push(s.as_str().to_owned());
                    }
                }
                Err(e) => bad("status", &e.to_string()),
            },
            "ambito" => {
                if value.is_empty()
                    || value.len() > 40
                    || !value.bytes().all(|b| b.is_ascii_uppercase() || b == b'_' || b.is_ascii_digit())
                {
                    bad("ambito", "codice di ambito non valido");
                } else {
                    q.filters.ambito = Some(value);
                }
            }
            "protocollo" => match Protocollo::parse(&value) {
                Ok(p) => q.filters.protocollo = Some(p.to_string()),
                Err(e) => bad("protocollo", &e.to_string()),
            },
            "opened_from" | "opened_to" | "updated_from" | "updated_to" => {
                match NaiveDate::parse_from_str(&value, "%Y-%m-%d") {
                    Ok(d) => {
                        let i = ["opened_from", "opened_to", "updated_from", "updated_to"]
                            .iter()
                            .position(|k| *k == key)
                            .unwrap_or(0);
                        dates[i] = Some(d);
                    }
                    Err(_) => bad(&key, "deve essere una data nel formato AAAA-MM-GG"),
                }
            }
            "sort" => match value.as_str() {
                "updated_at" => q.sort = Sort { key: SortKey::UpdatedAt, descending: false },
                "-updated_at" => q.sort = Sort { key: SortKey::UpdatedAt, descending: true },
                "created_at" => q.sort = Sort { key: SortKey::CreatedAt, descending: false },
                "-created_at" => q.sort = Sort { key: SortKey::CreatedAt, descending: true },
                _ => bad("sort", "deve essere updated_at, -updated_at, created_at o -created_at"),
            },
            "limit" => match value.parse::<u64>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => q.limit = n,
                _ => bad("limit", "deve essere un numero da 1 a 100"),
            },
            "cursor" => cursor_raw = Some(value),
            "sede" if back_office => match SedeCode::parse(&value) {
                Ok(s) => q.filters.sede = Some(s.into_inner()),
                Err(e) => bad("sede", &e.to_string()),
            },
            "assigned" if back_office => match value.as_str() {
                "me" => q.assigned_me = true,
                "none" => q.filters.assigned = Some(None),
                "" => bad("assigned", "indicare me, none o un nome utente"),
                other => q.assigned_username = Some(other.to_lowercase()),
            },
            other => {
                let name: String = other.chars().filter(|c| !c.is_control()).take(40).collect();
                bad(&name, "parametro sconosciuto")
            }
        }
    }
    let [of, ot, uf, ut] = dates;
    if let (Some(a), Some(b)) = (of, ot) {
        if b < a {
            bad("opened_to", "precede opened_from");
        }
    }
    if let (Some(a), Some(b)) = (uf, ut) {
        if b < a {
            bad("updated_to", "precede updated_from");
        }
    }
    let next_day = |d: NaiveDate| d.checked_add_days(Days::new(1)).map(italian_day_start);
    q.filters.opened_from = of.map(italian_day_start);
    q.filters.opened_before = ot.and_then(next_day);
    q.filters.updated_from = uf.map(italian_day_start);
    q.filters.updated_before = ut.and_then(next_day);
    if let Some(raw) = cursor_raw {
        let token =
            URL_SAFE_NO_PAD.decode(raw.as_bytes()).ok().and_then(|b| serde_json::from_slice::<CursorToken>(&b).ok());
        match token {
            Some(t) if t.s == sort_name(q.sort) => q.cursor = Some(Cursor { at: t.t, id: t.i }),
            Some(_) => bad("cursor", "il cursore appartiene a un altro ordinamento"),
            None => bad("cursor", "cursore non valido"),
        }
    }
    if errs.is_empty() {
        Ok(q)
    } else {
        Err(ApiError::InvalidQuery(errs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_filter() {
        let q = parse(
            "matricola=7002000011&subject=DURC&status=aperta&status=in_carico&ambito=F24&opened_from=2026-01-01&opened_to=2026-01-31&sort=created_at&limit=50",
            false,
        )
        .unwrap();
        assert_eq!(q.filters.matricola.as_deref(), Some("7002000011"));
        assert_eq!(q.filters.subject.as_deref(), Some("durc"));
        assert_eq!(q.filters.statuses, vec!["aperta", "in_carico"]);
        assert_eq!(q.limit, 50);
        assert_eq!(q.sort, Sort { key: SortKey::CreatedAt, descending: false });
        assert_eq!(q.filters.opened_before.unwrap().to_rfc3339(), "2026-01-31T23:00:00+00:00");
    }

    #[test]
    fn refuses_unknown_repeated_and_bad_values() {
        let Err(ApiError::InvalidQuery(errs)) = parse("stato=aperta&limit=0&limit=5&opened_from=ieri&sede=7002", false)
        else {
            panic!("expected errors")
        };
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["stato", "limit", "limit", "opened_from", "sede"]);
    }

    #[test]
    fn cursors_round_trip_and_belong_to_their_sort() {
        let sort = Sort { key: SortKey::UpdatedAt, descending: true };
        let c = encode_cursor(sort, Utc::now(), "abc");
        assert!(parse(&format!("cursor={c}"), false).unwrap().cursor.is_some());
        assert!(parse(&format!("cursor={c}&sort=created_at"), false).is_err());
        assert!(parse("cursor=bogus", false).is_err());
    }
}
