//! The table of routes and their methods, read from the OpenAPI document (so it lists exactly
//! what is served): it answers `405` with `Allow` for a known path called with another method.

use utoipa::openapi::{path::HttpMethod, OpenApi};

pub struct RouteTable {
    routes: Vec<(Vec<Segment>, Vec<&'static str>)>,
}

enum Segment {
    Literal(String),
    Param,
}

fn method_name(m: &HttpMethod) -> &'static str {
    match m {
        HttpMethod::Get => "GET",
        HttpMethod::Post => "POST",
        HttpMethod::Put => "PUT",
        HttpMethod::Delete => "DELETE",
        HttpMethod::Options => "OPTIONS",
        HttpMethod::Head => "HEAD",
        HttpMethod::Patch => "PATCH",
        HttpMethod::Trace => "TRACE",
    }
}

/// The methods a path item serves.
fn methods_of(item: &utoipa::openapi::PathItem) -> Vec<&'static str> {
    [
        (HttpMethod::Get, item.get.is_some()),
        (HttpMethod::Post, item.post.is_some()),
        (HttpMethod::Put, item.put.is_some()),
        (HttpMethod::Delete, item.delete.is_some()),
        (HttpMethod::Patch, item.patch.is_some()),
    ]
    .iter()
    .filter(|(_, served)| *served)
    .map(|(m, _)| method_name(m))
    .collect()
}

impl RouteTable {
    pub fn from_openapi(api: &OpenApi) -> Self {
        let mut routes = Vec::new();
        for (path, item) in api.paths.paths.iter() {
            let segments = path
                .split('/')
                .filter(|s| !s.is_empty())
                .map(|s| if s.starts_with('{') { Segment::Param } else { Segment::Literal(s.to_owned()) })
                .collect();
            routes.push((segments, methods_of(item)));
        }
        Self { routes }
    }

    /// The methods served at `path` (empty when no route has this shape). Where a literal
    /// route and a parameterised one both fit (`/aziende/import` and `/aziende/{matricola}`),
    /// the most literal wins, as in the router.
    pub fn allowed(&self, path: &str) -> Vec<&'static str> {
        let parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let mut best: Option<usize> = None;
        let mut out: Vec<&'static str> = Vec::new();
        for (segments, methods) in &self.routes {
            let matches = segments.len() == parts.len()
                && segments.iter().zip(&parts).all(|(s, p)| match s {
                    Segment::Param => !p.is_empty(),
                    Segment::Literal(l) => l == p,
                });
            if !matches {
                continue;
            }
            let params = segments.iter().filter(|s| matches!(s, Segment::Param)).count();
            match best {
                Some(b) if params > b => continue,
                Some(b) if params < b => out.clear(),
                _ => {}
            }
            best = Some(params);
            for m in methods {
                if !out.contains(m) {
                    out.push(m);
                }
            }
        }
        out
    }

    /// Every (method, path pattern) pair, for tests that must cover each endpoint.
    pub fn all(api: &OpenApi) -> Vec<(&'static str, String)> {
        api.paths
            .paths
            .iter()
            .flat_map(|(path, item)| methods_of(item).into_iter().map(move |m| (m, path.clone())))
            .collect()
    }
}
