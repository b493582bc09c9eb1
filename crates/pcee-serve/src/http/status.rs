//! `GET /healthz`, `GET /metrics`, and the reply to unknown routes.

use super::reply::{json, Refusal};
use super::App;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode, Uri};
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
    Refusal::new(
        StatusCode::NOT_FOUND,
        "not_found",
        format!(
            "no route {}; expected POST /v1/classify, GET or PUT /v1/policy, GET /healthz or GET /metrics",
            uri.path()
        ),
    )
    .into_response()
}
