//! Prometheus metrics: requests by route and status, latency histograms; and the request id
//! sent back in `X-Request-Id`.

use std::time::Instant;

use actix_web::{
    body::MessageBody,
    dev::{ServiceRequest, ServiceResponse},
    http::header::{HeaderName, HeaderValue},
    middleware::Next,
    web, Error, HttpMessage,
};
use prometheus::{Encoder, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder};
use tracing_actix_web::RequestId;

pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
}

impl Metrics {
    pub fn new() -> anyhow::Result<Self> {
        let registry = Registry::new_custom(Some("cassetto".into()), None)?;
        let requests = IntCounterVec::new(
            Opts::new("http_requests_total", "HTTP requests by route, method and status"),
            &["route", "method", "status"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new("http_request_duration_seconds", "HTTP request latency by route")
                .buckets(vec![0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0]),
            &["route", "method"],
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        Ok(Self { registry, requests, latency })
    }

    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buf);
        String::from_utf8(buf).unwrap_or_default()
    }
}

/// Records every request by its route pattern (never the raw path, which holds ids).
pub async fn track(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let start = Instant::now();
    let metrics = req.app_data::<web::Data<Metrics>>().cloned();
    let method = req.method().as_str().to_owned();
    let request_id = req.extensions().get::<RequestId>().map(|id| id.to_string());
    let res = next.call(req).await?;
    // actix answers a wrong method on a single-method resource with a bare 405: make it a
    // problem with `Allow`.
    let mut res = if res.status() == actix_web::http::StatusCode::METHOD_NOT_ALLOWED
        && !res.headers().contains_key(actix_web::http::header::ALLOW)
    {
        let table = res.request().app_data::<web::Data<crate::route_table::RouteTable>>().cloned();
        let allowed = table.map(|t| t.allowed(res.request().path())).unwrap_or_default();
        let err = crate::spa::method_not_allowed(res.request().method().as_str(), &allowed);
        let (req, _) = res.into_parts();
        ServiceResponse::new(req, actix_web::ResponseError::error_response(&err)).map_into_right_body()
    } else {
        res.map_into_left_body()
    };
    let route = res.request().match_pattern().unwrap_or_else(|| "unmatched".into());
    // The access log: the route pattern, never the path's values or the query string.
    tracing::info!(
        method = %method,
        route = %route,
        status = res.status().as_u16(),
        ms = start.elapsed().as_secs_f64() * 1000.0,
        request_id = request_id.as_deref().unwrap_or(""),
        "request"
    );
    if let Some(m) = metrics {
        let status = res.status().as_u16().to_string();
        m.requests.with_label_values(&[&route, &method, &status]).inc();
        m.latency.with_label_values(&[&route, &method]).observe(start.elapsed().as_secs_f64());
    }
    if let Some(id) = request_id.and_then(|id| HeaderValue::from_str(&id).ok()) {
        res.headers_mut().insert(HeaderName::from_static("x-request-id"), id);
    }
    Ok(res)
}
