//! Cross-origin calls, for a web app served from another origin: allowed for the configured
//! origins only (`CASSETTO_CORS_ORIGINS`). A request from any other origin gets no CORS
//! header, so the browser keeps its answer from the page that asked.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{web, Error, HttpResponse};

use crate::state::AppState;

const METHODS: &str = "GET, POST, PUT, PATCH, DELETE, OPTIONS";
const HEADERS: &str = "authorization, content-type, idempotency-key, if-match, x-request-id";
const EXPOSED: &str = "etag, location, x-request-id, retry-after";

pub async fn cors(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok())
        .filter(|o| {
            req.app_data::<web::Data<AppState>>()
                .is_some_and(|s| s.settings.cors_origins.iter().any(|allowed| allowed == o))
        })
        .and_then(|o| HeaderValue::from_str(o).ok());
    let Some(origin) = origin else {
        return Ok(next.call(req).await?.map_into_left_body());
    };
    if req.method() == actix_web::http::Method::OPTIONS
        && req.headers().contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
    {
        let res = HttpResponse::NoContent()
            .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, origin))
            .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, METHODS))
            .insert_header((header::ACCESS_CONTROL_ALLOW_HEADERS, HEADERS))
            .insert_header((header::ACCESS_CONTROL_MAX_AGE, "600"))
            .insert_header((header::VARY, "Origin"))
            .finish();
        return Ok(req.into_response(res).map_into_right_body());
    }
    let mut res = next.call(req).await?;
    let h = res.headers_mut();
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    h.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static(EXPOSED));
    h.append(header::VARY, HeaderValue::from_static("Origin"));
    Ok(res.map_into_left_body())
}

/// API answers are data, never pages: a browser that opens one directly runs nothing in it and
/// frames it nowhere.
pub async fn api_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let api = req.path().starts_with("/api/");
    let mut res = next.call(req).await?;
    if api {
        res.headers_mut().insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
        );
        res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    Ok(res)
}
