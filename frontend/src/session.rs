//! The signed-in user: token and profile kept in `localStorage`, so a reload keeps the session
//! until the token expires; an expired or refused token sends the user back to sign-in with a
//! message, never to a blank page.

use cassetto_dto::auth::Me;
use serde::{Deserialize, Serialize};

const KEY: &str = "cassetto.session";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    pub token: String,
    /// Milliseconds since the epoch.
    pub expires_at: f64,
    pub me: Me,
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

pub fn load() -> Option<Session> {
    let raw = storage()?.get_item(KEY).ok()??;
    let s: Session = serde_json::from_str(&raw).ok()?;
    (s.expires_at > js_sys::Date::now()).then_some(s)
}

pub fn save(s: &Session) {
    if let (Some(st), Ok(raw)) = (storage(), serde_json::to_string(s)) {
        let _ = st.set_item(KEY, &raw);
    }
}

pub fn token() -> Option<String> {
    load().map(|s| s.token)
}

pub fn clear() {
    if let Some(st) = storage() {
        let _ = st.remove_item(KEY);
    }
}

/// The token is no longer valid: back to sign-in, saying why.
pub fn expire() {
    clear();
    if let Some(w) = web_sys::window() {
        let _ = w.location().set_href("/accesso?motivo=scaduta");
    }
}

/// Milliseconds until the token expires (for the automatic sign-out).
pub fn remaining_ms() -> Option<f64> {
    load().map(|s| s.expires_at - js_sys::Date::now())
}
