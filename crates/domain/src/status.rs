//! The status machine of a quesito: `aperta` → `in_carico` → `chiusa`, with release
//! (`in_carico` → `aperta`) and immediate closing (`aperta` → `chiusa`). Nothing leaves `chiusa`.

use serde::{Deserialize, Serialize};
use std::fmt;

use crate::ParseError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Aperta,
    InCarico,
    Chiusa,
}

/// A transition the status machine refuses; the message names both statuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("non è possibile passare dallo stato «{from}» allo stato «{to}»")]
pub struct TransitionError {
    pub from: Status,
    pub to: Status,
}

impl Status {
    pub const ALL: [Status; 3] = [Status::Aperta, Status::InCarico, Status::Chiusa];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Aperta => "aperta",
            Status::InCarico => "in_carico",
            Status::Chiusa => "chiusa",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Status::Aperta => "Aperta",
            Status::InCarico => "In carico",
            Status::Chiusa => "Chiusa",
        }
    }

    pub fn parse(s: &str) -> Result<Self, ParseError> {
        Status::ALL
            .into_iter()
            .find(|st| st.as_str() == s.trim())
            .ok_or_else(|| ParseError("lo stato deve essere aperta, in_carico o chiusa".into()))
    }

    /// Checks a transition against the machine.
    pub fn transition(self, to: Status) -> Result<Status, TransitionError> {
        use Status::*;
        match (self, to) {
            (Aperta, InCarico) | (InCarico, Aperta) | (InCarico, Chiusa) | (Aperta, Chiusa) => Ok(to),
            _ => Err(TransitionError { from: self, to }),
        }
    }

    pub fn is_closed(self) -> bool {
        self == Status::Chiusa
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The final outcome of a closed quesito.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EsitoCode {
    Evasa,
    Accolta,
    Respinta,
    NonDiCompetenza,
}

impl EsitoCode {
    pub const ALL: [EsitoCode; 4] =
        [EsitoCode::Evasa, EsitoCode::Accolta, EsitoCode::Respinta, EsitoCode::NonDiCompetenza];

    pub fn as_str(self) -> &'static str {
        match self {
            EsitoCode::Evasa => "evasa",
            EsitoCode::Accolta => "accolta",
            EsitoCode::Respinta => "respinta",
            EsitoCode::NonDiCompetenza => "non_di_competenza",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            EsitoCode::Evasa => "Evasa",
            EsitoCode::Accolta => "Accolta",
            EsitoCode::Respinta => "Respinta",
            EsitoCode::NonDiCompetenza => "Non di competenza",
        }
    }

    pub fn parse(s: &str) -> Result<Self, ParseError> {
        EsitoCode::ALL
            .into_iter()
            .find(|e| e.as_str() == s.trim())
            .ok_or_else(|| ParseError("l'esito deve essere evasa, accolta, respinta o non_di_competenza".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::Status::*;
    use super::*;

    #[test]
    fn allowed_transitions() {
        for (from, to) in [(Aperta, InCarico), (InCarico, Aperta), (InCarico, Chiusa), (Aperta, Chiusa)] {
            assert_eq!(from.transition(to), Ok(to), "{from} -> {to}");
        }
    }

    #[test]
    fn refused_transitions_name_both_statuses() {
        for (from, to) in
            [(Chiusa, Aperta), (Chiusa, InCarico), (Chiusa, Chiusa), (Aperta, Aperta), (InCarico, InCarico)]
        {
            let err = from.transition(to).unwrap_err();
            let msg = err.to_string();
            assert!(msg.contains(from.as_str()) && msg.contains(to.as_str()), "{msg}");
        }
    }

    #[test]
    fn parses_statuses_and_esiti() {
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Ok(s));
        }
        for e in EsitoCode::ALL {
            assert_eq!(EsitoCode::parse(e.as_str()), Ok(e));
        }
        assert!(Status::parse("chiuso").is_err());
    }
}
