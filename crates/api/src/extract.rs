//! Extractors that turn malformed input into problem+json: JSON bodies are parsed with the path
//! of the offending field and then validated.

use std::future::Future;
use std::pin::Pin;

use actix_web::{dev::Payload, web, FromRequest, HttpRequest};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use validator::Validate;

use crate::error::{ApiError, ApiResult};

/// Largest JSON body accepted (the multipart create has its own limits).
pub const MAX_JSON_BYTES: usize = 256 * 1024;

/// A JSON body, deserialised and validated. The outcome is kept for the handler, which reads
/// it with `value()` after checking who the caller is: authorization answers before validation,
/// so a caller without the right never learns how a valid body would look.
pub struct ValidJson<T>(ApiResult<T>);

impl<T> ValidJson<T> {
    pub fn value(self) -> ApiResult<T> {
        self.0
    }
}

impl<T: DeserializeOwned + Validate + 'static> FromRequest for ValidJson<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let parsed = JsonBody::<T>::from_request(req, payload);
        Box::pin(async move {
            let outcome = match parsed.await {
                Ok(body) => body.value().and_then(|v| v.validate().map(|_| v).map_err(ApiError::from)),
                Err(e) => Err(e),
            };
            Ok(ValidJson(outcome))
        })
    }
}

/// A JSON body, deserialised only: for handlers whose service validates it, so that every
/// invalid field (the DTO's rules and the registry's) is reported in one answer. Read with
/// `value()` after the authorization checks, like `ValidJson`.
pub struct JsonBody<T>(ApiResult<T>);

impl<T> JsonBody<T> {
    pub fn value(self) -> ApiResult<T> {
        self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for JsonBody<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let content_type = req
            .headers()
            .get(actix_web::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        let mut payload = payload.take();
        Box::pin(async move {
            let outcome = async {
                if !content_type.starts_with("application/json") {
                    return Err(ApiError::UnsupportedMediaType(
                        "il corpo della richiesta deve essere JSON (Content-Type: application/json)".into(),
                    ));
                }
                let bytes = read_limited(&mut payload, MAX_JSON_BYTES).await?;
                parse_json::<T>(&bytes)
            }
            .await;
            Ok(JsonBody(outcome))
        })
    }
}

pub(crate) async fn read_limited(payload: &mut Payload, limit: usize) -> Result<web::BytesMut, ApiError> {
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| ApiError::BadRequest("il corpo della richiesta non è leggibile".into()))?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::PayloadTooLarge(format!(
                "il corpo della richiesta supera il limite di {} KiB",
                limit / 1024
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Parses JSON, telling syntax errors (400) from wrong or missing fields (422, with the path).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => {
                let msg = inner.to_string();
                let (field, message) =
                    if let Some(name) = msg.strip_prefix("missing field `").and_then(|r| r.split('`').next()) {
                        let field = if path == "." { name.to_owned() } else { format!("{path}.{name}") };
                        (field, "campo obbligatorio".to_owned())
                    } else if msg.starts_with("unknown variant") {
                        (path, "valore non ammesso".to_owned())
                    } else {
                        (path, "tipo di valore non valido".to_owned())
                    };
                ApiError::field(if field == "." { "body".to_owned() } else { field }, message)
            }
            _ => ApiError::BadRequest("il corpo della richiesta non è un JSON valido".into()),
        }
    })
}

/// Query-string errors become a 400 problem.
pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err, _| {
        ApiError::BadRequest(format!("parametri di ricerca non validi: {}", sanitize(&err.to_string()))).into()
    })
}

/// Path errors (e.g. a non-numeric id) read as "not found".
pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|_, _| ApiError::not_found().into())
}

/// Form bodies (the client-credentials grant).
pub fn form_config() -> web::FormConfig {
    web::FormConfig::default().limit(16 * 1024).error_handler(|err, _| {
        ApiError::BadRequest(format!("modulo non valido: {}", sanitize(&err.to_string()))).into()
    })
}

/// Keeps an error text short and free of control characters.
fn sanitize(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(200).collect()
}
