//! The protocol stamp `INPS.<sede>.<dd/mm/yyyy>.<progressive>`: the progressive has at least 7
//! digits and counts per sede and calendar year from 1, without gaps.

use chrono::{Datelike, NaiveDate};
use std::fmt;

use crate::{ParseError, SedeCode};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Protocollo {
    pub sede: SedeCode,
    pub date: NaiveDate,
    pub progressive: u64,
}

impl Protocollo {
    pub fn new(sede: SedeCode, date: NaiveDate, progressive: u64) -> Self {
        Self { sede, date, progressive }
    }

    /// The year whose counter the progressive belongs to.
    pub fn year(&self) -> i32 {
        self.date.year()
    }

    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let bad = || ParseError("il protocollo deve avere la forma INPS.<sede>.<gg/mm/aaaa>.<progressivo>".into());
        let mut parts = s.trim().split('.');
        if parts.next() != Some("INPS") {
            return Err(bad());
        }
        let sede = SedeCode::parse(parts.next().ok_or_else(bad)?).map_err(|_| bad())?;
        let date = NaiveDate::parse_from_str(parts.next().ok_or_else(bad)?, "%d/%m/%Y").map_err(|_| bad())?;
        let prog = parts.next().ok_or_else(bad)?;
        if parts.next().is_some() || prog.len() < 7 || !prog.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let progressive = prog.parse().map_err(|_| bad())?;
        if progressive == 0 {
            return Err(bad());
        }
        Ok(Self { sede, date, progressive })
    }
}

impl fmt::Display for Protocollo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "INPS.{}.{}.{:07}", self.sede, self.date.format("%d/%m/%Y"), self.progressive)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_with_seven_digits_and_round_trips() {
        let p = Protocollo::new(SedeCode::parse("7000").unwrap(), NaiveDate::from_ymd_opt(2026, 11, 26).unwrap(), 42);
        assert_eq!(p.to_string(), "INPS.7000.26/11/2026.0000042");
        assert_eq!(Protocollo::parse(&p.to_string()), Ok(p));
    }

    #[test]
    fn grows_past_seven_digits() {
        let p =
            Protocollo::new(SedeCode::parse("7000").unwrap(), NaiveDate::from_ymd_opt(2026, 1, 2).unwrap(), 12_345_678);
        assert_eq!(p.to_string(), "INPS.7000.02/01/2026.12345678");
    }

    #[test]
    fn refuses_malformed() {
        for s in [
            "INPS.7000.26/11/2026.42",
            "X.7000.26/11/2026.0000042",
            "INPS.700.26/11/2026.0000042",
            "INPS.7000.31/02/2026.0000001",
            "INPS.7000.26/11/2026.0000000",
        ] {
            assert!(Protocollo::parse(s).is_err(), "{s}");
        }
    }
}

/// The Italian calendar day of an instant (Europe/Rome): the date of the protocol stamp and of
/// the archive's date filters.
pub fn italian_date(at: chrono::DateTime<chrono::Utc>) -> NaiveDate {
    at.with_timezone(&chrono_tz::Europe::Rome).date_naive()
}

/// The first instant of an Italian calendar day, in UTC.
pub fn italian_day_start(day: NaiveDate) -> chrono::DateTime<chrono::Utc> {
    use chrono::TimeZone;
    let midnight = day.and_hms_opt(0, 0, 0).unwrap_or_default();
    chrono_tz::Europe::Rome
        .from_local_datetime(&midnight)
        .earliest()
        .map(|t| t.with_timezone(&chrono::Utc))
        .unwrap_or_else(|| chrono::Utc.from_utc_datetime(&midnight))
}

#[cfg(test)]
mod italian_tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn late_evening_utc_is_already_tomorrow_in_rome() {
        let at = chrono::Utc.with_ymd_and_hms(2026, 12, 31, 23, 30, 0).unwrap();
        assert_eq!(italian_date(at), NaiveDate::from_ymd_opt(2027, 1, 1).unwrap());
        let start = italian_day_start(NaiveDate::from_ymd_opt(2026, 7, 1).unwrap());
        assert_eq!(start, chrono::Utc.with_ymd_and_hms(2026, 6, 30, 22, 0, 0).unwrap());
    }
}
