//! Small shared pieces: labels, badges, dates, alerts.

use cassetto_dto::{requests::Esito, EsitoCode, Role, Status};
use chrono::{DateTime, Utc};
use leptos::prelude::*;

pub fn role_label(r: Role) -> &'static str {
    r.label()
}

pub fn status_label(s: Status) -> &'static str {
    s.label()
}

pub fn status_badge(s: Status) -> impl IntoView {
    let class = match s {
        Status::Aperta => "badge bg-primary",
        Status::InCarico => "badge bg-warning text-dark",
        Status::Chiusa => "badge bg-success",
    };
    view! { <span class=class data-testid="stato">{status_label(s)}</span> }
}

pub fn esito_label(e: EsitoCode) -> &'static str {
    e.label()
}

pub fn esito_view(e: &Esito) -> impl IntoView {
    view! {
        <div class="callout success" data-testid="esito">
            <div class="callout-title">"Esito: " {esito_label(e.code)}</div>
            <p class="mb-0" style="white-space: pre-wrap">{e.text.clone()}</p>
        </div>
    }
}

/// `26/11/2026 14:05` in the user's time zone.
pub fn when(t: &DateTime<Utc>) -> String {
    let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(t.timestamp_millis() as f64));
    let pad = |n: u32| format!("{n:02}");
    format!(
        "{}/{}/{} {}:{}",
        pad(d.get_date()),
        pad(d.get_month() + 1),
        d.get_full_year(),
        pad(d.get_hours()),
        pad(d.get_minutes())
    )
}

pub fn error_alert(message: String) -> impl IntoView {
    view! { <div class="alert alert-danger" role="alert">{message}</div> }
}

pub fn loading() -> impl IntoView {
    view! { <p aria-live="polite">"Caricamento…"</p> }
}

/// "12 s", "3 min", "2 h 5 min", "4 g 3 h".
pub fn duration(seconds: f64) -> String {
    let s = seconds.max(0.0) as u64;
    match s {
        0..=59 => format!("{s} s"),
        60..=3599 => format!("{} min", s / 60),
        3600..=86_399 => format!("{} h {} min", s / 3600, (s % 3600) / 60),
        _ => format!("{} g {} h", s / 86_400, (s % 86_400) / 3600),
    }
}

/// `10000` as Italians write it: `10.000`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push('.');
        }
        out.push(c);
    }
    out
}
