//! `POST /v1/classify`: decode, admit (or `503`), await the engine's decisions, hand them to
//! the reliability monitor, reply
//! `{"results": [{"id", "class", "confidence", "exit", "flops"}, …], "delta", "policy_version"}`
//! in request order.

use super::read;
use super::reply::{json, Refusal};
use super::App;
use crate::body::{decode, query_delta, IMAGE_PIXELS};
use crate::engine::Served;
use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use pcee::Delta;
use serde::Serialize;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

/// One image's answer.
#[derive(Debug, Serialize)]
struct Answer {
    /// The image's id, unique per server run (given at admission): what `POST /v1/feedback`
    /// labels.
    id: u64,
    /// Predicted class at its exit.
    class: u32,
    /// Largest softmax probability at that exit, in [0, 1].
    confidence: f64,
    /// Exit (0-based) at which it left.
    exit: usize,
    /// Cumulative FLOPs per image up to that exit.
    flops: f64,
}

#[derive(Debug, Serialize)]
struct Answers {
    results: Vec<Answer>,
    /// The δ the images were decided with.
    delta: Delta,
    /// The policy version that decided every image of this request.
    policy_version: u64,
}

/// The handler; every outcome is counted in the metrics.
pub(crate) async fn classify(
    State(app): State<Arc<App>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = Instant::now();
    let result = answer(&app, query.as_deref(), &headers, body).await;
    super::settle_timed(&app, started, result.map(|a| json(StatusCode::OK, &a)))
}

async fn answer(
    app: &App,
    query: Option<&str>,
    headers: &HeaderMap,
    body: Body,
) -> Result<Answers, Refusal> {
    let bytes = read::body_of(app, headers, body).await?;
    let _permit = read::admit(app)?;
    let delta = query_delta(query).map_err(Refusal::bad_request)?;
    let request = decode(read::content_type(headers), delta, &bytes, &app.model)
        .map_err(Refusal::bad_request)?;
    drop(bytes);
    let decided = decide(app, request, false).await?;
    let (first, served) = (decided.first, decided.served);
    Ok(Answers {
        results: served
            .iter()
            .enumerate()
            .map(|(i, s)| to_answer(first + i as u64, s, &app.flops))
            .collect(),
        delta: decided.delta,
        policy_version: decided.version,
    })
}

/// What the engine decided for one request: each sample's answer, the δ used, the policy
/// version, and the id of the first sample (ids are consecutive).
pub(super) struct Decided {
    pub served: Vec<Served>,
    pub delta: Delta,
    pub version: u64,
    pub first: u64,
    /// The digest of the policy that decided them.
    pub digest: [u8; 16],
    /// Whether δ was the policy's (the monitors count only those decisions).
    pub monitored: bool,
}

/// Runs a decoded request through the engine (or refuses it: too many samples, a full queue,
/// the engine stopped, the network failing on its inputs) and hands every answer to the
/// reliability monitor (and the re-calibrator); with `keep_logits` each answer carries its
/// exit's logits. Shared by `/v1/classify` and the Open Inference Protocol's `infer`; the
/// caller holds an in-flight permit.
pub(super) async fn decide(
    app: &App,
    request: crate::body::ClassifyRequest,
    keep_logits: bool,
) -> Result<Decided, Refusal> {
    if request.count > app.options.queue {
        return Err(Refusal::too_large(format!(
            "{} samples in one request; at most {} (--queue)",
            request.count, app.options.queue
        )));
    }
    let loaded = app.slot.current();
    let delta = request.delta.unwrap_or(loaded.file.delta);
    let policy = loaded.file.policy(delta);
    let temperatures = loaded.file.temperatures.clone();
    let count = request.count;
    let kept = app.recalibrator.as_ref().and(request.pixels);
    let ticket = app
        .engine
        .submit(request.inputs, policy, temperatures, keep_logits)
        .map_err(|err| Refusal::unavailable("overloaded", err))?;
    let first = app.next_id.fetch_add(count as u64, Ordering::Relaxed);
    let served = ticket
        .await
        .map_err(|_| Refusal::unavailable("stopped", "the engine stopped before answering; retry"))?
        .map_err(|reason| {
            Refusal::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "network_failed",
                format!(
                    "the network failed on this request's inputs, run without any other \
                     request's ({reason})"
                ),
            )
        })?;
    app.counts.decided(&loaded, delta.get(), &served);
    for (i, s) in served.iter().enumerate() {
        let d = &s.decision;
        let id = first + i as u64;
        let watched = app.monitor.observe(
            loaded.version,
            delta.get(),
            id,
            d.exit,
            &s.confidences,
            d.prediction,
        );
        if let (true, Some(r), Some(pixels)) = (watched, &app.recalibrator, &kept) {
            r.keep(
                loaded.version,
                id,
                &pixels[i * IMAGE_PIXELS..(i + 1) * IMAGE_PIXELS],
            );
        }
    }
    Ok(Decided {
        served,
        delta,
        version: loaded.version,
        first,
        digest: loaded.digest,
        monitored: delta == loaded.file.delta,
    })
}

fn to_answer(id: u64, s: &Served, flops: &[f64]) -> Answer {
    let d = &s.decision;
    Answer {
        id,
        class: d.prediction,
        confidence: d.confidence,
        exit: d.exit,
        flops: flops[d.exit],
    }
}
