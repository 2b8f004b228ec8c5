//! Sending a request: generic or by ambito with its own fields, up to three files by picker
//! or drag-and-drop, checked before upload, with a progress bar; the protocollo on success.

use std::collections::HashMap;

use cassetto_dto::{
    registry::{Ambito, AziendaRef},
    requests::{NewRequest, Request},
    FieldType,
};
use leptos::prelude::*;
use leptos_router::components::A;

use crate::{api, pages::require_session};

const MAX_FILES: usize = 3;
const MAX_BYTES: f64 = 10.0 * 1024.0 * 1024.0;
const ALLOWED: [&str; 20] = [
    "pdf", "p7m", "xml", "txt", "csv", "png", "jpg", "jpeg", "gif", "tif", "tiff", "doc", "docx", "xls", "xlsx", "ppt",
    "pptx", "odt", "ods", "odp",
];

/// Why a file cannot be attached, checked before upload (the server checks again by content).
fn check_file(f: &web_sys::File, already: usize) -> Result<(), String> {
    let name = f.name();
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    if already >= MAX_FILES {
        return Err(format!("«{name}»: si possono allegare al massimo {MAX_FILES} file"));
    }
    if f.size() == 0.0 {
        return Err(format!("«{name}»: il file è vuoto"));
    }
    if f.size() > MAX_BYTES {
        return Err(format!("«{name}»: supera 10 MB"));
    }
    if !ALLOWED.contains(&ext.as_str()) {
        return Err(format!("«{name}»: tipo non ammesso (PDF, P7M, XML, TXT, CSV, immagini, documenti Office)"));
    }
    Ok(())
}

fn size_label(bytes: f64) -> String {
    if bytes >= 1024.0 * 1024.0 {
        format!("{:.1} MB", bytes / 1024.0 / 1024.0)
    } else {
        format!("{:.0} KB", (bytes / 1024.0).ceil())
    }
}

#[component]
pub fn Send() -> impl IntoView {
    let _ = require_session();
    let aziende = RwSignal::new(Vec::<AziendaRef>::new());
    let ambiti = RwSignal::new(Vec::<Ambito>::new());
    let matricola = RwSignal::new(String::new());
    let ambito = RwSignal::new("GENERICA".to_owned());
    let subject = RwSignal::new(String::new());
    let body = RwSignal::new(String::new());
    let details = RwSignal::new(HashMap::<String, String>::new());
    let files = RwSignal::new_local(Vec::<web_sys::File>::new());
    let file_errors = RwSignal::new(Vec::<String>::new());
    let progress = RwSignal::new(None::<f64>);
    let error = RwSignal::new(None::<api::ApiError>);
    let created = RwSignal::new(None::<Request>);
    leptos::task::spawn_local(async move {
        if let Ok(a) = api::get::<Vec<AziendaRef>>("/api/v1/aziende").await {
            if let Some(first) = a.first() {
                matricola.set(first.matricola.clone());
            }
            aziende.set(a);
        }
        if let Ok(a) = api::get::<Vec<Ambito>>("/api/v1/ambiti").await {
            ambiti.set(a);
        }
    });

    let add_files = move |list: Option<web_sys::FileList>| {
        let Some(list) = list else { return };
        let mut errors = Vec::new();
        files.update(|current| {
            for i in 0..list.length() {
                if let Some(f) = list.get(i) {
                    match check_file(&f, current.len()) {
                        Ok(()) => current.push(f),
                        Err(e) => errors.push(e),
                    }
                }
            }
        });
        file_errors.set(errors);
    };
    let fields = move || ambiti.get().into_iter().find(|a| a.code == ambito.get()).map(|a| a.fields).unwrap_or_default();
    let err_for = move |name: &str| error.get().and_then(|e| e.field(name));

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        let mut det = serde_json::Map::new();
        for f in fields() {
            if let Some(v) = details.get_untracked().get(&f.name).filter(|v| !v.trim().is_empty()) {
                det.insert(f.name.clone(), serde_json::Value::String(v.trim().to_owned()));
            }
        }
        let req = NewRequest {
            matricola: matricola.get_untracked(),
            ambito: ambito.get_untracked(),
            subject: subject.get_untracked(),
            body: body.get_untracked(),
            details: serde_json::Value::Object(det),
        };
        let Ok(form) = web_sys::FormData::new() else { return };
        let _ = form.append_with_str("request", &serde_json::to_string(&req).unwrap_or_default());
        for f in files.get_untracked() {
            let _ = form.append_with_blob_and_filename("files", &f, &f.name());
        }
        progress.set(Some(0.0));
        leptos::task::spawn_local(async move {
            let result = api::upload(form, move |p| progress.set(Some(p))).await;
            progress.set(None);
            match result {
                Ok(r) => created.set(Some(r)),
                Err(e) => error.set(Some(e)),
            }
        });
    };

    let form_view = move || {
        view! {
            <form on:submit=submit novalidate aria-label="Invio di una richiesta alla sede">
                {move || error.get().map(|e| view! { <div class="alert alert-danger" role="alert" data-testid="errore">{e.detail.clone()}</div> })}
                <div class="row">
                    <div class="col-12 col-md-6 form-group">
                        <label for="matricola" class="active">"Matricola"</label>
                        <select id="matricola" class="form-select" required on:change=move |ev| matricola.set(event_target_value(&ev))>
                            {move || aziende.get().into_iter().map(|a| {
                                let selected = matricola.get() == a.matricola;
                                view! { <option value=a.matricola.clone() selected=selected>
                                    {format!("{} — {} (sede di {})", a.matricola, a.ragione_sociale, a.sede.name)}
                                </option> }
                            }).collect_view()}
                        </select>
                        {move || err_for("matricola").map(|m| view! { <div class="form-feedback just-validate-error-label">{m}</div> })}
                    </div>
                    <div class="col-12 col-md-6 form-group">
                        <label for="ambito" class="active">"Ambito della richiesta"</label>
                        <select id="ambito" class="form-select" on:change=move |ev| { ambito.set(event_target_value(&ev)); details.set(HashMap::new()); }>
                            {move || ambiti.get().into_iter().map(|a| {
                                let selected = ambito.get() == a.code;
                                view! { <option value=a.code.clone() selected=selected>{a.label.clone()}</option> }
                            }).collect_view()}
                        </select>
                    </div>
                </div>
                <div class="row">
                    {move || fields().into_iter().map(|f| {
                        let name = f.name.clone();
                        let id = format!("d-{}", f.name);
                        let kind = match f.field_type { FieldType::Period => "month", FieldType::Date => "date", _ => "text" };
                        let n2 = name.clone();
                        let n3 = name.clone();
                        view! {
                            <div class="col-12 col-md-6 col-lg-4 form-group">
                                <label for=id.clone() class="active">{f.label.clone()}{f.required.then_some(" *")}</label>
                                <input id=id class="form-control" type=kind
                                    placeholder=if kind == "month" { "AAAA-MM" } else { "" }
                                    inputmode=if matches!(f.field_type, FieldType::Amount) { "decimal" } else { "text" }
                                    prop:value=move || details.get().get(&n2).cloned().unwrap_or_default()
                                    on:input=move |ev| { let v = event_target_value(&ev); details.update(|d| { d.insert(name.clone(), v); }); }/>
                                {move || err_for(&format!("details.{n3}")).map(|m| view! { <div class="text-danger small">{m}</div> })}
                            </div>
                        }
                    }).collect_view()}
                </div>
                <div class="form-group">
                    <label for="subject" class="active">"Oggetto"</label>
                    <input id="subject" class="form-control" type="text" maxlength="200" required
                        prop:value=subject on:input=move |ev| subject.set(event_target_value(&ev))/>
                    {move || err_for("subject").map(|m| view! { <div class="text-danger small">{m}</div> })}
                </div>
                <div class="form-group">
                    <label for="body" class="active">"Testo della richiesta"</label>
                    <textarea id="body" class="form-control" rows="6" maxlength="10000" required
                        prop:value=body on:input=move |ev| body.set(event_target_value(&ev))></textarea>
                    {move || err_for("body").map(|m| view! { <div class="text-danger small">{m}</div> })}
                </div>
                <fieldset class="mb-4">
                    <legend class="h6">"Allegati (fino a 3 file, 10 MB ciascuno)"</legend>
                    <div class="border border-primary rounded p-4 text-center mb-2" data-testid="zona-trascinamento"
                        on:dragover=move |ev: leptos::ev::DragEvent| ev.prevent_default()
                        on:drop=move |ev: leptos::ev::DragEvent| { ev.prevent_default(); add_files(ev.data_transfer().and_then(|d| d.files())); }>
                        <p class="mb-2">"Trascinare qui i file, oppure"</p>
                        <label for="files" class="btn btn-outline-primary mb-0">"Scegli i file"</label>
                        <input id="files" class="visually-hidden" type="file" multiple
                            accept=".pdf,.p7m,.xml,.txt,.csv,.png,.jpg,.jpeg,.gif,.tif,.tiff,.doc,.docx,.xls,.xlsx,.ppt,.pptx,.odt,.ods,.odp"
                            on:change=move |ev| {
                                let input: web_sys::HtmlInputElement = event_target(&ev);
                                add_files(input.files());
                                input.set_value("");
                            }/>
                    </div>
                    {move || file_errors.get().into_iter().map(|e| view! { <div class="text-danger small" role="alert">{e}</div> }).collect_view()}
                    <ul class="list-group" data-testid="allegati-scelti">
                        {move || files.get().into_iter().enumerate().map(|(i, f)| view! {
                            <li class="list-group-item d-flex justify-content-between align-items-center">
                                <span>{f.name()} " (" {size_label(f.size())} ")"</span>
                                <button type="button" class="btn btn-sm btn-outline-danger"
                                    aria-label=format!("Rimuovi {}", f.name())
                                    on:click=move |_| files.update(|v| { if i < v.len() { v.remove(i); } })>"Rimuovi"</button>
                            </li>
                        }).collect_view()}
                    </ul>
                    {move || err_for("files[3]").map(|m| view! { <div class="text-danger small">{m}</div> })}
                </fieldset>
                {move || progress.get().map(|p| {
                    let pct = (p * 100.0).round() as u32;
                    view! {
                        <div class="progress mb-3" role="progressbar" aria-label="Invio in corso" aria-valuemin="0" aria-valuemax="100" aria-valuenow=pct>
                            <div class="progress-bar" style=format!("width: {pct}%")>{format!("{pct}%")}</div>
                        </div>
                    }
                })}
                <button type="submit" class="btn btn-primary" disabled=move || progress.get().is_some()>"Invia la richiesta"</button>
            </form>
        }
    };

    view! {
        <h1 class="h2 mb-4">"Nuova richiesta alla sede INPS"</h1>
        {move || match created.get() {
            Some(r) => view! {
                <div class="callout success" role="status" data-testid="inviata">
                    <div class="callout-title">"Richiesta inviata"</div>
                    <p>"La richiesta è stata protocollata con il numero "<strong data-testid="protocollo">{r.protocollo.clone()}</strong>
                       " e assegnata alla sede di " {r.sede.name.clone()} "."</p>
                    <A href=format!("/richieste/{}", r.id) attr:class="btn btn-primary">"Vai alla richiesta"</A>
                </div>
            }.into_any(),
            None => form_view().into_any(),
        }}
    }
}
