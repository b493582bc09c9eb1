//! One rule for what every route accepts (issue 33, item 7): the route's methods, the media
//! types of its body and its query parameters, checked in one place before any handler runs.
//! A body route needs a `Content-Type` it names (a missing one is refused, not guessed);
//! a query parameter the route does not know is refused on every route.

use super::reply::Refusal;
use super::App;
use axum::extract::{Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use std::time::Instant;

/// A route: its path, the methods it takes (as the messages write them), the media types its
/// body may have (empty: it reads no body) and the query parameters it knows.
pub(crate) struct Route {
    pub path: &'static str,
    pub methods: &'static str,
    pub media: &'static [&'static str],
    pub query: &'static [&'static str],
}

const JSON: &[&str] = &["application/json"];

/// Every route (the router in [`super::router`] maps them to handlers).
pub(crate) const ROUTES: [Route; 6] = [
    Route {
        path: "/v1/classify",
        methods: "POST",
        media: &[
            "application/json",
            "application/octet-stream",
            "application/x-npy",
            "application/npy",
        ],
        query: &["delta"],
    },
    Route {
        path: "/v1/policy",
        methods: "GET or PUT",
        media: JSON,
        query: &[],
    },
    Route {
        path: "/v1/feedback",
        methods: "POST",
        media: JSON,
        query: &[],
    },
    Route {
        path: "/v1/monitor",
        methods: "GET",
        media: &[],
        query: &[],
    },
    Route {
        path: "/healthz",
        methods: "GET",
        media: &[],
        query: &[],
    },
    Route {
        path: "/metrics",
        methods: "GET",
        media: &[],
        query: &[],
    },
];

/// The middleware: refuses a request its route does not accept, else runs the handler.
pub(crate) async fn check(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let Some(route) = ROUTES.iter().find(|r| r.path == request.uri().path()) else {
        if let Some(refusal) = v2_refusal(&request) {
            app.metrics.error(refusal.kind);
            return refusal.into_response();
        }
        return next.run(request).await;
    };
    match refusal(route, &request) {
        Some(refusal) => {
            app.metrics.error(refusal.kind);
            if route.path == "/v1/classify" {
                // `pcee_requests_total` counts every classify request, refused here or not.
                app.metrics
                    .request(refusal.status.as_u16(), started.elapsed());
            }
            refusal.into_response()
        }
        None => next.run(request).await,
    }
}

/// The Open Inference Protocol's routes (`/v2…`) take no query parameter, and a body with no
/// `Content-Type` (`tritonclient` sends none), JSON or octet-stream (binary tensor data).
fn v2_refusal(request: &Request) -> Option<Refusal> {
    let path = request.uri().path();
    if !path.starts_with("/v2") {
        return None;
    }
    let what = format!("{} {path}", request.method());
    if let Some(query) = request.uri().query().filter(|q| !q.is_empty()) {
        return Some(Refusal::bad_request(format!(
            "{what}: query '{}'; the Open Inference Protocol's routes take no query parameters \
             (δ goes in the body's \"parameters\")",
            query.escape_default()
        )));
    }
    let given = request.headers().get(header::CONTENT_TYPE)?;
    let text = String::from_utf8_lossy(given.as_bytes()).into_owned();
    let media = text
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let accepted = ["application/json", "application/octet-stream"];
    (request.method() == Method::POST && !accepted.contains(&media.as_str())).then(|| {
        Refusal::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "media_type",
            format!(
                "{what}: Content-Type '{}'; expected none, application/json or \
                 application/octet-stream",
                text.escape_default()
            ),
        )
    })
}

/// Why `route` refuses `request`, if it does.
fn refusal(route: &Route, request: &Request) -> Option<Refusal> {
    let what = format!("{} {}", request.method(), route.path);
    for pair in request.uri().query().unwrap_or("").split('&') {
        let key = pair.split_once('=').map_or(pair, |(k, _)| k);
        if !key.is_empty() && !route.query.contains(&key) {
            let expected = match route.query {
                [] => "no query parameters".to_string(),
                known => known.join(", "),
            };
            return Some(Refusal::bad_request(format!(
                "{what}: query parameter '{}' is unknown; expected {expected}",
                key.escape_default()
            )));
        }
    }
    let has_body = matches!(*request.method(), Method::POST | Method::PUT);
    if !has_body || route.media.is_empty() {
        return None;
    }
    let given = request
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let media = given.as_deref().map(|c| {
        c.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    });
    match media {
        Some(m) if route.media.contains(&m.as_str()) => None,
        _ => Some(Refusal::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "media_type",
            format!(
                "{what}: Content-Type {}; expected {}",
                given.map_or("missing".to_string(), |g| format!(
                    "'{}'",
                    g.escape_default()
                )),
                route.media.join(" or ")
            ),
        )),
    }
}
