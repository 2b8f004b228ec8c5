//! One module per page.

pub mod archive;
pub mod desk;
pub mod detail;
pub mod login;
pub mod monitor;
pub mod send;

use leptos::prelude::*;
use leptos_router::hooks::use_navigate;

use crate::session::Session;
use crate::use_auth;

/// The session, or a trip to the sign-in page.
pub fn require_session() -> Option<Session> {
    let s = use_auth().0.get_untracked();
    if s.is_none() {
        let navigate = use_navigate();
        navigate("/accesso", Default::default());
    }
    s
}

#[component]
pub fn NotFound() -> impl IntoView {
    view! {
        <h1>"Pagina non trovata"</h1>
        <p>"L'indirizzo richiesto non esiste. " <a href="/">"Torna alla pagina iniziale"</a></p>
    }
}
