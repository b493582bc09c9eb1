//! The body of an Open Inference Protocol request (`POST /v2/models/{name}/infer`, JSON form;
//! KServe's V2 REST protocol, as NVIDIA Triton and `tritonclient` speak it):
//!
//! ```json
//! {"id": "42", "parameters": {"delta": 0.9},
//!  "inputs": [{"name": "input_ids", "shape": [2, 24], "datatype": "INT64", "data": [1, 5, …]}],
//!  "outputs": [{"name": "label"}, {"name": "exit"}]}
//! ```
//!
//! Every input the network declares, once, by name, with the OIP datatype of its dtype (`FP32`,
//! `FP16`, `INT64`, `INT32`, `UINT8`, `BOOL`) and the shape `[N, per-sample shape…]`; `data`
//! flat (row-major, N × per-sample values) or nested. The values are checked as the `/v1`
//! JSON form checks them ([`super::inputs`]). An input may instead come as binary data
//! (Triton's extension, [`super::oip_binary`]), and outputs may be asked for as binary data.

use super::inputs::tensor;
use super::BodyError;
use pcee::Delta;
use pcee_runtime::{DType, Inputs, NetworkSpec};
use serde_json::{Map, Value};

/// The outputs a request may ask for: `label`, `exit`, `confidence` (`[N]` each), `logits`
/// (`[N, classes]`, the exit taken's) and `feedback_token` (BYTES `[N]`, with
/// `--feedback-key`).
pub const OUTPUTS: [&str; 5] = ["label", "exit", "confidence", "logits", "feedback_token"];

/// The outputs sent when a request names none: all but `logits`.
pub const DEFAULT_OUTPUTS: [&str; 3] = ["label", "exit", "confidence"];

/// Most values one input of a request may declare (2³⁰): far above any body `--max-body`
/// allows, and low enough that no element count overflows.
pub const MAX_ELEMENTS: usize = 1 << 30;

/// A decoded OIP request.
#[derive(Debug, Clone, PartialEq)]
pub struct OipRequest {
    /// The request's `id`, echoed in the response.
    pub id: Option<String>,
    /// `parameters.delta`, checked to be in [0, 1].
    pub delta: Option<Delta>,
    /// The network's inputs, `[count, …]` each.
    pub inputs: Inputs,
    /// Samples N.
    pub count: usize,
    /// The outputs asked for, in [`OUTPUTS`] order ([`DEFAULT_OUTPUTS`] when the request names
    /// none).
    pub outputs: Vec<&'static str>,
    /// Whether the request named no output (then the server adds `feedback_token` when it
    /// signs tokens).
    pub default_outputs: bool,
    /// The outputs to send as binary data (`parameters.binary_data_output`, or an output's
    /// `parameters.binary_data`).
    pub binary: Vec<String>,
}

/// The outputs the request wants as binary data: every output when
/// `parameters.binary_data_output` is true, unless that output says `binary_data: false`;
/// otherwise those that say `binary_data: true`.
fn binary_outputs(body: &Map<String, Value>) -> Vec<String> {
    let all = body
        .get("parameters")
        .and_then(|p| p.get("binary_data_output"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let said = |name: &str| {
        body.get("outputs")
            .and_then(Value::as_array)
            .and_then(|o| {
                o.iter()
                    .find(|o| o.get("name").and_then(Value::as_str) == Some(name))
            })
            .and_then(|o| o.get("parameters"))
            .and_then(|p| p.get("binary_data"))
            .and_then(Value::as_bool)
    };
    OUTPUTS
        .iter()
        .filter(|n| said(n).unwrap_or(all))
        .map(|n| n.to_string())
        .collect()
}

/// The OIP name of `dtype`.
pub fn datatype(dtype: DType) -> &'static str {
    match dtype {
        DType::Float32 => "FP32",
        DType::Float16 => "FP16",
        DType::Int64 => "INT64",
        DType::Int32 => "INT32",
        DType::Uint8 => "UINT8",
        DType::Bool => "BOOL",
    }
}

/// Decodes `bytes` (the JSON body) for `network`.
///
/// # Errors
/// [`BodyError`] naming the field: not a JSON object, an input missing, unknown or given
/// twice, another datatype or shape, a wrong element count, a value of the wrong kind, δ
/// outside [0, 1], an unknown output, binary data.
pub fn decode(bytes: &[u8], binary: &[u8], network: &NetworkSpec) -> Result<OipRequest, BodyError> {
    let body: Value = serde_json::from_slice(bytes).map_err(|e| {
        BodyError::new(format!(
            "not JSON ({e}); expected an inference request object"
        ))
    })?;
    let Value::Object(body) = body else {
        return Err(BodyError::new(
            "not a JSON object; expected {\"inputs\": [...]}",
        ));
    };
    // `model_name` and `model_version` are in some clients' bodies (Triton's examples); the
    // path names the model.
    let known = [
        "id",
        "parameters",
        "inputs",
        "outputs",
        "model_name",
        "model_version",
    ];
    if let Some(key) = body.keys().find(|k| !known.contains(&k.as_str())) {
        return Err(BodyError::new(format!(
            "{key}: unknown field; expected id, parameters, inputs, outputs"
        )));
    }
    let id = match body.get("id") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => return Err(BodyError::new(format!("id: {other}; expected a string"))),
    };
    let delta = delta(body.get("parameters"))?;
    let Some(Value::Array(given)) = body.get("inputs") else {
        return Err(BodyError::new(format!(
            "inputs: missing or not a list; expected one tensor per network input {}",
            pcee_runtime::network::describe(&network.inputs)
        )));
    };
    let ranges = super::oip_binary::ranges(given, binary)?;
    let mut tensors = Vec::with_capacity(network.inputs.len());
    for spec in &network.inputs {
        let found: Vec<(usize, &Map<String, Value>)> = given
            .iter()
            .enumerate()
            .filter_map(|(i, t)| t.as_object().map(|o| (i, o)))
            .filter(|(_, o)| o.get("name").and_then(Value::as_str) == Some(spec.name.as_str()))
            .collect();
        match found.as_slice() {
            [(i, t)] => {
                let data = ranges[*i].clone().map(|r| &binary[r]);
                tensors.push(input(&format!("inputs[{i}]"), t, spec, data)?)
            }
            [] => {
                return Err(BodyError::new(format!(
                    "inputs: no tensor named {:?}; expected one per network input {}",
                    spec.name,
                    pcee_runtime::network::describe(&network.inputs)
                )))
            }
            _ => {
                return Err(BodyError::new(format!(
                    "inputs: {:?} given twice; expected once",
                    spec.name
                )))
            }
        }
    }
    if let Some((i, t)) = given.iter().enumerate().find(|(_, t)| {
        let name = t.get("name").and_then(Value::as_str);
        !network.inputs.iter().any(|s| Some(s.name.as_str()) == name)
    }) {
        return Err(BodyError::new(format!(
            "inputs[{i}].name: {}; expected one of the network's inputs {}",
            t.get("name").unwrap_or(&Value::Null),
            pcee_runtime::network::describe(&network.inputs)
        )));
    }
    let asked = outputs(body.get("outputs"))?;
    let count = tensors[0].rows();
    if let Some(t) = tensors.iter().find(|t| t.rows() != count) {
        return Err(BodyError::new(format!(
            "inputs: {:?} has {} sample(s) and {:?} {count}; expected the same first dimension",
            t.name(),
            t.rows(),
            tensors[0].name()
        )));
    }
    Ok(OipRequest {
        id,
        delta,
        inputs: Inputs::new(tensors).map_err(|e| BodyError::new(e.to_string()))?,
        count,
        binary: binary_outputs(&body)
            .into_iter()
            // The token is asked for by the server (with --feedback-key), not by the request.
            .filter(|b| asked.contains(&b.as_str()) || b == "feedback_token")
            .collect(),
        default_outputs: body.get("outputs").is_none(),
        outputs: asked,
    })
}

/// `parameters.delta`, if given.
fn delta(parameters: Option<&Value>) -> Result<Option<Delta>, BodyError> {
    let Some(parameters) = parameters else {
        return Ok(None);
    };
    let Value::Object(p) = parameters else {
        return Err(BodyError::new(format!(
            "parameters: {parameters}; expected an object"
        )));
    };
    match p.get("delta") {
        None => Ok(None),
        Some(v) => v
            .as_f64()
            .and_then(|d| Delta::new(d).ok())
            .map(Some)
            .ok_or_else(|| {
                BodyError::new(format!(
                    "parameters.delta: {v}; expected a number in [0, 1]"
                ))
            }),
    }
}

/// One input tensor `t` (field `field`) as the network's input `spec`.
fn input(
    field: &str,
    t: &Map<String, Value>,
    spec: &pcee_runtime::InputSpec,
    binary: Option<&[u8]>,
) -> Result<pcee_runtime::HostTensor, BodyError> {
    let bad = |what: String| Err(BodyError::new(format!("{field}{what}")));
    let expected = datatype(spec.dtype);
    match t.get("datatype").and_then(Value::as_str) {
        Some(d) if d == expected => {}
        other => {
            return bad(format!(
                ".datatype: {}; expected {expected:?} ({} {:?})",
                other.map_or("missing".to_string(), |d| format!("{d:?}")),
                spec.dtype,
                spec.name
            ))
        }
    }
    let shape: Option<Vec<usize>> = t
        .get("shape")
        .and_then(Value::as_array)
        .and_then(|s| s.iter().map(|d| d.as_u64().map(|d| d as usize)).collect());
    let per: usize = spec.shape.iter().product();
    let n = match shape.as_deref() {
        Some([n, rest @ ..])
            if *n > 0
                && rest == spec.shape.as_slice()
                && n.checked_mul(per.max(1)).is_some_and(|e| e <= MAX_ELEMENTS) =>
        {
            *n
        }
        _ => {
            return bad(format!(
                ".shape: {}; expected [N, {}] with N ≥ 1 and at most {MAX_ELEMENTS} values",
                t.get("shape").unwrap_or(&Value::Null),
                spec.shape
                    .iter()
                    .map(usize::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        }
    };
    if let Some(bytes) = binary {
        let values = super::oip_binary::values(
            &format!("{field} (binary data)"),
            spec.dtype,
            n * per,
            bytes,
        )?;
        let shape = std::iter::once(n)
            .chain(spec.shape.iter().copied())
            .collect();
        return pcee_runtime::HostTensor::new(spec.name.clone(), shape, values)
            .map_err(|e| BodyError::new(e.to_string()));
    }
    let Some(Value::Array(data)) = t.get("data") else {
        return bad(".data: missing or not a list; expected the tensor's values, flat (row-major) or nested".into());
    };
    let flat = data.iter().all(|v| !v.is_array());
    let samples: Vec<Value> = if flat {
        if data.len() != n * per {
            return bad(format!(
                ".data: {} values; expected {} (shape {:?})",
                data.len(),
                n * per,
                shape.unwrap_or_default()
            ));
        }
        data.chunks(per.max(1))
            .map(|c| Value::Array(c.to_vec()))
            .collect()
    } else {
        if data.len() != n {
            return bad(format!(
                ".data: a list of {}; expected {n} samples (shape {:?})",
                data.len(),
                shape.unwrap_or_default()
            ));
        }
        data.clone()
    };
    tensor(&format!("{field}.data"), spec, &samples)
}

/// The outputs asked for.
fn outputs(asked: Option<&Value>) -> Result<Vec<&'static str>, BodyError> {
    let Some(asked) = asked else {
        return Ok(DEFAULT_OUTPUTS.to_vec());
    };
    let Value::Array(list) = asked else {
        return Err(BodyError::new(format!(
            "outputs: {asked}; expected a list of {{\"name\": …}}"
        )));
    };
    let mut names = Vec::new();
    for (i, o) in list.iter().enumerate() {
        let name = o.get("name").and_then(Value::as_str).unwrap_or("");
        match OUTPUTS.iter().find(|&&k| k == name) {
            Some(&k) if !names.contains(&k) => names.push(k),
            Some(_) => {
                return Err(BodyError::new(format!(
                    "outputs[{i}].name: {name:?} asked twice; expected once"
                )))
            }
            None => {
                return Err(BodyError::new(format!(
                    "outputs[{i}].name: {name:?}; expected one of {OUTPUTS:?}"
                )))
            }
        }
    }
    names.sort_by_key(|k| OUTPUTS.iter().position(|o| o == k));
    Ok(names)
}

#[cfg(test)]
#[path = "oip_tests.rs"]
mod tests;
