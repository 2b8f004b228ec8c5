//! Validated identifiers of the INPS registry.

use std::fmt;

/// Why a value could not be parsed; the message is Italian, ready for the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

macro_rules! string_newtype {
    ($name:ident) => {
        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
            pub fn into_inner(self) -> String {
                self.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
        impl std::str::FromStr for $name {
            type Err = ParseError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }
    };
}

fn all_digits(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_digit())
}

/// The INPS position of a company with employees: exactly 10 digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Matricola(String);
string_newtype!(Matricola);

impl Matricola {
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let s = s.trim();
        if all_digits(s, 10) {
            Ok(Self(s.to_owned()))
        } else {
            Err(ParseError(format!("la matricola deve essere di 10 cifre (ricevuto «{}»)", crate::ids::shorten(s))))
        }
    }
}

/// The code of an INPS office: exactly 4 digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SedeCode(String);
string_newtype!(SedeCode);

impl SedeCode {
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let s = s.trim();
        if all_digits(s, 4) {
            Ok(Self(s.to_owned()))
        } else {
            Err(ParseError(format!("il codice sede deve essere di 4 cifre (ricevuto «{}»)", shorten(s))))
        }
    }
}

/// The codice fiscale of a company: 11 digits with the check digit of the partita IVA
/// algorithm, or the 16-character personal code (sole traders), upper-cased.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CodiceFiscale(String);
string_newtype!(CodiceFiscale);

impl CodiceFiscale {
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let s = s.trim().to_ascii_uppercase();
        if all_digits(&s, 11) {
            if numeric_check_digit_ok(&s) {
                return Ok(Self(s));
            }
            return Err(ParseError("il codice fiscale numerico ha la cifra di controllo errata".into()));
        }
        if s.len() == 16 && personal_shape_ok(&s) {
            if personal_check_char(&s[..15]) == s.as_bytes()[15] {
                return Ok(Self(s));
            }
            return Err(ParseError("il codice fiscale ha il carattere di controllo errato".into()));
        }
        Err(ParseError("il codice fiscale deve avere 11 cifre o 16 caratteri alfanumerici".into()))
    }
}

/// Check digit of an 11-digit numeric codice fiscale (partita IVA rule).
fn numeric_check_digit_ok(s: &str) -> bool {
    let d: Vec<u32> = s.bytes().map(|b| u32::from(b - b'0')).collect();
    let mut sum = 0;
    for (i, v) in d[..10].iter().enumerate() {
        if i % 2 == 0 {
            sum += v;
        } else {
            let x = v * 2;
            sum += if x > 9 { x - 9 } else { x };
        }
    }
    (10 - sum % 10) % 10 == d[10]
}

/// Computes the check digit for the first 10 digits of a numeric codice fiscale.
pub fn numeric_check_digit(first10: &str) -> Option<char> {
    if !all_digits(first10, 10) {
        return None;
    }
    (0..10u8)
        .map(|c| format!("{first10}{c}"))
        .find(|cand| numeric_check_digit_ok(cand))
        .and_then(|cand| cand.chars().last())
}

fn personal_shape_ok(s: &str) -> bool {
    // LLLLLL NN L NN L NNN L, where digits may be replaced by omocodia letters.
    let b = s.as_bytes();
    let letter = |i: usize| b[i].is_ascii_uppercase();
    let digitish = |i: usize| b[i].is_ascii_digit() || b"LMNPQRSTUV".contains(&b[i]);
    (0..6).all(letter)
        && digitish(6)
        && digitish(7)
        && letter(8)
        && digitish(9)
        && digitish(10)
        && letter(11)
        && (12..15).all(digitish)
        && letter(15)
}

/// The control character of a 16-character codice fiscale, from its first 15 characters.
pub fn personal_check_char(first15: &str) -> u8 {
    const ODD: [u32; 26] =
        [1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23];
    let mut sum = 0u32;
    for (i, c) in first15.bytes().enumerate() {
        let idx = if c.is_ascii_digit() { u32::from(c - b'0') } else { u32::from(c.saturating_sub(b'A')) } as usize;
        // Positions are 1-based in the rule: odd positions use the ODD table.
        if i % 2 == 0 {
            sum += ODD.get(idx).copied().unwrap_or(0);
        } else {
            sum += idx as u32;
        }
    }
    b'A' + (sum % 26) as u8
}

/// A sign-in name: 3 to 64 characters among letters, digits, `.`, `_`, `-`, `@`; stored lower-case.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Username(String);
string_newtype!(Username);

impl Username {
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let s = s.trim().to_lowercase();
        let ok = (3..=64).contains(&s.chars().count())
            && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
        if ok {
            Ok(Self(s))
        } else {
            Err(ParseError(
                "il nome utente deve avere da 3 a 64 caratteri tra lettere, cifre, '.', '_', '-', '@'".into(),
            ))
        }
    }
}

/// Keeps user input quoted in messages short.
pub(crate) fn shorten(s: &str) -> String {
    let mut out: String = s.chars().take(20).filter(|c| !c.is_control()).collect();
    if s.chars().count() > 20 {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matricola_needs_ten_digits() {
        assert!(Matricola::parse("1234567890").is_ok());
        assert!(Matricola::parse(" 1234567890 ").is_ok());
        assert!(Matricola::parse("123456789").is_err());
        assert!(Matricola::parse("12345678901").is_err());
        assert!(Matricola::parse("12345678a0").is_err());
    }

    #[test]
    fn sede_needs_four_digits() {
        assert_eq!(SedeCode::parse("7000").map(|s| s.to_string()), Ok("7000".into()));
        assert!(SedeCode::parse("700").is_err());
        assert!(SedeCode::parse("70a0").is_err());
    }

    #[test]
    fn numeric_codice_fiscale_check_digit() {
        // 00484960588 is a well-known valid numeric codice fiscale (the check digit is 8).
        assert!(CodiceFiscale::parse("00484960588").is_ok());
        assert!(CodiceFiscale::parse("00484960587").is_err());
        assert_eq!(numeric_check_digit("0048496058"), Some('8'));
    }

    #[test]
    fn personal_codice_fiscale_check_char() {
        // RSSMRA85T10A562S is the textbook example of the algorithm.
        assert!(CodiceFiscale::parse("rssmra85t10a562s").is_ok());
        assert!(CodiceFiscale::parse("RSSMRA85T10A562T").is_err());
        assert!(CodiceFiscale::parse("RSSMRA85T10A56").is_err());
    }

    #[test]
    fn username_is_lowercased_and_limited() {
        assert_eq!(Username::parse("Mario.Rossi").map(|u| u.into_inner()), Ok("mario.rossi".into()));
        assert!(Username::parse("ab").is_err());
        assert!(Username::parse("bad name").is_err());
    }
}

/// A mobile number in E.164 form (`+393331234567`). Italian numbers may be written without the
/// prefix (`333 123 4567`) or with `0039`; spaces, dots, dashes and brackets are ignored.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Mobile(String);
string_newtype!(Mobile);

impl Mobile {
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let bad = || ParseError("il numero di cellulare non è valido (esempio: +39 333 1234567)".into());
        let compact: String = s.chars().filter(|c| !matches!(c, ' ' | '.' | '-' | '(' | ')' | '/')).collect();
        let intl = if let Some(rest) = compact.strip_prefix('+') {
            rest.to_owned()
        } else if let Some(rest) = compact.strip_prefix("00") {
            rest.to_owned()
        } else if compact.starts_with('3') {
            format!("39{compact}")
        } else {
            return Err(bad());
        };
        if !intl.bytes().all(|b| b.is_ascii_digit()) || !(8..=15).contains(&intl.len()) {
            return Err(bad());
        }
        if let Some(national) = intl.strip_prefix("39") {
            // Italian mobiles start with 3 and have 9 or 10 digits.
            if !national.starts_with('3') || !(9..=10).contains(&national.len()) {
                return Err(bad());
            }
        }
        Ok(Self(format!("+{intl}")))
    }

    /// `+39333*****67`: enough to recognise, not to reuse.
    pub fn masked(&self) -> String {
        mask_middle(&self.0, 6, 2)
    }
}

/// Masks the middle of a value, keeping `head` and `tail` characters.
pub fn mask_middle(s: &str, head: usize, tail: usize) -> String {
    let chars: Vec<char> = s.chars().collect();
    if chars.len() <= head + tail {
        return "*".repeat(chars.len());
    }
    let mut out: String = chars[..head].iter().collect();
    out.push_str(&"*".repeat(chars.len() - head - tail));
    out.extend(&chars[chars.len() - tail..]);
    out
}

/// `m***@example.it`.
pub fn mask_email(s: &str) -> String {
    match s.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => mask_middle(s, 1, 0),
    }
}

#[cfg(test)]
mod mobile_tests {
    use super::*;

    #[test]
    fn normalises_italian_mobiles() {
        for s in ["333 123 4567", "+39 333 1234567", "0039-333-1234567", "(333) 123.4567"] {
            assert_eq!(Mobile::parse(s).map(|m| m.into_inner()), Ok("+393331234567".into()), "{s}");
        }
        assert!(Mobile::parse("06 1234567").is_err());
        assert!(Mobile::parse("+39 06 1234567").is_err());
        assert!(Mobile::parse("+44 7700 900123").is_ok());
        assert!(Mobile::parse("abc").is_err());
    }

    #[test]
    fn masks() {
        assert_eq!(Mobile::parse("3331234567").unwrap().masked(), "+39333*****67");
        assert_eq!(mask_email("mario.rossi@example.it"), "m***@example.it");
    }
}
