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
