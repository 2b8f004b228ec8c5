//! `cassetto seed-demo`: idempotent demo data on any database. The five pilot sedi of INPS
//! message 16719/2009 and some sedi not in pilot, companies, one user of every role (and more).
//! The sede codes are illustrative.

use cassetto_domain::{ids::numeric_check_digit, EsitoCode, Role, Status};
use cassetto_dto::{
    backoffice::{EsitoInput, RerouteRequest, TransitionRequest},
    registry as dto,
    requests::NewRequest,
};
use cassetto_storage::{audit::Actor, registry as store, requests as requests_store};
use serde_json::json;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::requests::{self, upload, Created};
use crate::state::AppState;
use crate::{quesiti, registry};

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
pub async fn seed_demo(state: &AppState) -> ApiResult<SeedReport> {
    let db = &state.db;
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
    report.requests = seed_requests(state).await?;
    Ok(report)
}

async fn caller(state: &AppState, username: &str) -> ApiResult<Caller> {
    let user = store::user_by_username(&state.db, username).await?.ok_or_else(ApiError::not_found)?;
    Caller::load(&state.db, user).await
}

fn demo_pdf(title: &str) -> Vec<u8> {
    format!(
        "%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n% {title}\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    )
    .into_bytes()
}

async fn send(
    state: &AppState,
    who: &Caller,
    request: serde_json::Value,
    files: Vec<(&str, Vec<u8>)>,
) -> ApiResult<String> {
    let input: NewRequest = serde_json::from_value(request).map_err(|e| ApiError::Internal(e.into()))?;
    let bundle = if files.is_empty() {
        None
    } else {
        let files = files.into_iter().map(|(n, b)| (n.to_owned(), b)).collect();
        Some(upload::bundle_from_files(files, state.blobs.temp_path()).await?)
    };
    match requests::create(state, who, input, bundle, None).await? {
        Created::New(r) => Ok(r.id),
        Created::Replayed(_) => Err(ApiError::Internal(anyhow::anyhow!("unexpected replay"))),
    }
}

fn to(status: Status, comment: &str) -> TransitionRequest {
    TransitionRequest { to: status, comment: Some(comment.into()), esito: None }
}

fn closing(code: EsitoCode, text: &str) -> TransitionRequest {
    TransitionRequest {
        to: Status::Chiusa,
        comment: Some("Quesito definito.".into()),
        esito: Some(EsitoInput { code, text: text.into() }),
    }
}

/// Requests in every status, with attachments, comments and a rerouting; only on a database
/// without requests of the demo companies.
async fn seed_requests(state: &AppState) -> ApiResult<u32> {
    let scope = requests_store::Scope::Matricole(AZIENDE.iter().map(|a| a.0.to_owned()).collect());
    let (_, existing, _) = requests_store::search(
        &state.db,
        &scope,
        &Default::default(),
        requests_store::Sort { key: requests_store::SortKey::CreatedAt, descending: true },
        None,
        1,
    )
    .await?;
    if existing > 0 {
        return Ok(0);
    }
    let rossi = caller(state, "azienda.rossi").await?;
    let studio = caller(state, "studio.verdi").await?;
    let op_roma = caller(state, "operatore.roma").await?;
    let op_cz = caller(state, "operatore.catanzaro").await?;

    let open = send(
        state,
        &rossi,
        json!({"matricola": "7002000011", "ambito": "GENERICA", "subject": "Richiesta di chiarimenti sul cassetto previdenziale",
               "body": "Buongiorno, chiediamo chiarimenti sulle comunicazioni ricevute a ottobre. Allego la documentazione.", "details": {}}),
        vec![("lettera.pdf", demo_pdf("Lettera di richiesta")), ("dipendenti.csv", b"matricola;dipendenti\n7002000011;42\n".to_vec())],
    )
    .await?;
    requests::add_comment(
        state,
        &rossi,
        &requests_store::get(&state.db, &open).await?.ok_or_else(ApiError::not_found)?,
        "Aggiungo che la questione è urgente.",
        false,
    )
    .await?;

    let in_charge = send(
        state,
        &rossi,
        json!({"matricola": "7002000011", "ambito": "REGOLARITA_CONTRIBUTIVA", "subject": "DURC risultato non regolare",
               "body": "Il DURC risulta irregolare ma i versamenti sono stati effettuati.", "details": {"period_from": "2026-01", "period_to": "2026-03"}}),
        vec![("quietanze.pdf", demo_pdf("Quietanze F24 gennaio-marzo"))],
    )
    .await?;
    quesiti::transition(
        state,
        &op_roma,
        quesiti::authorize_change(state, &op_roma, &in_charge).await?,
        to(Status::InCarico, "Presa in carico: verifichiamo i versamenti."),
        None,
    )
    .await?;
    let r = requests_store::get(&state.db, &in_charge).await?.ok_or_else(ApiError::not_found)?;
    requests::add_comment(state, &op_roma, &r, "Verificare l'abbinamento dei versamenti di febbraio.", true).await?;
    let r = requests_store::get(&state.db, &in_charge).await?.ok_or_else(ApiError::not_found)?;
    requests::add_comment(state, &op_roma, &r, "Stiamo verificando i versamenti: vi aggiorneremo a breve.", false)
        .await?;

    let closed = send(
        state,
        &studio,
        json!({"matricola": "2300000011", "ambito": "DM_TRASMESSI", "subject": "DM10 di febbraio non acquisito",
               "body": "Il DM10 trasmesso per febbraio non risulta nel cassetto.", "details": {"period": "2026-02"}}),
        vec![("ricevuta.pdf", demo_pdf("Ricevuta di trasmissione"))],
    )
    .await?;
    quesiti::transition(
        state,
        &op_cz,
        quesiti::authorize_change(state, &op_cz, &closed).await?,
        to(Status::InCarico, "In lavorazione."),
        None,
    )
    .await?;
    quesiti::transition(
        state,
        &op_cz,
        quesiti::authorize_change(state, &op_cz, &closed).await?,
        closing(EsitoCode::Accolta, "Il DM10 è stato acquisito d'ufficio: la posizione è aggiornata."),
        None,
    )
    .await?;

    let refused = send(
        state,
        &rossi,
        json!({"matricola": "7002000011", "ambito": "UNIEMENS", "subject": "Rettifica denuncia di gennaio",
               "body": "Chiediamo la rettifica della denuncia UniEmens di gennaio.", "details": {"period": "2026-01"}}),
        vec![],
    )
    .await?;
    quesiti::transition(
        state,
        &op_roma,
        quesiti::authorize_change(state, &op_roma, &refused).await?,
        closing(EsitoCode::Respinta, "La rettifica va trasmessa con una nuova denuncia UniEmens."),
        None,
    )
    .await?;

    send(
        state,
        &studio,
        json!({"matricola": "1100000011", "ambito": "F24", "subject": "Versamento F24 non abbinato",
               "body": "Il versamento del 16 febbraio non risulta abbinato alla matricola.", "details": {"payment_date": "2026-02-16", "amount": "1520.40"}}),
        vec![("f24.pdf", demo_pdf("Modello F24 quietanzato"))],
    )
    .await?;

    let rerouted = send(
        state,
        &studio,
        json!({"matricola": "7002000022", "ambito": "CIG", "subject": "Pagamento diretto CIGO di marzo",
               "body": "Chiediamo lo stato del pagamento diretto.", "details": {"period": "2026-03", "numero_autorizzazione": "2026/123456"}}),
        vec![],
    )
    .await?;
    quesiti::reroute(
        state,
        &op_roma,
        quesiti::authorize_change(state, &op_roma, &rerouted).await?,
        RerouteRequest {
            sede: "2303".into(),
            comment: "L'unità produttiva è di competenza della sede di Lamezia Terme.".into(),
        },
        None,
    )
    .await?;
    Ok(6)
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SeedReport {
    pub sedi: u32,
    pub aziende: u32,
    pub users: u32,
    pub requests: u32,
}
