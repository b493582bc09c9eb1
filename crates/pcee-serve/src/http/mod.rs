//! The HTTP layer (axum): routes, reading bodies, replies. No algorithm here: bodies are
//! decoded by [`crate::body`], images go to the [`Engine`], policies to the [`PolicySlot`].
//!
//! - `POST /v1/classify` — [`classify`]
//! - `GET /v1/policy`, `PUT /v1/policy` — [`policy`]
//! - `POST /v1/feedback`, `GET /v1/monitor` — [`feedback`] (the online reliability monitor)
//! - `GET /healthz`, `GET /metrics` — [`status`]
//! - the Open Inference Protocol under `/v2` — [`oip`]
//!
//! What each route accepts (methods, body media types, query parameters) is one table,
//! checked before any handler: [`route`].

mod classify;
mod feedback;
mod fleet;
mod oip;
mod policy;
mod read;
mod reply;
mod route;
mod status;

use crate::config::ServeOptions;
use crate::engine::{Engine, ServedNetwork};
use crate::metrics::Metrics;
use crate::monitoring::LiveMonitor;
use crate::policy::PolicySlot;
use crate::recalibration::Recalibrator;
use axum::routing::{get, post};
use axum::Router;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use tokio::sync::Semaphore;

/// Everything a request handler reads.
pub(crate) struct App {
    pub engine: Engine,
    pub slot: PolicySlot,
    /// The model as loaded (for policy checks and its FLOPs; the engine runs its own copy).
    pub model: ServedNetwork,
    /// Cumulative FLOPs per image of each exit.
    pub flops: Vec<f64>,
    /// The model's name in the Open Inference Protocol (`--name`; default: the model file's
    /// stem or the stage directory's name).
    pub name: String,
    /// The weights file and its preset name, for `GET /v1/policy`.
    pub model_path: String,
    pub preset: Option<String>,
    pub metrics: Arc<Metrics>,
    pub options: ServeOptions,
    /// Requests admitted (body read) and not yet answered (`--max-requests`).
    pub in_flight: Semaphore,
    /// The online reliability monitor of the policy in force.
    pub monitor: LiveMonitor,
    /// The id of the next image admitted (ids are unique per server run).
    pub next_id: AtomicU64,
    /// Automatic re-calibration, when asked for (`--recalibrate N`).
    pub recalibrator: Option<Recalibrator>,
    /// The monitor counts of this replica, per policy digest (merged across a fleet).
    pub counts: crate::monitor_counts::ReplicaCounts,
}

/// The response of `result`, a refusal counted in the metrics by its kind.
pub(crate) fn settle(
    app: &App,
    result: Result<axum::response::Response, reply::Refusal>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    result.unwrap_or_else(|refusal| {
        app.metrics.error(refusal.kind);
        refusal.into_response()
    })
}

/// As [`settle`], and the request counted with its status and its time since `started`.
pub(crate) fn settle_timed(
    app: &App,
    started: std::time::Instant,
    result: Result<axum::response::Response, reply::Refusal>,
) -> axum::response::Response {
    let response = settle(app, result);
    app.metrics
        .request(response.status().as_u16(), started.elapsed());
    response
}

/// The router over `app`.
pub(crate) fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/v1/classify", post(classify::classify))
        .route("/v1/policy", get(policy::show).put(policy::replace))
        .route("/v1/feedback", post(feedback::feedback))
        .route("/v1/monitor", get(feedback::monitor))
        .route("/healthz", get(status::healthz))
        .route("/v2", get(oip::server))
        .route("/v2/health/live", get(oip::live))
        .route("/v2/health/ready", get(oip::ready))
        .route("/v2/models/{name}", get(oip::model))
        .route("/v2/models/{name}/ready", get(oip::model_ready))
        .route("/v2/models/{name}/infer", post(oip::infer))
        .route("/v2/models/{name}/feedback", post(fleet::feedback))
        .route("/v2/models/{name}/monitor", get(fleet::monitor))
        .route("/v2/models/{name}/monitor/counts", get(fleet::counts))
        .route(
            "/v2/models/{name}/versions/{version}",
            get(oip::model_version),
        )
        .route(
            "/v2/models/{name}/versions/{version}/ready",
            get(oip::model_version_ready),
        )
        .route(
            "/v2/models/{name}/versions/{version}/infer",
            post(oip::infer_version),
        )
        .route("/metrics", get(status::metrics))
        .fallback(status::not_found)
        .method_not_allowed_fallback(status::method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            route::check,
        ))
        .with_state(app)
}
