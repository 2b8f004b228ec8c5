//! Monitoring (the seed's "Back Office Contact Center"): the stats as bar charts.

use std::collections::BTreeMap;

use cassetto_dto::backoffice::Stats;
use leptos::prelude::*;

use crate::{api, pages::require_session, ui};

fn bars(title: &'static str, data: Vec<(String, u64)>) -> impl IntoView {
    let max = data.iter().map(|d| d.1).max().unwrap_or(0).max(1);
    view! {
        <section class="col-12 col-lg-6 mb-4">
            <h2 class="h5">{title}</h2>
            {if data.is_empty() {
                view! { <p class="text-muted">"Nessun dato."</p> }.into_any()
            } else {
                view! {
                    <table class="table table-sm">
                        <caption class="visually-hidden">{title}</caption>
                        <tbody>
                            {data.into_iter().map(|(label, n)| {
                                let pct = (n as f64 / max as f64 * 100.0).round();
                                view! {
                                    <tr>
                                        <th scope="row" style="width: 35%">{label}</th>
                                        <td>
                                            <div class="d-flex align-items-center gap-2">
                                                <div class="bg-primary" style=format!("height: 1.2rem; width: {pct}%") aria-hidden="true"></div>
                                                <span>{n}</span>
                                            </div>
                                        </td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            }}
        </section>
    }
}

fn entries(m: &BTreeMap<String, u64>) -> Vec<(String, u64)> {
    m.iter().map(|(k, v)| (k.clone(), *v)).collect()
}

#[component]
pub fn Monitor() -> impl IntoView {
    let _ = require_session();
    let stats = RwSignal::new(None::<Result<Stats, api::ApiError>>);
    leptos::task::spawn_local(async move {
        stats.set(Some(api::get::<Stats>("/api/v1/stats").await));
    });
    view! {
        <h1 class="h2 mb-4">"Monitoraggio dei quesiti"</h1>
        {move || match stats.get() {
            None => ui::loading().into_any(),
            Some(Err(e)) => ui::error_alert(e.detail).into_any(),
            Some(Ok(s)) => view! {
                <div class="row mb-4" data-testid="indicatori">
                    <div class="col-6 col-lg-3"><div class="card card-bg"><div class="card-body">
                        <div class="h2 mb-0">{s.total}</div><div>"quesiti in totale"</div></div></div></div>
                    <div class="col-6 col-lg-3"><div class="card card-bg"><div class="card-body">
                        <div class="h2 mb-0">{s.median_time_to_take_charge_s.map(ui::duration).unwrap_or_else(|| "—".into())}</div>
                        <div>"tempo mediano di presa in carico"</div></div></div></div>
                    <div class="col-6 col-lg-3"><div class="card card-bg"><div class="card-body">
                        <div class="h2 mb-0">{s.median_time_to_close_s.map(ui::duration).unwrap_or_else(|| "—".into())}</div>
                        <div>"tempo mediano di chiusura"</div></div></div></div>
                    <div class="col-6 col-lg-3"><div class="card card-bg"><div class="card-body">
                        <div class="h2 mb-0">{s.backlog_by_age.over_30_days}</div><div>"aperti da oltre 30 giorni"</div></div></div></div>
                </div>
                <div class="row">
                    {bars("Per stato", entries(&s.by_status))}
                    {bars("Per ambito", entries(&s.by_ambito))}
                    {bars("Per sede", entries(&s.by_sede))}
                    {bars("Arretrato per anzianità", vec![
                        ("meno di 1 giorno".into(), s.backlog_by_age.under_1_day),
                        ("da 1 a 7 giorni".into(), s.backlog_by_age.from_1_to_7_days),
                        ("da 7 a 30 giorni".into(), s.backlog_by_age.from_7_to_30_days),
                        ("oltre 30 giorni".into(), s.backlog_by_age.over_30_days),
                    ])}
                </div>
            }.into_any(),
        }}
    }
}
