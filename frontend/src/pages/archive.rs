//! The archive: the caller's requests with every filter of the seed text, kept in the URL so
//! a search can be bookmarked and shared; sorting, paging and totals.

use cassetto_dto::{
    registry::{Ambito, AziendaRef},
    requests::RequestPage,
    Status,
};
use leptos::prelude::*;
use leptos_router::{
    components::A,
    hooks::{use_navigate, use_query_map},
};

use crate::{api, pages::require_session, ui};

/// The query string for a set of filter values.
pub fn query_string(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(k, v)| format!("{}={}", api::enc(k), api::enc(v.trim())))
        .collect::<Vec<_>>()
        .join("&")
}

#[component]
pub fn Archive() -> impl IntoView {
    let _ = require_session();
    let query = use_query_map();
    let navigate = use_navigate();
    let aziende = RwSignal::new(Vec::<AziendaRef>::new());
    let ambiti = RwSignal::new(Vec::<Ambito>::new());
    leptos::task::spawn_local(async move {
        if let Ok(a) = api::get::<Vec<AziendaRef>>("/api/v1/aziende").await {
            aziende.set(a);
        }
        if let Ok(a) = api::get::<Vec<Ambito>>("/api/v1/ambiti").await {
            ambiti.set(a);
        }
    });

    // The form, initialised from the URL.
    let field = |k: &'static str| RwSignal::new(query.get_untracked().get(k).unwrap_or_default());
    let matricola = field("matricola");
    let subject = field("subject");
    let protocollo = field("protocollo");
    let ambito = field("ambito");
    let opened_from = field("opened_from");
    let opened_to = field("opened_to");
    let updated_from = field("updated_from");
    let updated_to = field("updated_to");
    let sort = RwSignal::new(query.get_untracked().get("sort").unwrap_or_else(|| "-updated_at".into()));
    let statuses = RwSignal::new(query.get_untracked().get_all("status").unwrap_or_default());
    let texts = [subject, protocollo, opened_from, opened_to, updated_from, updated_to, matricola];

    let page = RwSignal::new(None::<Result<RequestPage, api::ApiError>>);
    Effect::new(move |_| {
        let q = query.get().to_query_string();
        page.set(None);
        leptos::task::spawn_local(async move {
            let url = format!("/api/v1/requests{}", if q.is_empty() || q == "?" { String::new() } else { q.clone() });
            page.set(Some(api::get::<RequestPage>(&url).await));
        });
    });

    let search = {
        let navigate = navigate.clone();
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            let mut pairs: Vec<(String, String)> = vec![
                ("matricola".into(), matricola.get_untracked()),
                ("subject".into(), subject.get_untracked()),
                ("protocollo".into(), protocollo.get_untracked()),
                ("ambito".into(), ambito.get_untracked()),
                ("opened_from".into(), opened_from.get_untracked()),
                ("opened_to".into(), opened_to.get_untracked()),
                ("updated_from".into(), updated_from.get_untracked()),
                ("updated_to".into(), updated_to.get_untracked()),
            ];
            for s in statuses.get_untracked() {
                pairs.push(("status".into(), s));
            }
            let sort_value = sort.get_untracked();
            if sort_value != "-updated_at" {
                pairs.push(("sort".into(), sort_value));
            }
            let qs = query_string(&pairs);
            navigate(&if qs.is_empty() { "/richieste".to_owned() } else { format!("/richieste?{qs}") }, Default::default());
        }
    };
    let reset = {
        let navigate = navigate.clone();
        move |_| {
            for s in texts {
                s.set(String::new());
            }
            ambito.set(String::new());
            statuses.set(vec![]);
            sort.set("-updated_at".into());
            navigate("/richieste", Default::default());
        }
    };
    let next_href = move |cursor: String| {
        let mut q = query.get();
        q.replace("cursor", cursor);
        format!("/richieste{}", q.to_query_string())
    };
    let first_href = move || {
        let mut q = query.get();
        q.remove("cursor");
        format!("/richieste{}", q.to_query_string())
    };

    let text_input = move |key: &'static str, label: &'static str, kind: &'static str, sig: RwSignal<String>| {
        view! {
            <div class="col-12 col-md-6 col-lg-3 form-group">
                <label for=format!("f-{key}") class="active">{label}</label>
                <input id=format!("f-{key}") class="form-control" type=kind
                    prop:value=sig on:input=move |ev| sig.set(event_target_value(&ev))/>
            </div>
        }
    };

    view! {
        <div class="d-flex justify-content-between align-items-center mb-3">
            <h1 class="h2">"Le mie richieste"</h1>
            <A href="/richieste/nuova" attr:class="btn btn-primary">"Nuova richiesta"</A>
        </div>
        <form class="mb-4" on:submit=search aria-label="Filtri di ricerca">
            <div class="row">
                <div class="col-12 col-md-6 col-lg-3 form-group">
                    <label for="f-matricola" class="active">"Matricola"</label>
                    <select id="f-matricola" class="form-select" on:change=move |ev| matricola.set(event_target_value(&ev))>
                        <option value="" selected=move || matricola.get().is_empty()>"Tutte"</option>
                        {move || aziende.get().into_iter().map(|a| {
                            let m = a.matricola.clone();
                            let selected = matricola.get() == m;
                            view! { <option value=m.clone() selected=selected>{format!("{} — {}", m, a.ragione_sociale)}</option> }
                        }).collect_view()}
                    </select>
                </div>
                {text_input("subject", "Oggetto contiene", "text", subject)}
                {text_input("protocollo", "Protocollo", "text", protocollo)}
                <div class="col-12 col-md-6 col-lg-3 form-group">
                    <label for="f-ambito" class="active">"Ambito"</label>
                    <select id="f-ambito" class="form-select" on:change=move |ev| ambito.set(event_target_value(&ev))>
                        <option value="" selected=move || ambito.get().is_empty()>"Tutti"</option>
                        {move || ambiti.get().into_iter().map(|a| {
                            let selected = ambito.get() == a.code;
                            view! { <option value=a.code.clone() selected=selected>{a.label.clone()}</option> }
                        }).collect_view()}
                    </select>
                </div>
            </div>
            <div class="row">
                {text_input("opened_from", "Aperta dal", "date", opened_from)}
                {text_input("opened_to", "Aperta al", "date", opened_to)}
                {text_input("updated_from", "Aggiornata dal", "date", updated_from)}
                {text_input("updated_to", "Aggiornata al", "date", updated_to)}
            </div>
            <div class="row align-items-end">
                <fieldset class="col-12 col-lg-6">
                    <legend class="h6">"Stato"</legend>
                    {Status::ALL.into_iter().map(|s| {
                        let code = s.as_str().to_owned();
                        let id = format!("f-status-{code}");
                        let c2 = code.clone();
                        view! {
                            <div class="form-check form-check-inline">
                                <input id=id.clone() type="checkbox"
                                    prop:checked=move || statuses.get().contains(&code)
                                    on:change=move |ev| {
                                        let on = event_target_checked(&ev);
                                        statuses.update(|v| { v.retain(|x| x != &c2); if on { v.push(c2.clone()); } });
                                    }/>
                                <label for=id>{ui::status_label(s)}</label>
                            </div>
                        }
                    }).collect_view()}
                </fieldset>
                <div class="col-12 col-md-6 col-lg-3 form-group">
                    <label for="f-sort" class="active">"Ordina per"</label>
                    <select id="f-sort" class="form-select" on:change=move |ev| sort.set(event_target_value(&ev))>
                        {[("-updated_at", "Ultimo aggiornamento (recenti prima)"), ("updated_at", "Ultimo aggiornamento (meno recenti prima)"),
                          ("-created_at", "Data di apertura (recenti prima)"), ("created_at", "Data di apertura (meno recenti prima)")]
                            .into_iter().map(|(v, l)| view! { <option value=v selected=move || sort.get() == v>{l}</option> }).collect_view()}
                    </select>
                </div>
                <div class="col-12 col-lg-3 mb-3">
                    <button type="submit" class="btn btn-primary me-2">"Cerca"</button>
                    <button type="button" class="btn btn-outline-primary" on:click=reset>"Azzera"</button>
                </div>
            </div>
        </form>
        {move || match page.get() {
            None => ui::loading().into_any(),
            Some(Err(e)) => ui::error_alert(e.detail).into_any(),
            Some(Ok(p)) if p.items.is_empty() => view! {
                <div class="alert alert-info" role="status" data-testid="vuoto">"Nessuna richiesta corrisponde ai filtri."</div>
            }.into_any(),
            Some(Ok(p)) => {
                let next = p.next_cursor.clone();
                let on_later_page = query.get().get("cursor").is_some();
                view! {
                    <p aria-live="polite" data-testid="totale">
                        {if p.total_exact { format!("{} {}", p.total, if p.total == 1 { "richiesta trovata" } else { "richieste trovate" }) } else { format!("Più di {} richieste trovate: restringere la ricerca con i filtri", ui::thousands(p.total)) }}
                    </p>
                    <div class="table-responsive">
                        <table class="table table-hover" data-testid="archivio">
                            <caption class="visually-hidden">"Richieste inviate alla sede INPS"</caption>
                            <thead><tr>
                                <th scope="col">"Protocollo"</th><th scope="col">"Matricola"</th><th scope="col">"Oggetto"</th>
                                <th scope="col">"Stato"</th><th scope="col">"Sede"</th><th scope="col">"Aggiornata"</th>
                            </tr></thead>
                            <tbody>
                                {p.items.into_iter().map(|r| view! {
                                    <tr>
                                        <td><A href=format!("/richieste/{}", r.id)>{r.protocollo.clone()}</A></td>
                                        <td>{r.matricola.clone()}</td>
                                        <td>{r.subject.clone()}</td>
                                        <td>{ui::status_badge(r.status)}</td>
                                        <td>{r.sede.name.clone()}</td>
                                        <td>{ui::when(&r.updated_at)}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                    <nav aria-label="Pagine dei risultati" class="d-flex gap-2">
                        {on_later_page.then(|| view! { <A href=first_href() attr:class="btn btn-outline-primary">"Prima pagina"</A> })}
                        {next.map(|c| view! { <A href=next_href(c) attr:class="btn btn-outline-primary">"Pagina successiva"</A> })}
                    </nav>
                }.into_any()
            }
        }}
    }
}
