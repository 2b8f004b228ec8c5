//! The back office's transition (take in charge) over HTTP, and the same writes on the database.

use std::time::Instant;

use chrono::Utc;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect};
use serde_json::json;

use cassetto_storage::{audit, entities::request, entities::request_history, outbox, requests};

use crate::report::{Line, Measure, Samples};
use crate::Api;

async fn open_quesiti(db: &DatabaseConnection, sede: &str, n: usize) -> anyhow::Result<Vec<(String, i32)>> {
    Ok(request::Entity::find()
        .select_only()
        .column(request::Column::Id)
        .column(request::Column::Version)
        .filter(request::Column::SedeCode.eq(sede))
        .filter(request::Column::Status.eq("aperta"))
        .limit(n as u64)
        .into_tuple::<(String, i32)>()
        .all(db)
        .await?)
}

pub async fn run(
    api: &Api,
    db: &DatabaseConnection,
    sede: &str,
    token: &str,
    op_id: i32,
    n: usize,
) -> anyhow::Result<Vec<Line>> {
    let targets = open_quesiti(db, sede, 2 * n).await?;
    anyhow::ensure!(targets.len() >= 2 * n, "only {} open quesiti in sede {sede}", targets.len());
    let (via_http, direct) = targets.split_at(n);
    let mut http = Samples::default();
    for (id, _) in via_http {
        let t = Instant::now();
        let status =
            api.post_json(&format!("/api/v1/quesiti/{id}/transitions"), token, &json!({"to": "in_carico"})).await?;
        http.push(t.elapsed());
        anyhow::ensure!(status == 200, "transition answered {status}");
    }
    let mut floor = Samples::default();
    let actor = audit::Actor {
        user_id: Some(op_id),
        username: format!("bench.operatore.{sede}"),
        role: "operatore".into(),
        display_name: "Operatore di prova".into(),
    };
    for (id, version) in direct {
        let t = Instant::now();
        let now = Utc::now();
        let txn = cassetto_storage::begin_write(db).await?;
        let current = requests::get(&txn, id).await?;
        anyhow::ensure!(current.is_some(), "quesito {id} vanished");
        let change = requests::Change {
            status: Some("in_carico".into()),
            assigned_to: Some(Some(op_id)),
            taken_at: Some(now),
            ..Default::default()
        };
        anyhow::ensure!(requests::apply_change(&txn, id, *version, change, now).await?, "stale {id}");
        requests::add_history(
            &txn,
            request_history::Model {
                id: 0,
                request_id: id.clone(),
                from_status: Some("aperta".into()),
                to_status: "in_carico".into(),
                from_sede: None,
                to_sede: None,
                at: now,
                actor_user_id: Some(op_id),
                actor_role: "operatore".into(),
                actor_display_name: "Operatore di prova".into(),
                comment: None,
            },
        )
        .await?;
        audit::record(&txn, &actor, "quesito.transition", "request", id, json!({"to": "in_carico"})).await?;
        let msg = outbox::NewMessage {
            request_id: Some(id.clone()),
            event: "taken".into(),
            channel: "email".into(),
            recipient: "floor@example.invalid".into(),
            message_id: format!("<{id}.t@bench>"),
            subject: Some("Richiesta presa in carico".into()),
            body: "La richiesta è stata presa in carico.".into(),
            body_html: None,
            webhook_id: None,
        };
        outbox::enqueue(&txn, vec![msg], now).await?;
        txn.commit().await?;
        floor.push(t.elapsed());
    }
    Ok(vec![Line {
        section: "Back office: take in charge (POST /quesiti/{id}/transitions), ms",
        name: "1 operatore, one after another".into(),
        http: Measure::Latency(http),
        floor: Measure::Latency(floor),
        note: format!("{n} quesiti each"),
    }])
}
