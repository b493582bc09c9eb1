//! `GET /healthz`, `GET /metrics`, and the reply to unknown routes.

use super::reply::{json, Refusal};
use super::route::ROUTES;
use super::App;
use axum::extract::State;
use axum::http::{header, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

/// `200 {"status": "ok", "queued": N}` while the server runs.
pub(crate) async fn healthz(State(app): State<Arc<App>>) -> Response {
    json(
        StatusCode::OK,
        &serde_json::json!({"status": "ok", "queued": app.engine.queued()}),
    )
}

/// Every metric, in the Prometheus text format (OpenMetrics 1.0).
pub(crate) async fn metrics(State(app): State<Arc<App>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
        )],
        app.metrics.encode(),
    )
        .into_response()
}

/// `404` with a one-line JSON error naming the routes.
pub(crate) async fn not_found(uri: Uri) -> Response {
    let routes: Vec<String> = ROUTES
        .iter()
        .map(|r| format!("{} {}", r.methods, r.path))
        .collect();
    Refusal::new(
        StatusCode::NOT_FOUND,
        "not_found",
        format!(
            "no route {}; expected one of {}, or the Open Inference Protocol's GET /v2, \
             /v2/health/live, /v2/health/ready, /v2/models/NAME[/versions/1][/ready], POST \
             /v2/models/NAME[/versions/1]/infer, POST /v2/models/NAME/feedback, GET \
             /v2/models/NAME/monitor[/counts]",
            uri.path(),
            routes.join(", ")
        ),
    )
    .into_response()
}

/// `405` with a one-line JSON error naming the methods the route takes (axum's own reply has
/// an empty body).
pub(crate) async fn method_not_allowed(method: Method, uri: Uri) -> Response {
    let allowed = ROUTES
        .iter()
        .find(|r| r.path == uri.path())
        .map_or("another method", |r| r.methods);
    Refusal::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!(
            "{method} {}: method not allowed; expected {allowed}",
            uri.path()
        ),
    )
    .into_response()
}
