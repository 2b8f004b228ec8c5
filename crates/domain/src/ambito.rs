//! The ambiti (contexts of a request) and the types of their detail fields.
//!
//! The catalogue itself (codes, labels, fields) lives in the database, seeded by a migration;
//! here are the rules that every field of a given type obeys.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::ParseError;

/// The generic ambito: a request with no specific context.
pub const GENERICA: &str = "GENERICA";
/// The ambito whose subject also carries the reference period.
pub const REGOLARITA_CONTRIBUTIVA: &str = "REGOLARITA_CONTRIBUTIVA";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    /// A month, `YYYY-MM`, not in the future.
    Period,
    /// A day, `YYYY-MM-DD`, not in the future.
    Date,
    /// An amount in euro, positive, at most two decimals (`"1234.56"` or a JSON number).
    Amount,
    /// Free text, at most 200 characters.
    Text,
}

impl FieldType {
    pub fn as_str(self) -> &'static str {
        match self {
            FieldType::Period => "period",
            FieldType::Date => "date",
            FieldType::Amount => "amount",
            FieldType::Text => "text",
        }
    }

    pub fn parse(s: &str) -> Result<Self, ParseError> {
        [FieldType::Period, FieldType::Date, FieldType::Amount, FieldType::Text]
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| ParseError(format!("tipo di campo sconosciuto: {s}")))
    }
}

/// A parsed `YYYY-MM` period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Period {
    pub year: i32,
    pub month: u32,
}

impl Period {
    pub fn parse(s: &str) -> Option<Period> {
        let (y, m) = s.split_once('-')?;
        if y.len() != 4 || m.len() != 2 {
            return None;
        }
        let year: i32 = y.parse().ok()?;
        let month: u32 = m.parse().ok()?;
        ((1..=12).contains(&month) && year >= 1900).then_some(Period { year, month })
    }

    /// `MM/YYYY`, as Italian documents write a period.
    pub fn italian(&self) -> String {
        format!("{:02}/{}", self.month, self.year)
    }
}

/// Checks one value against its type, relative to `today`; returns the normalised value.
pub fn check_value(kind: FieldType, value: &serde_json::Value, today: NaiveDate) -> Result<serde_json::Value, String> {
    use serde_json::Value;
    match kind {
        FieldType::Period => {
            let s = value.as_str().ok_or("deve essere un periodo AAAA-MM")?;
            let p = Period::parse(s).ok_or("deve essere un periodo valido nel formato AAAA-MM")?;
            let now = Period { year: today.year(), month: today.month() };
            if p > now {
                return Err("il periodo non può essere nel futuro".into());
            }
            Ok(Value::String(s.to_owned()))
        }
        FieldType::Date => {
            let s = value.as_str().ok_or("deve essere una data AAAA-MM-GG")?;
            let d = NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map_err(|_| "deve essere una data valida nel formato AAAA-MM-GG")?;
            if d > today {
                return Err("la data non può essere nel futuro".into());
            }
            Ok(Value::String(d.format("%Y-%m-%d").to_string()))
        }
        FieldType::Amount => {
            let s = match value {
                Value::String(s) => s.trim().to_owned(),
                Value::Number(n) => n.to_string(),
                _ => return Err("deve essere un importo in euro".into()),
            };
            let cents = parse_cents(&s).ok_or("deve essere un importo in euro con al massimo due decimali")?;
            if cents <= 0 {
                return Err("l'importo deve essere maggiore di zero".into());
            }
            if cents > 99_999_999_999 {
                return Err("l'importo è troppo grande".into());
            }
            Ok(Value::String(format!("{}.{:02}", cents / 100, cents % 100)))
        }
        FieldType::Text => {
            let s = value.as_str().ok_or("deve essere un testo")?.trim();
            if s.is_empty() {
                return Err("non può essere vuoto".into());
            }
            if s.chars().count() > 200 {
                return Err("può avere al massimo 200 caratteri".into());
            }
            if s.chars().any(|c| c.is_control()) {
                return Err("non può contenere caratteri di controllo".into());
            }
            Ok(Value::String(s.to_owned()))
        }
    }
}

/// `"1234.5"`, `"1234,50"` → 123450 cents; `None` when not an amount with at most 2 decimals.
fn parse_cents(s: &str) -> Option<i64> {
    let s = s.replace(',', ".");
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, f),
        None => (s.as_str(), ""),
    };
    if int.is_empty()
        || frac.len() > 2
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
        || int.len() > 12
    {
        return None;
    }
    let i: i64 = int.parse().ok()?;
    let f: i64 = if frac.is_empty() { 0 } else { format!("{frac:0<2}").parse().ok()? };
    Some(i * 100 + f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 26).unwrap()
    }

    #[test]
    fn periods() {
        assert!(check_value(FieldType::Period, &json!("2026-11"), today()).is_ok());
        assert!(check_value(FieldType::Period, &json!("2026-12"), today()).is_err());
        assert!(check_value(FieldType::Period, &json!("2026-13"), today()).is_err());
        assert!(check_value(FieldType::Period, &json!("26-01"), today()).is_err());
        assert!(check_value(FieldType::Period, &json!(202601), today()).is_err());
        assert_eq!(Period::parse("2025-03").unwrap().italian(), "03/2025");
    }

    #[test]
    fn dates() {
        assert_eq!(check_value(FieldType::Date, &json!("2026-02-28"), today()), Ok(json!("2026-02-28")));
        assert!(check_value(FieldType::Date, &json!("2026-02-30"), today()).is_err());
        assert!(check_value(FieldType::Date, &json!("2026-11-27"), today()).is_err());
    }

    #[test]
    fn amounts_are_normalised() {
        assert_eq!(check_value(FieldType::Amount, &json!("1234,5"), today()), Ok(json!("1234.50")));
        assert_eq!(check_value(FieldType::Amount, &json!(12.25), today()), Ok(json!("12.25")));
        assert!(check_value(FieldType::Amount, &json!("0"), today()).is_err());
        assert!(check_value(FieldType::Amount, &json!("1.234"), today()).is_err());
        assert!(check_value(FieldType::Amount, &json!("-5"), today()).is_err());
        assert!(check_value(FieldType::Amount, &json!("abc"), today()).is_err());
    }
}
