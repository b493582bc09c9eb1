//! `GET /v1/policy` (what is loaded) and `PUT /v1/policy` (replace it: a policy file's JSON,
//! checked against the model, swapped atomically; `400` and the old policy kept otherwise).

use super::read;
use super::reply::{json, Refusal};
use super::App;
use crate::policy::LoadedPolicy;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

/// The loaded policy, the model it is checked against, and the serving mode.
pub(crate) async fn show(State(app): State<Arc<App>>) -> Response {
    json(StatusCode::OK, &summary(&app, &app.slot.current()))
}

/// Replaces the policy by the body.
pub(crate) async fn replace(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let result = async {
        let bytes = read::body_of(&app, &headers, body).await?;
        app.slot
            .replace(&bytes, "PUT /v1/policy", &app.model)
            .map_err(|err| Refusal::bad_request(format!("policy: {err}")))
    }
    .await;
    match result {
        Ok(loaded) => {
            app.monitor.reset(&loaded);
            app.metrics.policy_swapped(&loaded);
            app.counts.swapped(&loaded);
            json(StatusCode::OK, &summary(&app, &loaded))
        }
        Err(refusal) => {
            app.metrics.error("policy");
            refusal.into_response()
        }
    }
}

/// `{"version", "origin", "method", "delta", "bins", "binning", "exits", "flops", "mode",
/// "model": {"path", "preset", "exits", "classes", "flops"}, "file": <the policy file>}`.
pub(crate) fn summary(app: &App, loaded: &LoadedPolicy) -> serde_json::Value {
    let file = &loaded.file;
    serde_json::json!({
        "version": loaded.version,
        "digest": crate::token::digest_text(&loaded.digest),
        "origin": loaded.origin,
        "method": file.method.name(),
        "delta": file.delta,
        "bins": file.bins(),
        "binning": file.binning.name(),
        "exits": file.exit_count(),
        "flops": file.flops(),
        "mode": app.options.mode.name(),
        "model": {
            "path": app.model_path,
            "preset": app.preset,
            "exits": app.model.exits(),
            "classes": app.model.classes(),
            "flops": app.flops,
        },
        "file": loaded.json,
    })
}
