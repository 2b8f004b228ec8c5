//! Sending: requests per second and latency with 1 and 16 clients, without files and with three
//! 1 MB files; the floor does the same inserts in one write transaction (and writes and syncs the
//! same bytes to disk when there are files).

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use chrono::{Datelike, Utc};
use futures_util::future::join_all;
use rand::RngCore;
use sea_orm::{DatabaseConnection, EntityTrait, PaginatorTrait, TransactionTrait};
use serde_json::json;

use cassetto_domain::italian_date;
use cassetto_storage::{
    audit, entities::notification, entities::request, entities::request_history, outbox, requests, Batch,
    ConnectionTrait,
};

use crate::load::Dataset;
use crate::report::{Line, Measure, Samples};
use crate::Api;

/// A PDF-looking file of `size` random bytes, shared (cloning it copies no bytes, as a client
/// that sends the same file from disk would not copy it in memory either).
pub fn pdf(size: usize, seed: u64) -> Bytes {
    let mut v = b"%PDF-1.7\n".to_vec();
    let mut rest = vec![0u8; size.saturating_sub(v.len())];
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(seed);
    rng.fill_bytes(&mut rest);
    v.extend(rest);
    Bytes::from(v)
}

fn body(ds: &Dataset, i: usize) -> serde_json::Value {
    json!({
        "matricola": ds.studio_matricole[i % ds.studio_matricole.len()],
        "ambito": "GENERICA",
        "subject": format!("Richiesta di prova n. {i}"),
        "body": "Si chiede di verificare la posizione contributiva e di comunicare l'esito.",
    })
}

/// Sends `total` requests from `clients` concurrent clients; returns (rate, latencies).
async fn drive(
    api: &Api,
    token: &str,
    ds: &Dataset,
    clients: usize,
    total: usize,
    files: Option<Arc<Vec<Bytes>>>,
    offset: usize,
) -> anyhow::Result<(f64, Samples)> {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let tasks = (0..clients).map(|_| {
        let next = next.clone();
        let files = files.clone();
        async move {
            let mut lat = Samples::default();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    return anyhow::Ok(lat);
                }
                let b = body(ds, offset + i);
                let t = Instant::now();
                let status = match &files {
                    None => api.post_json("/api/v1/requests", token, &b).await?,
                    Some(f) => api.post_files("/api/v1/requests", token, &b, f).await?,
                };
                lat.push(t.elapsed());
                anyhow::ensure!(status == 201, "sending answered {status}");
            }
        }
    });
    let results = join_all(tasks).await;
    let elapsed = started.elapsed().as_secs_f64();
    let mut all = Samples::default();
    for r in results {
        all.0.extend(r?.0);
    }
    Ok((total as f64 / elapsed, all))
}

/// The same writes as a send, straight on the database: protocol counter, request, first history
/// entry, audit row and `per_request` outbox rows, in one write transaction; with `files`, the
/// bundle's bytes written and synced to disk first.
async fn floor(
    db: &DatabaseConnection,
    ds: &Dataset,
    clients: usize,
    total: usize,
    per_request: usize,
    files: Option<(Arc<Vec<Bytes>>, &Path)>,
    offset: usize,
) -> anyhow::Result<(f64, Samples)> {
    let next = Arc::new(AtomicUsize::new(0));
    let users = crate::load::user_ids(db).await?;
    let started = Instant::now();
    let tasks = (0..clients).map(|_| {
        let next = next.clone();
        let files = files.clone();
        async move {
            let mut lat = Samples::default();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    return anyhow::Ok(lat);
                }
                let t = Instant::now();
                let id = uuid::Uuid::now_v7().to_string();
                if let Some((bytes, dir)) = &files {
                    let path = dir.join(format!("{id}.bin"));
                    let bytes = bytes.clone();
                    tokio::task::spawn_blocking(move || -> std::io::Result<()> {
                        use std::io::Write;
                        let mut f = std::fs::File::create(&path)?;
                        for b in bytes.iter() {
                            f.write_all(b)?;
                        }
                        f.sync_all()?;
                        std::fs::remove_file(&path)
                    })
                    .await??;
                }
                let m = &ds.studio_matricole[(offset + i) % ds.studio_matricole.len()];
                let sede = &ds.sedi[0];
                let now = Utc::now();
                let txn = cassetto_storage::begin_write(db).await?;
                let n = requests::next_protocol_number(&txn, sede, italian_date(now).year()).await?.progressive;
                let row = request::Model {
                    id: id.clone(),
                    protocollo: format!("INPS.{sede}.{}.{n:07}", italian_date(now).format("%d/%m/%Y")),
                    sede_code: sede.clone(),
                    matricola: m.clone(),
                    ambito_code: "GENERICA".into(),
                    subject: format!("Richiesta generica: Richiesta di prova n. {i}"),
                    subject_search: format!("richiesta generica: richiesta di prova n. {i}"),
                    body: "Si chiede di verificare la posizione contributiva e di comunicare l'esito.".into(),
                    details: "{}".into(),
                    status: "aperta".into(),
                    esito_code: None,
                    esito_text: None,
                    created_by: users.studio,
                    assigned_to: None,
                    version: 1,
                    attachment_count: 0,
                    bundle_sha256: None,
                    bundle_size: None,
                    created_at: now,
                    updated_at: now,
                    taken_at: None,
                    closed_at: None,
                };
                let first = request_history::Model {
                    id: 0,
                    request_id: id.clone(),
                    from_status: None,
                    to_status: "aperta".into(),
                    from_sede: None,
                    to_sede: Some(sede.clone()),
                    at: now,
                    actor_user_id: Some(users.studio),
                    actor_role: "intermediario".into(),
                    actor_display_name: "Studio di prova".into(),
                    comment: Some("Richiesta protocollata".into()),
                };
                // The same round trips as the server: every insert after the protocol number
                // in one batch.
                let mut batch = Batch::new(txn.get_database_backend());
                requests::insert_into(&mut batch, row, vec![], first);
                let actor = audit::Actor {
                    user_id: Some(users.studio),
                    username: "bench.studio".into(),
                    role: "intermediario".into(),
                    display_name: "Studio di prova".into(),
                };
                audit::record_into(&mut batch, &actor, "request.create", "request", &id, json!({"matricola": m}));
                let msgs = (0..per_request)
                    .map(|k| outbox::NewMessage {
                        request_id: Some(id.clone()),
                        event: "registered".into(),
                        channel: "email".into(),
                        recipient: format!("floor{k}@example.invalid"),
                        message_id: format!("<{id}.{k}@bench>"),
                        subject: Some("Richiesta protocollata".into()),
                        body: "Gentile utente, la richiesta è stata protocollata.".into(),
                        body_html: Some("<p>Gentile utente, la richiesta è stata protocollata.</p>".into()),
                        webhook_id: None,
                    })
                    .collect();
                outbox::enqueue_into(&mut batch, msgs, now);
                txn.run_and_commit(batch).await?;
                lat.push(t.elapsed());
            }
        }
    });
    let results = join_all(tasks).await;
    let elapsed = started.elapsed().as_secs_f64();
    let mut all = Samples::default();
    for r in results {
        all.0.extend(r?.0);
    }
    // The floor's rows are not part of the data set.
    let txn = db.begin().await?;
    notification::Entity::delete_many()
        .filter(sea_orm::ColumnTrait::like(&notification::Column::MessageId, "%@bench>"))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok((total as f64 / elapsed, all))
}

use sea_orm::QueryFilter;

pub struct SendPlan {
    pub single: usize,
    pub multi: usize,
    pub single_files: usize,
    pub multi_files: usize,
}

pub async fn run(
    api: &Api,
    db: &DatabaseConnection,
    ds: &Dataset,
    token: &str,
    plan: &SendPlan,
    scratch: &Path,
) -> anyhow::Result<Vec<Line>> {
    let mut lines = vec![];
    let before_req = request::Entity::find().count(db).await?;
    let before_out = notification::Entity::find().count(db).await?;
    let (rate, lat) = drive(api, token, ds, 1, plan.single, None, 0).await?;
    let per_request = ((notification::Entity::find().count(db).await? - before_out) as f64
        / (request::Entity::find().count(db).await? - before_req).max(1) as f64)
        .round() as usize;
    let (frate, flat) = floor(db, ds, 1, plan.single, per_request, None, 0).await?;
    let section = "Sending (POST /requests), requests/s and ms";
    lines.push(Line {
        section,
        name: "1 client, no files".into(),
        http: Measure::Rate { per_s: rate, latency: lat },
        floor: Measure::Rate { per_s: frate, latency: flat },
        note: format!("{} requests; {per_request} outbox rows each", plan.single),
    });
    let (rate, lat) = drive(api, token, ds, 16, plan.multi, None, 10_000).await?;
    let (frate, flat) = floor(db, ds, 16, plan.multi, per_request, None, 10_000).await?;
    lines.push(Line {
        section,
        name: "16 clients, no files".into(),
        http: Measure::Rate { per_s: rate, latency: lat },
        floor: Measure::Rate { per_s: frate, latency: flat },
        note: format!("{} requests", plan.multi),
    });
    let files = Arc::new((0..3).map(|k| pdf(1_000_000, k)).collect::<Vec<_>>());
    std::fs::create_dir_all(scratch)?;
    let (rate, lat) = drive(api, token, ds, 1, plan.single_files, Some(files.clone()), 20_000).await?;
    let (frate, flat) =
        floor(db, ds, 1, plan.single_files, per_request, Some((files.clone(), scratch)), 20_000).await?;
    lines.push(Line {
        section,
        name: "1 client, three 1 MB files".into(),
        http: Measure::Rate { per_s: rate, latency: lat },
        floor: Measure::Rate { per_s: frate, latency: flat },
        note: format!("{} requests", plan.single_files),
    });
    let (rate, lat) = drive(api, token, ds, 16, plan.multi_files, Some(files.clone()), 30_000).await?;
    let (frate, flat) = floor(db, ds, 16, plan.multi_files, per_request, Some((files, scratch)), 30_000).await?;
    lines.push(Line {
        section,
        name: "16 clients, three 1 MB files".into(),
        http: Measure::Rate { per_s: rate, latency: lat },
        floor: Measure::Rate { per_s: frate, latency: flat },
        note: format!("{} requests", plan.multi_files),
    });
    Ok(lines)
}

/// Peak memory of a fresh server receiving three 10 MB files, sequentially and 4 at a time.
pub async fn memory(server: &crate::server::Server, api: &Api, ds: &Dataset, token: &str) -> anyhow::Result<Vec<Line>> {
    // Warm up: a few sends and searches, so that pools and caches are at their working size.
    for i in 0..20 {
        api.post_json("/api/v1/requests", token, &body(ds, 40_000 + i)).await?;
        api.get_json("/api/v1/requests", token).await?;
    }
    let small = Arc::new((0..3).map(|k| pdf(100_000, k)).collect::<Vec<_>>());
    for i in 0..4 {
        api.post_files("/api/v1/requests", token, &body(ds, 40_100 + i), &small).await?;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (idle, _) = server.memory()?;
    server.reset_peak()?;
    let big = Arc::new((0..3).map(|k| pdf(10_000_000, 100 + k)).collect::<Vec<_>>());
    for i in 0..5 {
        let s = api.post_files("/api/v1/requests", token, &body(ds, 40_200 + i), &big).await?;
        anyhow::ensure!(s == 201, "three 10 MB files answered {s}");
    }
    let (_, peak_seq) = server.memory()?;
    let (_rate, _) = drive(api, token, ds, 4, 8, Some(big), 40_300).await?;
    let (_, peak_par) = server.memory()?;
    let section = "Memory (resident set of `cassetto serve`)";
    Ok(vec![
        Line {
            section,
            name: "idle (after warm-up)".into(),
            http: Measure::Bytes(idle),
            floor: Measure::None,
            note: String::new(),
        },
        Line {
            section,
            name: "peak above idle, 5 × three 10 MB files, one at a time".into(),
            http: Measure::Bytes(peak_seq.saturating_sub(idle)),
            floor: Measure::None,
            note: "target < 50 MB".into(),
        },
        Line {
            section,
            name: "peak above idle, 8 × three 10 MB files, 4 at a time".into(),
            http: Measure::Bytes(peak_par.saturating_sub(idle)),
            floor: Measure::None,
            note: String::new(),
        },
    ])
}
