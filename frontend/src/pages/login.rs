//! Sign-in.

use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_query_map};

use crate::{api, session, use_auth};

#[component]
pub fn Login() -> impl IntoView {
    let auth = use_auth();
    let query = use_query_map();
    let navigate = use_navigate();
    let username = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let reason = move || match query.read().get("motivo").as_deref() {
        Some("scaduta") => Some("La sessione è scaduta: accedere di nuovo."),
        Some("uscita") => Some("Uscita eseguita."),
        _ => None,
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        busy.set(true);
        error.set(None);
        let navigate = navigate.clone();
        leptos::task::spawn_local(async move {
            let result = async {
                let t = api::login(&username.get_untracked(), &password.get_untracked()).await?;
                let s = session::Session {
                    token: t.access_token.clone(),
                    expires_at: js_sys::Date::now() + t.expires_in as f64 * 1000.0,
                    me: cassetto_dto::auth::Me {
                        id: 0,
                        username: String::new(),
                        role: cassetto_dto::Role::Azienda,
                        display_name: String::new(),
                        sede: None,
                        matricole: vec![],
                    },
                };
                session::save(&s);
                let me: cassetto_dto::auth::Me = api::get("/api/v1/me").await?;
                let s = session::Session { me, ..s };
                session::save(&s);
                Ok::<_, api::ApiError>(s)
            }
            .await;
            busy.set(false);
            match result {
                Ok(s) => {
                    auth.0.set(Some(s));
                    navigate("/", Default::default());
                }
                Err(e) => {
                    session::clear();
                    error.set(Some(e.detail));
                }
            }
        });
    };
    view! {
        <div class="row justify-content-center">
            <div class="col-12 col-md-6 col-lg-5">
                <h1 class="h2 mb-4">"Accesso"</h1>
                {move || reason().map(|r| view! { <div class="alert alert-info" role="status">{r}</div> })}
                {move || error.get().map(|e| view! { <div class="alert alert-danger" role="alert">{e}</div> })}
                <form on:submit=submit novalidate>
                    <div class="form-group mb-4">
                        <label for="username" class="active">"Nome utente"</label>
                        <input id="username" class="form-control" type="text" autocomplete="username" required
                            prop:value=username on:input=move |ev| username.set(event_target_value(&ev))/>
                    </div>
                    <div class="form-group mb-4">
                        <label for="password" class="active">"Password"</label>
                        <input id="password" class="form-control" type="password" autocomplete="current-password" required
                            prop:value=password on:input=move |ev| password.set(event_target_value(&ev))/>
                    </div>
                    <button type="submit" class="btn btn-primary" disabled=move || busy.get()>
                        {move || if busy.get() { "Accesso in corso…" } else { "Accedi" }}
                    </button>
                </form>
            </div>
        </div>
    }
}
