//! The routes a fleet of replicas needs (docs/oip.md §8), beside the Open Inference Protocol's:
//!
//! - `POST /v2/models/{name}/feedback` `{"labels": [{"token": "pcee1.…", "label": 3}, …]}` —
//!   true labels of decisions any replica holding the key made ([`crate::token`]); every label
//!   is checked (the token's tag, its age against `--feedback-ttl-s`, its exit, the class)
//!   before any is counted; answers `{"accepted", "duplicates", "alarms"}`;
//! - `GET /v2/models/{name}/monitor/counts` — this replica's counts per policy digest, which add
//!   across replicas ([`crate::monitor_counts`]);
//! - `GET /v2/models/{name}/monitor` — this replica's own test of its counts.
//!
//! Without `--feedback-key` the feedback route is `404` naming the flag.

use super::oip::check;
use super::read;
use super::reply::{json, Refusal};
use super::App;
use crate::token::Decided;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use serde_json::json as value;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Feedback {
    labels: Vec<Labelled>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Labelled {
    token: String,
    label: i64,
}

/// How far in the future a token's time may be (clocks of replicas differ).
const CLOCK_SKEW_MS: u64 = 60_000;

/// `POST /v2/models/{name}/feedback`.
pub(crate) async fn feedback(
    State(app): State<Arc<App>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let result = async {
        check(&app, &name, None)?;
        let bytes = read::body_of(&app, &headers, body).await?;
        let request: Feedback = read::json_of(
            &bytes,
            "feedback",
            "{\"labels\": [{\"token\": \"pcee1.…\", \"label\": 3}, …]}",
        )?;
        let labels = verified(&app, &request.labels)?;
        let counted = app.counts.label(&labels);
        Ok(json(
            StatusCode::OK,
            &value!({"accepted": counted.accepted, "duplicates": counted.duplicates,
                     "alarms": counted.alarms}),
        ))
    }
    .await;
    super::settle(&app, result)
}

/// Every label's token verified and its values in range, or the first one that is not.
fn verified(app: &App, labels: &[Labelled]) -> Result<Vec<(Decided, u32)>, Refusal> {
    let keys = app.options.feedback_keys.as_ref().ok_or_else(|| {
        Refusal::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "feedback by token needs a server started with --feedback-key FILE",
        )
    })?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let ttl = app.options.feedback_ttl.as_millis() as u64;
    let (exits, classes) = (app.flops.len(), app.model.classes());
    labels
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let bad = |field: &str, what: String| {
                Refusal::bad_request(format!("labels[{i}].{field}: {what}; no label was taken"))
            };
            let d = keys
                .verify(&app.name, &l.token)
                .map_err(|what| bad("token", what))?;
            if d.time_ms > now + CLOCK_SKEW_MS || now.saturating_sub(d.time_ms) > ttl {
                let age = now as i64 - d.time_ms as i64;
                return Err(bad(
                    "token",
                    format!("decided {age} ms ago; expected 0 to {ttl} ms (--feedback-ttl-s)"),
                ));
            }
            if usize::from(d.exit) >= exits {
                return Err(bad(
                    "token",
                    format!("exit {}; the model has {exits}", d.exit),
                ));
            }
            if !(0..classes as i64).contains(&l.label) {
                let what = format!("{} is not a class; expected 0 to {}", l.label, classes - 1);
                return Err(bad("label", what));
            }
            Ok((d, l.label as u32))
        })
        .collect()
}

/// `GET /v2/models/{name}/monitor/counts`.
pub(crate) async fn counts(State(app): State<Arc<App>>, Path(name): Path<String>) -> Response {
    let result = check(&app, &name, None).map(|()| json(StatusCode::OK, &app.counts.counts(&name)));
    super::settle(&app, result)
}

/// `GET /v2/models/{name}/monitor`.
pub(crate) async fn monitor(State(app): State<Arc<App>>, Path(name): Path<String>) -> Response {
    let result = check(&app, &name, None).map(|()| json(StatusCode::OK, &app.counts.alarms(&name)));
    super::settle(&app, result)
}
