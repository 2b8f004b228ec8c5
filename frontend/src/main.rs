//! Cassetto web app: a Leptos single-page app over the public API, in Italian, styled with
//! Bootstrap Italia (served locally).

mod api;
mod pages;
mod session;
mod ui;

use leptos::prelude::*;
use leptos_router::{
    components::{Route, Router, Routes, A},
    hooks::use_navigate,
    path,
};

use cassetto_dto::Role;
use session::Session;

/// The session shared by every page.
#[derive(Clone, Copy)]
pub struct Auth(pub RwSignal<Option<Session>>);

pub fn use_auth() -> Auth {
    use_context::<Auth>().unwrap_or_else(|| Auth(RwSignal::new(None)))
}

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(App);
}

#[component]
fn App() -> impl IntoView {
    let auth = Auth(RwSignal::new(session::load()));
    provide_context(auth);
    // Sign out when the token expires while the page stays open.
    Effect::new(move |_| {
        if auth.0.get().is_some() {
            if let Some(ms) = session::remaining_ms() {
                let ms = ms.clamp(0.0, 2_000_000_000.0) as u32;
                gloo_timers::callback::Timeout::new(ms, session::expire).forget();
            }
        }
    });
    view! {
        <Router>
            <a class="visually-hidden-focusable" href="#contenuto">"Vai al contenuto"</a>
            <Header/>
            <main id="contenuto" class="container my-4">
                <Routes fallback=|| view! { <pages::NotFound/> }>
                    <Route path=path!("/") view=Home/>
                    <Route path=path!("/accesso") view=pages::login::Login/>
                    <Route path=path!("/richieste") view=pages::archive::Archive/>
                    <Route path=path!("/richieste/nuova") view=pages::send::Send/>
                    <Route path=path!("/richieste/:id") view=pages::detail::Detail/>
                    <Route path=path!("/sportello") view=pages::desk::Desk/>
                    <Route path=path!("/sportello/:id") view=pages::desk::QuesitoPage/>
                    <Route path=path!("/monitoraggio") view=pages::monitor::Monitor/>
                </Routes>
            </main>
            <footer class="it-footer mt-5">
                <div class="it-footer-main py-3">
                    <div class="container">
                        <p class="mb-0 text-white">"INPS — Cassetto Previdenziale Aziende · Comunicazione bidirezionale"</p>
                    </div>
                </div>
            </footer>
        </Router>
    }
}

/// Where a signed-in user starts.
#[component]
fn Home() -> impl IntoView {
    let auth = use_auth();
    let navigate = use_navigate();
    Effect::new(move |_| {
        let target = match auth.0.get().map(|s| s.me.role) {
            None => "/accesso",
            Some(Role::Azienda | Role::Intermediario) => "/richieste",
            Some(Role::Supervisore | Role::Admin) => "/monitoraggio",
            Some(Role::Operatore) => "/sportello",
        };
        navigate(target, Default::default());
    });
    view! { <p>"Caricamento…"</p> }
}

#[component]
fn Header() -> impl IntoView {
    let auth = use_auth();
    let sign_out = move |_| {
        session::clear();
        auth.0.set(None);
        if let Some(w) = web_sys::window() {
            let _ = w.location().set_href("/accesso?motivo=uscita");
        }
    };
    view! {
        <header class="it-header-wrapper">
            <div class="it-header-slim-wrapper">
                <div class="container">
                    <div class="it-header-slim-wrapper-content">
                        <span class="d-lg-block navbar-brand">"INPS — Istituto Nazionale Previdenza Sociale"</span>
                        {move || auth.0.get().map(|s| view! {
                            <div class="it-header-slim-right-zone">
                                <span class="text-white me-3" data-testid="utente">
                                    {s.me.display_name.clone()} " (" {ui::role_label(s.me.role)} ")"
                                </span>
                                <button class="btn btn-primary btn-sm" on:click=sign_out>"Esci"</button>
                            </div>
                        })}
                    </div>
                </div>
            </div>
            <div class="it-nav-wrapper">
                <div class="it-header-center-wrapper">
                    <div class="container">
                        <div class="it-header-center-content-wrapper">
                            <div class="it-brand-wrapper">
                                <A href="/">
                                    <div class="it-brand-text">
                                        <div class="it-brand-title">"Cassetto Previdenziale"</div>
                                        <div class="it-brand-tagline d-none d-md-block">"Comunicazione bidirezionale con la sede INPS"</div>
                                    </div>
                                </A>
                            </div>
                        </div>
                    </div>
                </div>
                {move || auth.0.get().map(|s| view! { <Nav role=s.me.role/> })}
            </div>
        </header>
    }
}

#[component]
fn Nav(role: Role) -> impl IntoView {
    let links: Vec<(&str, &str)> = match role {
        Role::Azienda | Role::Intermediario => vec![("/richieste", "Le mie richieste"), ("/richieste/nuova", "Nuova richiesta")],
        Role::Operatore => vec![("/sportello", "Sportello della sede"), ("/monitoraggio", "Monitoraggio")],
        Role::Supervisore | Role::Admin => vec![("/sportello", "Quesiti"), ("/monitoraggio", "Monitoraggio")],
    };
    view! {
        <div class="it-header-navbar-wrapper">
            <div class="container">
                <nav class="navbar navbar-expand-lg has-megamenu" aria-label="Menu principale">
                    <ul class="navbar-nav flex-row">
                        {links.into_iter().map(|(href, label)| view! {
                            <li class="nav-item me-3"><A href=href attr:class="nav-link">{label}</A></li>
                        }).collect_view()}
                    </ul>
                </nav>
            </div>
        </div>
    }
}
