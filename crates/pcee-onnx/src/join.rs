//! A stage-graph directory joined into **one** multi-exit ONNX graph whose outputs are the
//! exits' logits — the file a PyTorch user gets from `torch.onnx.export`, and the input of
//! `pcee stages` ([`crate::cut`]); `pcee export --single-file` writes pcee's own models this way.
//!
//! Every graph's values keep their meaning under new names: the network's inputs keep theirs;
//! the state after stage `k` is named as stage `k` writes it (or `name@k` when two stages write
//! the same name); head `k` writes `exit_k`; every other value and every initializer of a graph
//! is prefixed by the graph's name (`stage-1/t4`), so nothing collides.

use crate::error::{OnnxError, Result};
use crate::graph::{identity, typed_value_info};
use crate::manifest::{Manifest, TensorSpec};
use crate::proto::{GraphProto, ModelProto, NodeProto, StringStringEntryProto, ValueInfoProto};
use crate::validate::read_model;
use std::collections::HashMap;
use std::path::Path;

/// The name of exit `k`'s logits in a joined graph.
pub fn exit_name(k: usize) -> String {
    format!("exit_{k}")
}

/// Joins the stage-graph directory `dir` (validated first) into one model.
///
/// # Errors
/// Any validation error of `dir`; [`OnnxError::Invalid`] for a graph with control flow
/// (subgraphs are not renamed) or graphs of different opsets.
pub fn join(dir: &Path) -> Result<ModelProto> {
    let manifest = crate::validate(dir)?;
    let boundary = boundary_names(&manifest);
    let mut graph = GraphProto {
        name: Some("pcee-joined".into()),
        input: manifest.inputs.iter().map(info).collect(),
        ..Default::default()
    };
    let mut header: Option<ModelProto> = None;
    for k in 0..manifest.exits() {
        let stage = &manifest.stages[k];
        let head = &manifest.heads[k];
        let parts = [
            (
                &stage.graph,
                format!("stages[{k}]"),
                &stage.inputs,
                k.checked_sub(1),
                stage
                    .outputs
                    .iter()
                    .map(|t| (t.name.clone(), boundary[&(k, t.name.clone())].clone()))
                    .collect::<Vec<_>>(),
            ),
            (
                &head.graph,
                format!("heads[{k}]"),
                &head.inputs,
                Some(k),
                vec![(head.output.name.clone(), exit_name(k))],
            ),
        ];
        for (file, field, inputs, from, outputs) in parts {
            let model = read_model(dir, file, &field)?;
            check_header(&mut header, &model, &dir.join(file))?;
            let reads: HashMap<String, String> = inputs
                .iter()
                .map(|t| {
                    let name = match from {
                        Some(j) if manifest.input(&t.name).is_none() => {
                            boundary[&(j, t.name.clone())].clone()
                        }
                        _ => t.name.clone(),
                    };
                    (t.name.clone(), name)
                })
                .collect();
            let prefix = file.trim_end_matches(".onnx");
            append(
                &mut graph,
                model.graph.unwrap_or_default(),
                prefix,
                &reads,
                &outputs,
                &dir.join(file),
            )?;
        }
    }
    graph.output = (0..manifest.exits())
        .map(|k| info(&TensorSpec::f32(exit_name(k), &[manifest.classes])))
        .collect();
    let mut model = header.unwrap_or_default();
    model.graph = Some(graph);
    if let Some(p) = &manifest.preprocessing {
        model.metadata_props.push(StringStringEntryProto {
            key: Some(PREPROCESSING_KEY.into()),
            value: Some(serde_json::to_string(p).expect("plain data")),
        });
    }
    Ok(model)
}

/// The key of the model's metadata (`metadata_props`) holding the manifest's `preprocessing`
/// as JSON (e.g. `{"kind": "u8-images", "input": "images", "scale": 0.0039…, "mean": …,
/// "std": …}`): written by [`join`], read by `pcee stages`, so a joined image network keeps
/// its preprocessing. A user may set it on their own model the same way.
pub const PREPROCESSING_KEY: &str = "pcee.preprocessing";

/// The joined name of each state value `(k, name)` written by stage `k`.
fn boundary_names(manifest: &Manifest) -> HashMap<(usize, String), String> {
    let mut count: HashMap<&str, usize> = HashMap::new();
    for s in &manifest.stages {
        for t in &s.outputs {
            *count.entry(t.name.as_str()).or_default() += 1;
        }
    }
    let mut names = HashMap::new();
    for (k, s) in manifest.stages.iter().enumerate() {
        for t in &s.outputs {
            let name = if count[t.name.as_str()] == 1 {
                t.name.clone()
            } else {
                format!("{}@{k}", t.name)
            };
            names.insert((k, t.name.clone()), name);
        }
    }
    names
}

/// Every graph must share the first one's IR version and opsets.
fn check_header(header: &mut Option<ModelProto>, model: &ModelProto, path: &Path) -> Result<()> {
    let this = ModelProto {
        ir_version: model.ir_version,
        opset_import: model.opset_import.clone(),
        producer_name: Some("pcee export --single-file".into()),
        producer_version: Some(env!("CARGO_PKG_VERSION").into()),
        functions: model.functions.clone(),
        ..Default::default()
    };
    match header {
        Some(h) if h.opset_import != this.opset_import => Err(OnnxError::invalid(
            path,
            "opset_import",
            format!(
                "{:?}; expected {:?}, as the first graph",
                this.opset_import, h.opset_import
            ),
        )),
        Some(_) => Ok(()),
        None => {
            *header = Some(this);
            Ok(())
        }
    }
}

/// Appends `part` to `graph`: its inputs read as `reads` says, its outputs written under the
/// names `outputs` gives, every other value prefixed.
fn append(
    graph: &mut GraphProto,
    part: GraphProto,
    prefix: &str,
    reads: &HashMap<String, String>,
    outputs: &[(String, String)],
    path: &Path,
) -> Result<()> {
    let rename = |name: &str| -> String {
        if name.is_empty() {
            return String::new();
        }
        if let Some((_, to)) = outputs.iter().find(|(from, _)| from == name) {
            return to.clone();
        }
        reads
            .get(name)
            .cloned()
            .unwrap_or_else(|| format!("{prefix}/{name}"))
    };
    for node in &part.node {
        if node
            .attribute
            .iter()
            .any(|a| a.g.is_some() || !a.graphs.is_empty())
        {
            return Err(OnnxError::invalid(
                path,
                format!("node {:?}", node.name.clone().unwrap_or_default()),
                "has subgraphs (control flow); expected a graph without If, Loop or Scan",
            ));
        }
    }
    // An output that is one of the graph's inputs is passed through by an Identity.
    for (from, to) in outputs {
        if reads.contains_key(from) {
            graph
                .node
                .push(identity(&reads[from], to, &format!("{prefix}/pass/{to}")));
        }
    }
    for node in part.node {
        graph.node.push(NodeProto {
            name: node.name.as_ref().map(|n| format!("{prefix}/{n}")),
            input: node.input.iter().map(|n| rename(n)).collect(),
            output: node.output.iter().map(|n| rename(n)).collect(),
            ..node
        });
    }
    for mut t in part.initializer {
        t.name = t.name.map(|n| format!("{prefix}/{n}"));
        graph.initializer.push(t);
    }
    graph
        .value_info
        .extend(part.value_info.into_iter().map(|v| ValueInfoProto {
            name: v.name.as_deref().map(rename),
            ..v
        }));
    Ok(())
}

fn info(t: &TensorSpec) -> ValueInfoProto {
    typed_value_info(&t.name, t.dtype, &t.shape)
}
