//! The Open Inference Protocol (the "V2" protocol of KServe, NVIDIA Triton and Seldon
//! MLServer; REST with JSON bodies), so that `tritonclient` and any V2 client talk to pcee:
//!
//! - `GET /v2/health/live`, `GET /v2/health/ready` — `{"live": true}`, `{"ready": true}`;
//! - `GET /v2` — server metadata `{"name": "pcee", "version", "extensions":
//!   ["binary_tensor_data"]}`;
//! - `GET /v2/models/{name}[/versions/1]` — model metadata: the network's inputs (OIP
//!   datatypes, shape with `-1` for the batch axis) and the outputs `label`, `exit`,
//!   `confidence`, `logits`, with the policy in force in `parameters`;
//! - `GET /v2/models/{name}[/versions/1]/ready`;
//! - `POST /v2/models/{name}[/versions/1]/infer` — the request of [`crate::body::oip`]; the
//!   answer `{"model_name", "model_version", "id", "parameters": {"delta", "policy_version",
//!   "mean_flops"}, "outputs": [{"name": "label", "datatype": "INT64", "shape": [N], "data":
//!   […]}, …]}`: the class, the exit (0-based) and the confidence at that exit of every sample
//!   (those three when the request names no output), and, when asked, `logits` (FP32 `[N,
//!   classes]`, raw, of the exit taken).
//!
//! Errors are the protocol's `{"error": "…"}`: 400 for a malformed request, 404 for another
//! model or version, 503 (with `Retry-After`) when the server is full. The model has one
//! version, `1`. Tensors may come and go as binary data (Triton's extension,
//! [`crate::body::oip_binary`]; `tritonclient`'s default).

use super::classify::{decide, Decided};
use super::read;
use super::reply::{json, Refusal};
use super::App;
use crate::body::oip::{datatype, decode};
use crate::body::oip_binary::split;
use crate::body::ClassifyRequest;
use crate::engine::Served;
use crate::token::{self, digest_text};
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json as value, Value};
use std::sync::Arc;
use std::time::Instant;

/// The only version of the served model.
pub(crate) const VERSION: &str = "1";

/// `GET /v2/health/live`.
pub(crate) async fn live() -> Response {
    json(StatusCode::OK, &value!({"live": true}))
}

/// `GET /v2/health/ready`: the engine runs from the moment the server listens.
pub(crate) async fn ready() -> Response {
    json(StatusCode::OK, &value!({"ready": true}))
}

/// `GET /v2`.
pub(crate) async fn server() -> Response {
    json(
        StatusCode::OK,
        &value!({"name": "pcee", "version": env!("CARGO_PKG_VERSION"),
                 "extensions": ["binary_tensor_data"]}),
    )
}

/// `GET /v2/models/{name}`.
pub(crate) async fn model(State(app): State<Arc<App>>, Path(name): Path<String>) -> Response {
    reply(
        &app,
        (|| {
            check(&app, &name, None)?;
            Ok(metadata(&app))
        })(),
    )
}

/// `GET /v2/models/{name}/versions/{version}`.
pub(crate) async fn model_version(
    State(app): State<Arc<App>>,
    Path((name, version)): Path<(String, String)>,
) -> Response {
    reply(
        &app,
        (|| {
            check(&app, &name, Some(&version))?;
            Ok(metadata(&app))
        })(),
    )
}

/// `GET /v2/models/{name}/ready`.
pub(crate) async fn model_ready(State(app): State<Arc<App>>, Path(name): Path<String>) -> Response {
    reply(
        &app,
        check(&app, &name, None).map(|()| value!({"name": name, "ready": true})),
    )
}

/// `GET /v2/models/{name}/versions/{version}/ready`.
pub(crate) async fn model_version_ready(
    State(app): State<Arc<App>>,
    Path((name, version)): Path<(String, String)>,
) -> Response {
    reply(
        &app,
        check(&app, &name, Some(&version)).map(|()| value!({"name": name, "ready": true})),
    )
}

/// `POST /v2/models/{name}/infer`.
pub(crate) async fn infer(
    State(app): State<Arc<App>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    timed_infer(app, name, None, headers, body).await
}

/// `POST /v2/models/{name}/versions/{version}/infer`.
pub(crate) async fn infer_version(
    State(app): State<Arc<App>>,
    Path((name, version)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    timed_infer(app, name, Some(version), headers, body).await
}

async fn timed_infer(
    app: Arc<App>,
    name: String,
    version: Option<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = Instant::now();
    let result = answer(&app, &name, version.as_deref(), &headers, body).await;
    super::settle_timed(&app, started, result)
}

async fn answer(
    app: &App,
    name: &str,
    version: Option<&str>,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, Refusal> {
    check(app, name, version)?;
    let bytes = read::body_of(app, headers, body).await?;
    let _permit = read::admit(app)?;
    let header = headers
        .get(HEADER_LENGTH)
        .map(|v| v.to_str().unwrap_or("(not text)"));
    let (json_part, tail) = split(&bytes, header).map_err(Refusal::bad_request)?;
    let request = decode(json_part, tail, app.model.spec()).map_err(Refusal::bad_request)?;
    drop(bytes);
    let (id, mut asked, binary) = (
        request.id.clone(),
        request.outputs.clone(),
        request.binary.clone(),
    );
    let keys = app.options.feedback_keys.as_ref();
    if request.default_outputs && keys.is_some() {
        asked.push("feedback_token");
    }
    if asked.contains(&"feedback_token") && keys.is_none() {
        return Err(Refusal::bad_request(
            "outputs: feedback_token needs a server started with --feedback-key".to_string(),
        ));
    }
    let keep_logits = asked.contains(&"logits");
    let decided = decide(
        app,
        ClassifyRequest {
            inputs: request.inputs,
            pixels: None,
            count: request.count,
            delta: request.delta,
        },
        keep_logits,
    )
    .await?;
    let n = decided.served.len();
    let mean_flops = decided
        .served
        .iter()
        .map(|s| app.flops[s.decision.exit])
        .sum::<f64>()
        / n as f64;
    let mut tail: Vec<u8> = Vec::new();
    let outputs: Vec<Value> = asked
        .iter()
        .map(|&output| {
            let (dtype, shape, values) = match output {
                "feedback_token" => tokens(app, &decided),
                _ => output_values(output, &decided.served),
            };
            let mut tensor = value!({"name": output, "datatype": dtype, "shape": shape});
            if binary.iter().any(|b| b == output) {
                let before = tail.len();
                append_binary(&mut tail, dtype, &values);
                tensor["parameters"] = value!({"binary_data_size": tail.len() - before});
            } else {
                tensor["data"] = Value::Array(values);
            }
            tensor
        })
        .collect();
    let mut answer = value!({
        "model_name": app.name,
        "model_version": VERSION,
        "parameters": {
            "delta": decided.delta.get(),
            "policy_version": decided.version,
            "policy_digest": digest_text(&decided.digest),
            "mean_flops": mean_flops,
        },
        "outputs": outputs,
    });
    if let Some(id) = id {
        answer["id"] = Value::String(id);
    }
    Ok(respond(&answer, tail))
}

/// The datatype, shape and values (row-major) of one output over every sample: `[N]`, or
/// `[N, classes]` for `logits`.
fn output_values(output: &str, served: &[Served]) -> (&'static str, Vec<usize>, Vec<Value>) {
    let n = served.len();
    let each = |f: &dyn Fn(&Served) -> Value| served.iter().map(f).collect::<Vec<_>>();
    match output {
        "label" => ("INT64", vec![n], each(&|s| value!(s.decision.prediction))),
        "exit" => ("INT64", vec![n], each(&|s| value!(s.decision.exit))),
        "logits" => {
            let values: Vec<Value> = served
                .iter()
                .flat_map(|s| s.logits.iter().flatten().map(|&z| value!(z)))
                .collect();
            let classes = values.len() / n.max(1);
            ("FP32", vec![n, classes], values)
        }
        _ => (
            "FP32",
            vec![n],
            each(&|s| value!(s.decision.confidence as f32)),
        ),
    }
}

/// The `feedback_token` output: each sample's signed decision ([`crate::token`]), BYTES `[N]`.
fn tokens(app: &App, decided: &Decided) -> (&'static str, Vec<usize>, Vec<Value>) {
    let keys = app.options.feedback_keys.as_ref().expect("checked");
    let time_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let values = decided
        .served
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let token = keys.sign(
                &app.name,
                &token::Decided {
                    exit: s.decision.exit as u16,
                    prediction: s.decision.prediction,
                    boot: app.counts.boot,
                    sequence: decided.first + i as u64,
                    time_ms,
                    digest: decided.digest,
                    delta: decided.delta.get(),
                    monitored: decided.monitored,
                },
            );
            Value::String(token)
        })
        .collect();
    ("BYTES", vec![decided.served.len()], values)
}

/// The name of Triton's header giving the length of a body's JSON part.
const HEADER_LENGTH: &str = "inference-header-content-length";

/// `values` (integers for `INT64`, numbers for `FP32`, strings for `BYTES`) appended to `tail`
/// as little-endian bytes (a `BYTES` element: its length, u32, then its bytes).
fn append_binary(tail: &mut Vec<u8>, dtype: &str, values: &[Value]) {
    for v in values {
        match dtype {
            "INT64" => tail.extend(v.as_i64().unwrap_or(0).to_le_bytes()),
            "BYTES" => {
                let bytes = v.as_str().unwrap_or("").as_bytes();
                tail.extend((bytes.len() as u32).to_le_bytes());
                tail.extend(bytes);
            }
            _ => tail.extend((v.as_f64().unwrap_or(0.0) as f32).to_le_bytes()),
        }
    }
}

/// The JSON answer, followed by the binary outputs' bytes when there are any (then with
/// `Inference-Header-Content-Length`, the JSON part's length).
fn respond(answer: &Value, tail: Vec<u8>) -> Response {
    if tail.is_empty() {
        return json(StatusCode::OK, answer);
    }
    let mut body = serde_json::to_vec(answer).expect("answers serialise");
    let length = body.len();
    body.extend(tail);
    (
        StatusCode::OK,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            ),
            (
                HeaderName::from_static(HEADER_LENGTH),
                HeaderValue::from(length),
            ),
        ],
        body,
    )
        .into_response()
}

/// `404` unless `name` (and `version`, when given) is the served model's.
pub(super) fn check(app: &App, name: &str, version: Option<&str>) -> Result<(), Refusal> {
    if name != app.name {
        return Err(Refusal::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!(
                "unknown model {name:?}; this server serves {:?} (--name)",
                app.name
            ),
        ));
    }
    match version {
        Some(v) if v != VERSION => Err(Refusal::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("model {name:?} has no version {v:?}; expected {VERSION:?}"),
        )),
        _ => Ok(()),
    }
}

/// The model metadata of the protocol.
fn metadata(app: &App) -> Value {
    let spec = app.model.spec();
    let loaded = app.slot.current();
    let inputs: Vec<Value> = spec
        .inputs
        .iter()
        .map(|i| {
            let shape: Vec<i64> = std::iter::once(-1)
                .chain(i.shape.iter().map(|&d| d as i64))
                .collect();
            value!({"name": i.name, "datatype": datatype(i.dtype), "shape": shape})
        })
        .collect();
    let mut meta = value!({
        "name": app.name,
        "versions": [VERSION],
        "platform": "pcee",
        "inputs": inputs,
        "outputs": [
            {"name": "label", "datatype": "INT64", "shape": [-1]},
            {"name": "exit", "datatype": "INT64", "shape": [-1]},
            {"name": "confidence", "datatype": "FP32", "shape": [-1]},
            {"name": "logits", "datatype": "FP32", "shape": [-1, spec.classes]},
        ],
        "parameters": {
            "classes": spec.classes,
            "exits": spec.flops.len(),
            // Parameter values are strings, numbers or booleans in the protocol.
            "flops": spec.flops.iter().map(f64::to_string).collect::<Vec<_>>().join(","),
            "delta": loaded.file.delta.get(),
            "policy_version": loaded.version,
            "policy_digest": digest_text(&loaded.digest),
        },
    });
    if app.options.feedback_keys.is_some() {
        let token = value!({"name": "feedback_token", "datatype": "BYTES", "shape": [-1]});
        meta["outputs"].as_array_mut().expect("a list").push(token);
    }
    meta
}

/// A JSON answer, or the refusal (counted in the metrics).
fn reply(app: &App, result: Result<Value, Refusal>) -> Response {
    super::settle(app, result.map(|v| json(StatusCode::OK, &v)))
}
