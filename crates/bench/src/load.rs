//! The data set: sedi, aziende, users and a history of requests with their status changes and
//! comments, inserted in large multi-row statements through the same driver the server uses.

use std::collections::HashMap;
use std::time::Instant;

use anyhow::Context;
use chrono::{DateTime, Datelike, Duration, Utc};
use rand::{rngs::StdRng, Rng, SeedableRng};
use sea_orm::{
    ActiveValue::NotSet, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, TransactionTrait,
};

use cassetto_domain::italian_date;
use cassetto_storage::entities::{azienda, comment, delega, protocol_counter, request, request_history, sede, user};

/// The password of every bench user.
pub const PASSWORD: &str = "Bench-2026-password";

pub const AMBITI: [(&str, &str); 7] = [
    ("GENERICA", "Richiesta generica"),
    ("REGOLARITA_CONTRIBUTIVA", "Regolarità contributiva"),
    ("DM_TRASMESSI", "DM trasmessi"),
    ("UNIEMENS", "Denunce UniEmens"),
    ("NOTE_RETTIFICA", "Note di rettifica"),
    ("ANAGRAFICA", "Dati anagrafici dell'azienda"),
    ("CIG", "Cassa integrazione guadagni"),
];

/// Words of the subjects: a search for one of them matches a few percent of the archive.
pub const TOPICS: [&str; 40] = [
    "verifica versamenti",
    "DURC non regolare",
    "sgravio contributivo",
    "rettifica denuncia",
    "variazione sede legale",
    "richiesta rimborso",
    "compensazione F24",
    "cessazione attività",
    "riattivazione matricola",
    "posizione debitoria",
    "rateizzazione",
    "avviso di addebito",
    "flusso UniEmens scartato",
    "conguaglio",
    "malattia",
    "maternità",
    "assegno unico",
    "cassa integrazione",
    "fondo di integrazione salariale",
    "esonero contributivo",
    "decontribuzione sud",
    "apprendistato",
    "trasformazione contratto",
    "codice autorizzazione",
    "inquadramento",
    "aliquota",
    "sanzioni civili",
    "interessi di mora",
    "delega intermediario",
    "certificazione",
    "estratto conto",
    "nota di rettifica",
    "ricorso amministrativo",
    "accredito",
    "somme a credito",
    "denuncia individuale",
    "premi di produttività",
    "TFR fondo tesoreria",
    "incentivo occupazione",
    "variazione anagrafica",
];

pub struct Sizes {
    pub requests: usize,
    pub matricole: usize,
    pub sedi: usize,
    /// Deleghe of the benchmark's intermediario.
    pub studio_deleghe: usize,
}

/// Who the benchmark signs in as, and what it may search for.
#[derive(Clone)]
pub struct Dataset {
    pub sedi: Vec<String>,
    pub matricole: Vec<String>,
    /// The sede of the operatore that works the bench's transitions and queue.
    pub op_sede: String,
    pub azienda_matricola: String,
    pub studio_matricole: Vec<String>,
    /// Reference numbers of some loaded requests (each appears in exactly one subject).
    pub refs: Vec<String>,
    pub protocolli: Vec<String>,
    /// The requests the database held before this run: more than were loaded once earlier
    /// `--reuse` runs of the sending measures added theirs.
    pub held: u64,
}

pub fn sede_code(i: usize) -> String {
    format!("{:04}", 1000 + i)
}

fn matricola(i: usize) -> String {
    format!("{:010}", 1_000_000_000u64 + i as u64 * 7)
}

/// Builds the data set deterministically; loads it unless `requests` already holds it.
pub async fn load(db: &DatabaseConnection, sizes: &Sizes) -> anyhow::Result<(Dataset, Option<f64>)> {
    let sedi: Vec<String> = (0..sizes.sedi).map(sede_code).collect();
    let matricole: Vec<String> = (0..sizes.matricole).map(matricola).collect();
    let op_sede = sedi[0].clone();
    // The azienda and the studio hold matricole of the operatore's sede and of others.
    let azienda_matricola = matricole[0].clone();
    let step = (sizes.matricole / sizes.studio_deleghe.max(1)).max(1);
    let studio_matricole: Vec<String> =
        (0..sizes.studio_deleghe).map(|i| matricole[(1 + i * step) % matricole.len()].clone()).collect();

    let existing = request::Entity::find().count(db).await?;
    let started = Instant::now();
    let loaded = if existing as usize >= sizes.requests {
        eprintln!("  data set already loaded ({existing} requests): skipping the load");
        false
    } else {
        anyhow::ensure!(existing == 0, "the bench database holds {existing} requests: use a fresh one");
        load_registry(db, sizes, &sedi, &matricole, &azienda_matricola, &studio_matricole).await?;
        load_requests(db, sizes, &sedi, &matricole, &azienda_matricola, &studio_matricole).await?;
        true
    };
    let load_s = loaded.then(|| started.elapsed().as_secs_f64());
    let held = if loaded { sizes.requests as u64 } else { existing };
    // Reference numbers and protocolli for the search cases, read back from the data.
    let mut refs = Vec::new();
    let mut protocolli = Vec::new();
    let rows = db
        .query_all_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT subject, protocollo FROM requests ORDER BY id LIMIT 400".to_owned(),
        ))
        .await?;
    for r in rows {
        let subject: String = r.try_get("", "subject")?;
        if let Some(rf) = subject.rsplit("rif. ").next().filter(|s| s.len() == 6) {
            refs.push(rf.to_owned());
        }
        protocolli.push(r.try_get::<String>("", "protocollo")?);
    }
    Ok((Dataset { sedi, matricole, op_sede, azienda_matricola, studio_matricole, refs, protocolli, held }, load_s))
}

pub struct UserIds {
    pub azienda: i32,
    pub studio: i32,
    pub other_sender: i32,
    /// One operatore per sede, by sede code.
    pub operatori: HashMap<String, i32>,
}

pub fn operatore_name(sede: &str) -> String {
    format!("bench.operatore.{sede}")
}

async fn load_registry(
    db: &DatabaseConnection,
    sizes: &Sizes,
    sedi: &[String],
    matricole: &[String],
    azienda_matricola: &str,
    studio_matricole: &[String],
) -> anyhow::Result<()> {
    let t = Instant::now();
    let now = Utc::now();
    let hash = cassetto_api::auth::hash_password(PASSWORD.to_owned())
        .await
        .map_err(|e| anyhow::anyhow!("hashing the bench password: {e:?}"))?;
    let txn = db.begin().await?;
    sede::Entity::insert_many(sedi.iter().enumerate().map(|(i, code)| {
        sede::ActiveModel::from(sede::Model {
            code: code.clone(),
            name: format!("Sede di prova {}", i + 1),
            pilot: true,
            created_at: now,
            updated_at: now,
        })
    }))
    .exec_without_returning(&txn)
    .await?;
    for chunk in matricole.chunks(2000) {
        azienda::Entity::insert_many(chunk.iter().map(|m| {
            let i: usize = m.parse::<u64>().map(|n| ((n - 1_000_000_000) / 7) as usize).unwrap_or(0);
            azienda::ActiveModel::from(azienda::Model {
                matricola: m.clone(),
                codice_fiscale: format!("{:011}", 10_000_000_000u64 + i as u64),
                ragione_sociale: format!("Azienda di prova {i} S.r.l."),
                sede_code: sedi[i % sedi.len()].clone(),
                email: Some(format!("azienda{i}@example.invalid")),
                pec: None,
                mobile: None,
                created_at: now,
                updated_at: now,
            })
        }))
        .exec_without_returning(&txn)
        .await?;
    }
    let mut users = vec![
        ("bench.admin", "admin", None, "Amministratore di prova"),
        ("bench.supervisore", "supervisore", None, "Supervisore di prova"),
        ("bench.azienda", "azienda", None, "Azienda di prova"),
        ("bench.studio", "intermediario", None, "Studio di prova"),
        ("bench.mittente", "azienda", None, "Mittente di prova"),
    ];
    let op_names: Vec<(String, String)> = sedi.iter().map(|s| (operatore_name(s), s.clone())).collect();
    for (name, s) in &op_names {
        users.push((name.as_str(), "operatore", Some(s.as_str()), "Operatore di prova"));
    }
    user::Entity::insert_many(users.iter().map(|(name, role, sede, display)| user::ActiveModel {
        id: NotSet,
        username: sea_orm::Set((*name).to_owned()),
        password_hash: sea_orm::Set(hash.clone()),
        role: sea_orm::Set((*role).to_owned()),
        display_name: sea_orm::Set((*display).to_owned()),
        sede_code: sea_orm::Set(sede.map(str::to_owned)),
        email: sea_orm::Set(Some(format!("{name}@example.invalid"))),
        mobile: sea_orm::Set(Some("+393331234567".to_owned())),
        email_enabled: sea_orm::Set(true),
        sms_enabled: sea_orm::Set(true),
        active: sea_orm::Set(true),
        created_at: sea_orm::Set(now),
        updated_at: sea_orm::Set(now),
    }))
    .exec_without_returning(&txn)
    .await?;
    let ids = user_ids(&txn).await?;
    let mut deleghe = vec![(ids.azienda, azienda_matricola.to_owned())];
    deleghe.extend(studio_matricole.iter().map(|m| (ids.studio, m.clone())));
    for chunk in deleghe.chunks(2000) {
        delega::Entity::insert_many(chunk.iter().map(|(u, m)| {
            delega::ActiveModel::from(delega::Model { user_id: *u, matricola: m.clone(), created_at: now })
        }))
        .exec_without_returning(&txn)
        .await?;
    }
    txn.commit().await?;
    eprintln!(
        "  registry: {} sedi, {} aziende, {} users in {:.1} s",
        sizes.sedi,
        matricole.len(),
        users.len(),
        t.elapsed().as_secs_f64()
    );
    Ok(())
}

pub async fn user_ids(db: &impl ConnectionTrait) -> anyhow::Result<UserIds> {
    let all = user::Entity::find().all(db).await?;
    let id = |n: &str| all.iter().find(|u| u.username == n).map(|u| u.id).with_context(|| format!("no user {n}"));
    Ok(UserIds {
        azienda: id("bench.azienda")?,
        studio: id("bench.studio")?,
        other_sender: id("bench.mittente")?,
        operatori: all
            .iter()
            .filter(|u| u.role == "operatore")
            .filter_map(|u| u.sede_code.clone().map(|s| (s, u.id)))
            .collect(),
    })
}

struct Planned {
    created: DateTime<Utc>,
    matricola: usize,
}

async fn load_requests(
    db: &DatabaseConnection,
    sizes: &Sizes,
    sedi: &[String],
    matricole: &[String],
    azienda_matricola: &str,
    studio_matricole: &[String],
) -> anyhow::Result<()> {
    let t = Instant::now();
    let ids = user_ids(db).await?;
    let studio: std::collections::HashSet<&str> = studio_matricole.iter().map(String::as_str).collect();
    let mut rng = StdRng::seed_from_u64(2026);
    let now = Utc::now();
    let span_s = 3 * 365 * 86_400i64;
    let mut plan: Vec<Planned> = (0..sizes.requests)
        .map(|_| Planned {
            created: now - Duration::seconds(rng.random_range(3_600..span_s)),
            matricola: rng.random_range(0..matricole.len()),
        })
        .collect();
    plan.sort_by_key(|p| p.created);
    let mut counters: HashMap<(String, i32), i64> = HashMap::new();
    let (mut n_hist, mut n_comm) = (0usize, 0usize);
    for (chunk_no, chunk) in plan.chunks(20_000).enumerate() {
        let mut reqs = Vec::with_capacity(chunk.len());
        let mut hist = Vec::with_capacity(chunk.len() * 3);
        let mut comms = Vec::new();
        for p in chunk {
            let m = &matricole[p.matricola];
            let sede = &sedi[p.matricola % sedi.len()];
            let day = italian_date(p.created);
            let seq = counters.entry((sede.clone(), day.year())).or_insert(0);
            *seq += 1;
            let protocollo = format!("INPS.{sede}.{}.{:07}", day.format("%d/%m/%Y"), seq);
            let ts = uuid::Timestamp::from_unix(
                uuid::NoContext,
                p.created.timestamp() as u64,
                p.created.timestamp_subsec_nanos(),
            );
            let id = uuid::Uuid::new_v7(ts).to_string();
            let (code, label) = AMBITI[rng.random_range(0..AMBITI.len())];
            let topic = TOPICS[rng.random_range(0..TOPICS.len())];
            let subject = format!("{label}: {topic} rif. {:06}", rng.random_range(100_000..1_000_000));
            let sender = if m == azienda_matricola {
                ids.azienda
            } else if studio.contains(m.as_str()) {
                ids.studio
            } else {
                ids.other_sender
            };
            let op = ids.operatori.get(sede).copied();
            let age_days = (now - p.created).num_days();
            let roll: f64 = rng.random();
            // Old requests are mostly closed; recent ones still open or in charge.
            let status = if age_days > 60 {
                if roll < 0.93 {
                    "chiusa"
                } else if roll < 0.97 {
                    "in_carico"
                } else {
                    "aperta"
                }
            } else if roll < 0.35 {
                "aperta"
            } else if roll < 0.7 {
                "in_carico"
            } else {
                "chiusa"
            };
            let cap = |t: DateTime<Utc>| t.min(now);
            let taken =
                (status != "aperta").then(|| cap(p.created + Duration::seconds(rng.random_range(600..5 * 86_400))));
            let closed = (status == "chiusa")
                .then(|| cap(taken.unwrap_or(p.created) + Duration::seconds(rng.random_range(600..20 * 86_400))));
            let updated = closed.or(taken).unwrap_or(p.created);
            let esito = (status == "chiusa").then(|| {
                let c = ["evasa", "accolta", "respinta", "non_di_competenza"][rng.random_range(0..4)];
                (c.to_owned(), "Verificata la posizione, la richiesta è stata lavorata.".to_owned())
            });
            hist.push(history(&id, None, "aperta", p.created, Some(sender), "azienda", "Mittente di prova", None));
            if let Some(tk) = taken {
                hist.push(history(&id, Some("aperta"), "in_carico", tk, op, "operatore", "Operatore di prova", None));
            }
            if let Some(cl) = closed {
                let note = Some("Richiesta lavorata e chiusa.".to_owned());
                hist.push(history(&id, Some("in_carico"), "chiusa", cl, op, "operatore", "Operatore di prova", note));
            }
            if let Some(tk) = taken {
                if rng.random::<f64>() < 0.4 {
                    comms.push(comment_row(
                        &id,
                        false,
                        op,
                        tk + Duration::seconds(60),
                        "Stiamo verificando la posizione.",
                    ));
                }
                if rng.random::<f64>() < 0.2 {
                    comms.push(comment_row(
                        &id,
                        true,
                        op,
                        tk + Duration::seconds(120),
                        "Nota interna: controllare F24.",
                    ));
                }
            }
            let version = 1 + taken.is_some() as i32 + closed.is_some() as i32;
            reqs.push(request::ActiveModel::from(request::Model {
                id,
                protocollo,
                sede_code: sede.clone(),
                matricola: m.clone(),
                ambito_code: code.to_owned(),
                subject_search: subject.to_lowercase(),
                subject,
                body: "Con la presente si chiede di verificare la posizione contributiva dell'azienda per il \
                       periodo indicato e di comunicare l'esito della verifica."
                    .to_owned(),
                details: "{}".to_owned(),
                status: status.to_owned(),
                esito_code: esito.as_ref().map(|e| e.0.clone()),
                esito_text: esito.map(|e| e.1),
                created_by: sender,
                assigned_to: if status == "aperta" { None } else { op },
                version,
                attachment_count: 0,
                bundle_sha256: None,
                bundle_size: None,
                created_at: p.created,
                updated_at: updated,
                taken_at: taken,
                closed_at: closed,
            }));
        }
        n_hist += hist.len();
        n_comm += comms.len();
        let txn = db.begin().await?;
        for c in reqs.chunks(1000) {
            request::Entity::insert_many(c.to_vec()).exec_without_returning(&txn).await?;
        }
        for c in hist.chunks(2000) {
            request_history::Entity::insert_many(c.to_vec()).exec_without_returning(&txn).await?;
        }
        for c in comms.chunks(2000) {
            comment::Entity::insert_many(c.to_vec()).exec_without_returning(&txn).await?;
        }
        txn.commit().await?;
        if chunk_no % 10 == 9 {
            eprintln!("  … {} requests ({:.0} s)", (chunk_no + 1) * 20_000, t.elapsed().as_secs_f64());
        }
    }
    protocol_counter::Entity::insert_many(counters.into_iter().map(|((s, y), v)| {
        protocol_counter::ActiveModel::from(protocol_counter::Model { sede_code: s, year: y, last_value: v })
    }))
    .exec_without_returning(db)
    .await?;
    // The loaded requests' subjects go into their index now (PostgreSQL: the word counts,
    // migration 10; SQLite: the trigram table, migration 11), as `cassetto serve` would move
    // them in its first seconds, so that the measures do not share the cores with that. No
    // send waits here: batches of 50,000 instead of the server's 1,000.
    let counted = cassetto_storage::subject_words::absorb_all_in(db, 50_000).await?;
    if counted > 0 {
        eprintln!("  subjects of {counted} requests indexed ({:.1} s)", t.elapsed().as_secs_f64());
    }
    // The step OPERATIONS.md asks for after a bulk import (`cassetto compact-index`): the
    // trigram table in one segment instead of the batches' sixteen.
    let (from, to) = cassetto_storage::subject_words::compact(db).await?;
    if from > 0 {
        eprintln!("  trigram table: {from} segments -> {to} ({:.1} s)", t.elapsed().as_secs_f64());
    }
    let analyze = if cassetto_storage::is_postgres(db) { "VACUUM ANALYZE" } else { "ANALYZE" };
    db.execute_unprepared(analyze).await?;
    eprintln!(
        "  requests: {} with {n_hist} history entries and {n_comm} comments in {:.1} s",
        sizes.requests,
        t.elapsed().as_secs_f64()
    );
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn history(
    id: &str,
    from: Option<&str>,
    to: &str,
    at: DateTime<Utc>,
    actor: Option<i32>,
    role: &str,
    name: &str,
    comment: Option<String>,
) -> request_history::ActiveModel {
    let mut am = request_history::ActiveModel::from(request_history::Model {
        id: 0,
        request_id: id.to_owned(),
        from_status: from.map(str::to_owned),
        to_status: to.to_owned(),
        from_sede: None,
        to_sede: None,
        at,
        actor_user_id: actor,
        actor_role: role.to_owned(),
        actor_display_name: name.to_owned(),
        comment,
    });
    am.id = NotSet;
    am
}

fn comment_row(id: &str, internal: bool, author: Option<i32>, at: DateTime<Utc>, body: &str) -> comment::ActiveModel {
    let mut am = comment::ActiveModel::from(comment::Model {
        id: 0,
        request_id: id.to_owned(),
        body: body.to_owned(),
        internal,
        author_user_id: author,
        author_role: "operatore".to_owned(),
        author_display_name: "Operatore di prova".to_owned(),
        created_at: at,
    });
    am.id = NotSet;
    am
}
