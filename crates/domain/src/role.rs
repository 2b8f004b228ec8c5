//! Who a user is, and so what it may do.

use serde::{Deserialize, Serialize};
use std::fmt;

use crate::ParseError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Keeps the registry: sedi, aziende, users, deleghe, API clients.
    Admin,
    /// Monitors every sede (the seed's "Back Office Contact Center").
    Supervisore,
    /// Works the quesiti of one sede.
    Operatore,
    /// A company acting for its own matricole.
    Azienda,
    /// A payroll consultant acting for the matricole delegated to it.
    Intermediario,
}

impl Role {
    pub const ALL: [Role; 5] = [Role::Admin, Role::Supervisore, Role::Operatore, Role::Azienda, Role::Intermediario];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Supervisore => "supervisore",
            Role::Operatore => "operatore",
            Role::Azienda => "azienda",
            Role::Intermediario => "intermediario",
        }
    }

    pub fn parse(s: &str) -> Result<Self, ParseError> {
        Role::ALL.into_iter().find(|r| r.as_str() == s.trim()).ok_or_else(|| {
            ParseError("il ruolo deve essere admin, supervisore, operatore, azienda o intermediario".into())
        })
    }

    /// Users of the companies' side: they act for matricole.
    pub fn is_sender(self) -> bool {
        matches!(self, Role::Azienda | Role::Intermediario)
    }

    /// Users of the INPS side: they read quesiti.
    pub fn is_back_office(self) -> bool {
        matches!(self, Role::Admin | Role::Supervisore | Role::Operatore)
    }

    /// An operatore belongs to exactly one sede.
    pub fn needs_sede(self) -> bool {
        matches!(self, Role::Operatore)
    }

    /// Italian label for the UI and for messages.
    pub fn label(self) -> &'static str {
        match self {
            Role::Admin => "Amministratore",
            Role::Supervisore => "Supervisore",
            Role::Operatore => "Operatore di sede",
            Role::Azienda => "Azienda",
            Role::Intermediario => "Intermediario",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_role() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Ok(r));
        }
        assert!(Role::parse("root").is_err());
    }
}
