//! Reading the one multi-exit ONNX file: the model, its tensors stored in external-data files
//! beside it (read into the model, so every written graph is self-contained), and what each
//! node reads — its inputs and, for a control-flow node (`If`, `Loop`, `Scan`), the outer-scope
//! values its subgraphs read.

use crate::error::{OnnxError, Result};
use crate::proto::{tensor_proto::DataLocation, GraphProto, ModelProto, NodeProto, TensorProto};
use prost::Message;
use std::collections::HashSet;
use std::path::Path;

/// Reads the ONNX model at `path`, with the data of tensors stored outside it
/// (`data_location: EXTERNAL`) read from their files, relative to the model's directory.
///
/// # Errors
/// [`OnnxError::Invalid`] naming the file when it cannot be read, is not an ONNX model, has no
/// graph, or names external data that cannot be read.
pub fn read(path: &Path) -> Result<ModelProto> {
    let bytes = std::fs::read(path).map_err(|e| OnnxError::io(path, e))?;
    let mut model = ModelProto::decode(bytes.as_slice())
        .map_err(|e| OnnxError::invalid(path, "model", format!("not an ONNX model ({e})")))?;
    let Some(graph) = model.graph.as_mut() else {
        return Err(OnnxError::invalid(
            path,
            "graph",
            format!(
                "absent ({} bytes); expected an ONNX model with a graph",
                bytes.len()
            ),
        ));
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    for tensor in &mut graph.initializer {
        inline_external(tensor, dir, path)?;
    }
    Ok(model)
}

/// Moves an external tensor's bytes into `raw_data`.
fn inline_external(tensor: &mut TensorProto, dir: &Path, model: &Path) -> Result<()> {
    if tensor.data_location != Some(DataLocation::External as i32) {
        return Ok(());
    }
    let name = tensor.name.clone().unwrap_or_default();
    let field = format!("initializer {name:?}.external_data");
    let entry = |key: &str| {
        tensor
            .external_data
            .iter()
            .find(|e| e.key.as_deref() == Some(key))
            .and_then(|e| e.value.clone())
    };
    let location = entry("location").ok_or_else(|| {
        OnnxError::invalid(model, &field, "no \"location\"; expected the data file")
    })?;
    let number = |key: &str| -> Result<Option<usize>> {
        entry(key)
            .map(|v| {
                v.parse().map_err(|_| {
                    OnnxError::invalid(model, &field, format!("{key} {v:?}; expected a byte count"))
                })
            })
            .transpose()
    };
    let (offset, length) = (number("offset")?.unwrap_or(0), number("length")?);
    let file = dir.join(&location);
    let bytes = std::fs::read(&file).map_err(|e| OnnxError::io(&file, e))?;
    let end = length.map_or(bytes.len(), |l| offset + l);
    let data = bytes.get(offset..end).ok_or_else(|| {
        OnnxError::invalid(
            &file,
            &field,
            format!(
                "bytes {offset} to {end} asked for, the file has {}",
                bytes.len()
            ),
        )
    })?;
    tensor.raw_data = Some(data.to_vec());
    tensor.external_data.clear();
    tensor.data_location = Some(DataLocation::Default as i32);
    Ok(())
}

/// The values `node` reads: its inputs (an empty name is an omitted optional input) and the
/// outer-scope values read inside its subgraphs, each once, in order of first reading.
pub fn reads(node: &NodeProto) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut push = |name: &str| {
        if !name.is_empty() && !out.iter().any(|o| o == name) {
            out.push(name.to_string());
        }
    };
    for input in &node.input {
        push(input);
    }
    for graph in subgraphs(node) {
        for name in outer_reads(graph) {
            push(&name);
        }
    }
    out
}

/// The subgraphs of a control-flow node (attributes of type GRAPH or GRAPHS).
fn subgraphs(node: &NodeProto) -> impl Iterator<Item = &GraphProto> {
    node.attribute
        .iter()
        .flat_map(|a| a.g.iter().chain(a.graphs.iter()))
}

/// The values `graph` reads from an enclosing scope: read by one of its nodes (or of its
/// nested subgraphs) and defined neither by its nodes, its inputs nor its initializers.
fn outer_reads(graph: &GraphProto) -> Vec<String> {
    let mut defined: HashSet<&str> = graph
        .input
        .iter()
        .filter_map(|v| v.name.as_deref())
        .chain(graph.initializer.iter().filter_map(|t| t.name.as_deref()))
        .collect();
    let mut out = Vec::new();
    for node in &graph.node {
        for name in reads(node) {
            if !defined.contains(name.as_str()) && !out.contains(&name) {
                out.push(name);
            }
        }
        defined.extend(node.output.iter().map(String::as_str));
    }
    out
}
