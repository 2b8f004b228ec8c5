//! Calls to the public API with the session's bearer token; problem+json errors become
//! `ApiError` with the Italian detail and the invalid fields.

use cassetto_dto::{FieldError, Problem};
use gloo_net::http::{Request, RequestBuilder, Response};
use serde::{de::DeserializeOwned, Serialize};
use wasm_bindgen::{closure::Closure, JsCast, JsValue};

use crate::session;

#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: u16,
    pub detail: String,
    pub fields: Vec<FieldError>,
}

impl ApiError {
    fn network() -> Self {
        ApiError { status: 0, detail: "Il servizio non è raggiungibile: verificare la connessione e riprovare.".into(), fields: vec![] }
    }

    /// The message for one field, if the server named it.
    pub fn field(&self, name: &str) -> Option<String> {
        self.fields.iter().find(|f| f.field == name).map(|f| f.message.clone())
    }
}

fn with_auth(b: RequestBuilder) -> RequestBuilder {
    match session::token() {
        Some(t) => b.header("Authorization", &format!("Bearer {t}")),
        None => b,
    }
}

async fn problem_of(status: u16, text: String) -> ApiError {
    if status == 401 && session::token().is_some() {
        session::expire();
    }
    match serde_json::from_str::<Problem>(&text) {
        Ok(p) => ApiError { status, detail: p.detail, fields: p.errors },
        Err(_) => ApiError { status, detail: format!("Errore imprevisto (HTTP {status})."), fields: vec![] },
    }
}

async fn finish<T: DeserializeOwned>(res: Result<Response, gloo_net::Error>) -> Result<(T, Option<String>), ApiError> {
    let res = res.map_err(|_| ApiError::network())?;
    let status = res.status();
    let etag = res.headers().get("etag");
    let text = res.text().await.map_err(|_| ApiError::network())?;
    if (200..300).contains(&status) {
        serde_json::from_str(&text)
            .map(|v| (v, etag))
            .map_err(|_| ApiError { status, detail: "Risposta del servizio non leggibile.".into(), fields: vec![] })
    } else {
        Err(problem_of(status, text).await)
    }
}

pub async fn get<T: DeserializeOwned>(path: &str) -> Result<T, ApiError> {
    finish(with_auth(Request::get(path)).send().await).await.map(|r| r.0)
}

/// GET returning the `ETag` too.
pub async fn get_tagged<T: DeserializeOwned>(path: &str) -> Result<(T, Option<String>), ApiError> {
    finish(with_auth(Request::get(path)).send().await).await
}

async fn send_json<B: Serialize, T: DeserializeOwned>(
    builder: RequestBuilder,
    body: &B,
    if_match: Option<&str>,
) -> Result<(T, Option<String>), ApiError> {
    let mut b = with_auth(builder);
    if let Some(tag) = if_match {
        b = b.header("If-Match", tag);
    }
    let req = b.json(body).map_err(|_| ApiError::network())?;
    finish(req.send().await).await
}

pub async fn post<B: Serialize, T: DeserializeOwned>(path: &str, body: &B) -> Result<T, ApiError> {
    send_json(Request::post(path), body, None).await.map(|r| r.0)
}

pub async fn post_if_match<B: Serialize, T: DeserializeOwned>(
    path: &str,
    body: &B,
    if_match: Option<&str>,
) -> Result<(T, Option<String>), ApiError> {
    send_json(Request::post(path), body, if_match).await
}

/// Sign-in (no token yet).
pub async fn login(username: &str, password: &str) -> Result<cassetto_dto::auth::TokenResponse, ApiError> {
    let body = serde_json::json!({"username": username, "password": password});
    let req = Request::post("/api/v1/auth/login").json(&body).map_err(|_| ApiError::network())?;
    let res = req.send().await.map_err(|_| ApiError::network())?;
    let status = res.status();
    let text = res.text().await.map_err(|_| ApiError::network())?;
    if status == 200 {
        serde_json::from_str(&text).map_err(|_| ApiError::network())
    } else {
        let p = serde_json::from_str::<Problem>(&text).ok();
        Err(ApiError {
            status,
            detail: p.as_ref().map(|p| p.detail.clone()).unwrap_or_else(|| "Accesso non riuscito.".into()),
            fields: p.map(|p| p.errors).unwrap_or_default(),
        })
    }
}

/// Downloads a protected file and offers it to the user as `name`.
pub async fn download(path: &str, name: &str) -> Result<(), ApiError> {
    let res = with_auth(Request::get(path)).send().await.map_err(|_| ApiError::network())?;
    let status = res.status();
    if status != 200 {
        let text = res.text().await.unwrap_or_default();
        return Err(problem_of(status, text).await);
    }
    let bytes = res.binary().await.map_err(|_| ApiError::network())?;
    let array = js_sys::Uint8Array::from(bytes.as_slice());
    let parts = js_sys::Array::of1(&array.into());
    let opts = web_sys::BlobPropertyBag::new();
    opts.set_type("application/zip");
    let blob = web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &opts).map_err(|_| ApiError::network())?;
    let url = web_sys::Url::create_object_url_with_blob(&blob).map_err(|_| ApiError::network())?;
    let document = web_sys::window().and_then(|w| w.document()).ok_or_else(ApiError::network)?;
    let a: web_sys::HtmlAnchorElement =
        document.create_element("a").map_err(|_| ApiError::network())?.unchecked_into();
    a.set_href(&url);
    a.set_download(name);
    a.click();
    let _ = web_sys::Url::revoke_object_url(&url);
    Ok(())
}

/// Sends `POST /api/v1/requests` as multipart with upload progress (0.0–1.0).
pub async fn upload(form: web_sys::FormData, on_progress: impl Fn(f64) + 'static) -> Result<cassetto_dto::requests::Request, ApiError> {
    let xhr = web_sys::XmlHttpRequest::new().map_err(|_| ApiError::network())?;
    xhr.open_with_async("POST", "/api/v1/requests", true).map_err(|_| ApiError::network())?;
    if let Some(t) = session::token() {
        let _ = xhr.set_request_header("Authorization", &format!("Bearer {t}"));
    }
    let progress = Closure::<dyn FnMut(web_sys::ProgressEvent)>::new(move |e: web_sys::ProgressEvent| {
        if e.length_computable() && e.total() > 0.0 {
            on_progress(e.loaded() / e.total());
        }
    });
    if let Ok(up) = xhr.upload() {
        up.set_onprogress(Some(progress.as_ref().unchecked_ref()));
    }
    let x = xhr.clone();
    let promise = js_sys::Promise::new(&mut |resolve, reject| {
        let done = Closure::once_into_js(move || {
            let _ = resolve.call0(&JsValue::NULL);
        });
        let failed = Closure::once_into_js(move || {
            let _ = reject.call0(&JsValue::NULL);
        });
        x.set_onload(Some(done.unchecked_ref()));
        x.set_onerror(Some(failed.unchecked_ref()));
    });
    xhr.send_with_opt_form_data(Some(&form)).map_err(|_| ApiError::network())?;
    let outcome = wasm_bindgen_futures::JsFuture::from(promise).await;
    drop(progress);
    outcome.map_err(|_| ApiError::network())?;
    let status = xhr.status().unwrap_or(0);
    let text = xhr.response_text().ok().flatten().unwrap_or_default();
    if status == 201 {
        serde_json::from_str(&text).map_err(|_| ApiError::network())
    } else {
        Err(problem_of(status, text).await)
    }
}

/// `encodeURIComponent`.
pub fn enc(s: &str) -> String {
    String::from(js_sys::encode_uri_component(s))
}
