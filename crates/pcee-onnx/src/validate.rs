//! Checking a stage-graph directory against its manifest: the manifest on its own
//! ([`Manifest::check`]), then every graph — present, a decodable ONNX model, and its inputs
//! and outputs exactly the manifest's tensors: the same names, the declared element type, a
//! symbolic first (batch) dimension and the declared per-sample shape. One error per defect, naming the file
//! and the manifest field.

use crate::error::{OnnxError, Result};
use crate::graph::onnx_type;
use crate::manifest::{spec, DType, Manifest, TensorSpec};
use crate::proto::{tensor_proto::DataType, type_proto, ModelProto, ValueInfoProto};
use prost::Message;
use std::path::Path;

/// Reads and checks `dir` (module documentation); returns its manifest.
///
/// # Errors
/// The first defect, an [`OnnxError::Invalid`]: a directory that is not one, an unreadable
/// manifest, or anything else (a missing or undecodable graph, a tensor named or shaped otherwise than
/// the manifest says, FLOPs not increasing, …).
pub fn validate(dir: &Path) -> Result<Manifest> {
    let manifest = Manifest::read(dir)?;
    for (s, stage) in manifest.stages.iter().enumerate() {
        let field = format!("stages[{s}]");
        check_graph(dir, &stage.graph, &field, &stage.inputs, &stage.outputs)?;
    }
    for (e, head) in manifest.heads.iter().enumerate() {
        let field = format!("heads[{e}]");
        check_graph(
            dir,
            &head.graph,
            &field,
            &head.inputs,
            std::slice::from_ref(&head.output),
        )?;
    }
    Ok(manifest)
}

/// Reads the graph file `dir/graph` as an ONNX model.
///
/// # Errors
/// [`OnnxError::Invalid`] naming the file and `field` when it is missing or not an ONNX model.
pub fn read_model(dir: &Path, graph: &str, field: &str) -> Result<ModelProto> {
    let path = dir.join(graph);
    let bytes = std::fs::read(&path).map_err(|e| {
        OnnxError::invalid(
            &path,
            format!("{field}.graph"),
            format!("cannot be read ({e}); expected the ONNX graph the manifest names"),
        )
    })?;
    let not_onnx = |why: String| OnnxError::invalid(&path, format!("{field}.graph"), why);
    // An empty file decodes as an empty message: say so rather than report missing tensors.
    let model = ModelProto::decode(bytes.as_slice())
        .map_err(|e| not_onnx(format!("not an ONNX model ({e})")))?;
    if model.graph.is_none() {
        return Err(not_onnx(format!(
            "not an ONNX model ({} bytes, no graph); expected the ONNX graph the manifest names",
            bytes.len()
        )));
    }
    Ok(model)
}

fn check_graph(
    dir: &Path,
    graph: &str,
    field: &str,
    inputs: &[TensorSpec],
    outputs: &[TensorSpec],
) -> Result<()> {
    let path = dir.join(graph);
    let model = read_model(dir, graph, field)?;
    let g = model.graph.unwrap_or_default();
    let constants: std::collections::HashSet<&str> = g
        .initializer
        .iter()
        .filter_map(|t| t.name.as_deref())
        .collect();
    let real_inputs: Vec<&ValueInfoProto> = g
        .input
        .iter()
        .filter(|v| !constants.contains(v.name.as_deref().unwrap_or("")))
        .collect();
    check_values(
        &path,
        &format!("{field}.inputs"),
        "input",
        &real_inputs,
        inputs,
    )?;
    let outs: Vec<&ValueInfoProto> = g.output.iter().collect();
    let what = if outputs.len() == 1 && field.starts_with("heads") {
        "output"
    } else {
        "outputs"
    };
    check_values(&path, &format!("{field}.{what}"), "output", &outs, outputs)
}

/// The graph's `values` (its inputs or outputs) against the manifest's `specs`: the same set
/// of names, each with the declared shape.
fn check_values(
    path: &Path,
    field: &str,
    kind: &str,
    values: &[&ValueInfoProto],
    specs: &[TensorSpec],
) -> Result<()> {
    let bad = |reason: String| Err(OnnxError::invalid(path, field, reason));
    for (i, t) in specs.iter().enumerate() {
        let Some(v) = values
            .iter()
            .find(|v| v.name.as_deref() == Some(t.name.as_str()))
        else {
            let names: Vec<&str> = values.iter().filter_map(|v| v.name.as_deref()).collect();
            return bad(format!(
                "[{i}] {}: the graph has no {kind} of that name (its {kind}s: {names:?})",
                spec(t)
            ));
        };
        if let Err(reason) = check_shape(v, t.dtype, &t.shape) {
            return bad(format!("[{i}] {}: the graph's {kind} {reason}", spec(t)));
        }
    }
    if let Some(v) = values.iter().find(|v| {
        !specs
            .iter()
            .any(|t| Some(t.name.as_str()) == v.name.as_deref())
    }) {
        return bad(format!(
            "the graph has the {kind} {:?}, which the manifest does not list",
            v.name.as_deref().unwrap_or("")
        ));
    }
    Ok(())
}

/// `Ok` when `v` is `dtype` `[batch, shape…]` with a symbolic batch dimension.
fn check_shape(
    v: &ValueInfoProto,
    dtype: DType,
    shape: &[usize],
) -> std::result::Result<(), String> {
    let Some(type_proto::Value::TensorType(t)) = v.r#type.as_ref().and_then(|t| t.value.as_ref())
    else {
        return Err("is not a tensor".into());
    };
    let want = onnx_type(dtype);
    if t.elem_type != Some(want as i32) {
        let got = match t.elem_type.map(|e| (e, DataType::try_from(e))) {
            Some((e, Ok(d))) => format!("{} ({e})", d.as_str_name().to_lowercase()),
            Some((e, Err(_))) => format!("{e}"),
            None => "none".into(),
        };
        return Err(format!(
            "has element type {got}; expected {dtype} ({})",
            want as i32
        ));
    }
    let dims = crate::graph::dims(t);
    let shown: Vec<String> = dims
        .iter()
        .map(|d| d.map_or("?".into(), |n| n.to_string()))
        .collect();
    let shown = format!("[{}]", shown.join(", "));
    if dims.len() != shape.len() + 1
        || dims[1..]
            .iter()
            .zip(shape)
            .any(|(d, &n)| *d != Some(n as i64))
    {
        return Err(format!(
            "has shape {shown}; expected [batch, {}]",
            join(shape)
        ));
    }
    if let Some(n) = dims[0] {
        return Err(format!(
            "has a fixed batch dimension {n} ({shown}); export it with a dynamic first axis"
        ));
    }
    Ok(())
}

fn join(shape: &[usize]) -> String {
    shape
        .iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
