//! The HTTP layer (axum): routes, reading bodies, replies. No algorithm here: bodies are
//! decoded by [`crate::body`], images go to the [`Engine`], policies to the [`PolicySlot`].
//!
//! - `POST /v1/classify` — [`classify`]
//! - `GET /v1/policy`, `PUT /v1/policy` — [`policy`]
//! - `GET /healthz`, `GET /metrics` — [`status`]

mod classify;
mod policy;
mod read;
mod reply;
mod status;

use crate::config::ServeOptions;
use crate::engine::Engine;
use crate::metrics::Metrics;
use crate::policy::PolicySlot;
use axum::routing::{get, post};
use axum::Router;
use pcee_nn::Model;
use std::sync::Arc;
use tokio::sync::Semaphore;

/// Everything a request handler reads.
pub(crate) struct App {
    pub engine: Engine,
    pub slot: PolicySlot,
    /// The model as loaded (for policy checks and its FLOPs; the engine runs its own copy).
    pub model: Model,
    /// Cumulative FLOPs per image of each exit.
    pub flops: Vec<f64>,
    /// The weights file and its preset name, for `GET /v1/policy`.
    pub model_path: String,
    pub preset: Option<String>,
    pub metrics: Arc<Metrics>,
    pub options: ServeOptions,
    /// Requests being read or waiting (bounds the bodies held in memory).
    pub in_flight: Semaphore,
}

/// The router over `app`.
pub(crate) fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/v1/classify", post(classify::classify))
        .route("/v1/policy", get(policy::show).put(policy::replace))
        .route("/healthz", get(status::healthz))
        .route("/metrics", get(status::metrics))
        .fallback(status::not_found)
        .with_state(app)
}
