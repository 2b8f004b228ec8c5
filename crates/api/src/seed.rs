//! `cassetto seed-demo`: idempotent demo data on any database. The five pilot sedi of INPS
//! message 16719/2009 and some sedi not in pilot, companies, one user of every role (and more).
//! The sede codes are illustrative.

use cassetto_domain::{ids::numeric_check_digit, Role};
use cassetto_dto::registry as dto;
use cassetto_storage::{audit::Actor, registry as store, DatabaseConnection};

use crate::error::{ApiError, ApiResult};
use crate::registry;

/// The password of every demo user (documented in README).
pub const DEMO_PASSWORD: &str = "Cassetto2026!";

pub const SEDI: &[(&str, &str, bool)] = &[
    ("7002", "Roma Tiburtino", true),
    ("2300", "Catanzaro", true),
    ("2303", "Lamezia Terme", true),
    ("1100", "Cagliari", true),
    ("0100", "Aosta", true),
    ("4900", "Milano Nord", false),
    ("5100", "Napoli", false),
];

/// (matricola, first 10 digits of the codice fiscale, ragione sociale, sede)
pub const AZIENDE: &[(&str, &str, &str, &str)] = &[
    ("7002000011", "0123456789", "Rossi Costruzioni S.r.l.", "7002"),
    ("7002000022", "0234567890", "Tiburtina Servizi S.p.A.", "7002"),
    ("2300000011", "0345678901", "Calabria Agrumi Soc. Coop.", "2300"),
    ("2303000011", "0456789012", "Lamezia Logistica S.r.l.", "2303"),
    ("1100000011", "0567890123", "Sardegna Turismo S.r.l.", "1100"),
    ("0100000011", "0678901234", "Valle d'Aosta Impianti S.r.l.", "0100"),
    ("4900000011", "0789012345", "Milano Meccanica S.p.A.", "4900"),
    ("5100000011", "0890123456", "Napoli Alimentari S.r.l.", "5100"),
];

struct DemoUser {
    username: &'static str,
    role: Role,
    display_name: &'static str,
    sede: Option<&'static str>,
    matricole: &'static [&'static str],
    email: &'static str,
    mobile: Option<&'static str>,
}

const USERS: &[DemoUser] = &[
    DemoUser {
        username: "admin",
        role: Role::Admin,
        display_name: "Amministratore Cassetto",
        sede: None,
        matricole: &[],
        email: "admin@inps.example",
        mobile: None,
    },
    DemoUser {
        username: "supervisore",
        role: Role::Supervisore,
        display_name: "Giulia Conti (Contact Center)",
        sede: None,
        matricole: &[],
        email: "supervisore@inps.example",
        mobile: None,
    },
    DemoUser {
        username: "operatore.roma",
        role: Role::Operatore,
        display_name: "Marco Bianchi",
        sede: Some("7002"),
        matricole: &[],
        email: "operatore.roma@inps.example",
        mobile: None,
    },
    DemoUser {
        username: "operatore.catanzaro",
        role: Role::Operatore,
        display_name: "Anna Ferraro",
        sede: Some("2300"),
        matricole: &[],
        email: "operatore.catanzaro@inps.example",
        mobile: None,
    },
    DemoUser {
        username: "operatore.cagliari",
        role: Role::Operatore,
        display_name: "Paolo Melis",
        sede: Some("1100"),
        matricole: &[],
        email: "operatore.cagliari@inps.example",
        mobile: None,
    },
    DemoUser {
        username: "azienda.rossi",
        role: Role::Azienda,
        display_name: "Rossi Costruzioni S.r.l.",
        sede: None,
        matricole: &["7002000011"],
        email: "amministrazione@rossi.example",
        mobile: Some("+393331234567"),
    },
    DemoUser {
        username: "azienda.napoli",
        role: Role::Azienda,
        display_name: "Napoli Alimentari S.r.l.",
        sede: None,
        matricole: &["5100000011"],
        email: "paghe@napolialimentari.example",
        mobile: None,
    },
    DemoUser {
        username: "studio.verdi",
        role: Role::Intermediario,
        display_name: "Studio Verdi — Consulenti del lavoro",
        sede: None,
        matricole: &["7002000022", "2300000011", "2303000011", "1100000011"],
        email: "paghe@studioverdi.example",
        mobile: Some("+393471234567"),
    },
];

/// Creates what is missing; running it again changes nothing.
pub async fn seed_demo(db: &DatabaseConnection) -> ApiResult<SeedReport> {
    let actor = Actor::system();
    let mut report = SeedReport::default();
    for (code, name, pilot) in SEDI {
        if store::get_sede(db, code).await?.is_none() {
            registry::create_sede(db, &actor, dto::Sede { code: (*code).into(), name: (*name).into(), pilot: *pilot })
                .await?;
            report.sedi += 1;
        }
    }
    for (matricola, cf10, name, sede) in AZIENDE {
        if store::get_azienda(db, matricola).await?.is_none() {
            let check = numeric_check_digit(cf10).ok_or_else(|| ApiError::Internal(anyhow::anyhow!("bad demo cf")))?;
            registry::create_azienda(
                db,
                &actor,
                dto::Azienda {
                    matricola: (*matricola).into(),
                    codice_fiscale: format!("{cf10}{check}"),
                    ragione_sociale: (*name).into(),
                    sede: (*sede).into(),
                    email: Some(format!("info@{matricola}.example")),
                    pec: Some(format!("{matricola}@pec.example")),
                    mobile: None,
                },
            )
            .await?;
            report.aziende += 1;
        }
    }
    for u in USERS {
        if store::user_by_username(db, u.username).await?.is_none() {
            registry::create_user(
                db,
                &actor,
                dto::NewUser {
                    username: u.username.into(),
                    password: DEMO_PASSWORD.into(),
                    role: u.role,
                    display_name: u.display_name.into(),
                    email: Some(u.email.into()),
                    mobile: u.mobile.map(Into::into),
                    sede: u.sede.map(Into::into),
                    matricole: u.matricole.iter().map(|m| (*m).to_owned()).collect(),
                },
            )
            .await?;
            report.users += 1;
        }
    }
    Ok(report)
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SeedReport {
    pub sedi: u32,
    pub aziende: u32,
    pub users: u32,
}
