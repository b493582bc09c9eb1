//! The graphs of a [`Plan`]: one ONNX model per stage and per head, with the original nodes
//! copied unchanged (docs/stages.md §3). A value `t` crossing boundary `k` leaves stage `k` as
//! the output `t@k` (an `Identity` at the end of the stage) and comes back under its own name in
//! the graph reading it (an `Identity` at the start), so no copied node is renamed.

use super::plan::{node_name, Plan};
use super::probe::Typed;
use crate::error::{OnnxError, Result};
use crate::graph::{identity, typed_value_info};
use crate::manifest::{Head, Stage, TensorSpec};
use crate::proto::{GraphProto, ModelProto, NodeProto, ValueInfoProto};
use std::collections::HashMap;
use std::path::Path;

/// The name of value `v` in the state after stage `k`.
pub fn state_name(v: &str, k: usize) -> String {
    format!("{v}@{k}")
}

/// A graph of the cut and its manifest entry.
pub struct Written {
    /// The ONNX model.
    pub model: ModelProto,
    /// The manifest's entry: its inputs and outputs.
    pub inputs: Vec<TensorSpec>,
    /// Its outputs.
    pub outputs: Vec<TensorSpec>,
}

/// Everything [`graphs`] reads: the model, its values' types, and the file for errors.
pub struct Source<'a> {
    /// The multi-exit model.
    pub model: &'a ModelProto,
    /// Every node output's type and shapes ([`super::probe::probe`]).
    pub types: &'a HashMap<String, Typed>,
    /// The network's inputs.
    pub inputs: &'a [TensorSpec],
    /// The model file.
    pub path: &'a Path,
    /// The model without its graph (IR version, opsets, local functions, producer), the
    /// header of every written model.
    pub header: &'a ModelProto,
}

impl Source<'_> {
    fn graph(&self) -> &GraphProto {
        self.model.graph.as_ref().expect("read() checked the graph")
    }

    /// The manifest spec of `v` under `name`: a batch axis first, fixed dimensions after.
    ///
    /// # Errors
    /// [`OnnxError::Invalid`] naming `v` when its type or shape is unknown, not a type pcee
    /// carries, or without a leading batch axis and fixed other axes.
    pub fn spec(&self, v: &str, name: String, role: &str) -> Result<TensorSpec> {
        let bad = |why: String| Err(OnnxError::invalid(self.path, format!("{role} {v:?}"), why));
        if let Some(input) = self.inputs.iter().find(|t| t.name == v) {
            return Ok(TensorSpec {
                name,
                ..input.clone()
            });
        }
        let Some(t) = self.types.get(v) else {
            return bad("ONNX Runtime reports no tensor of that name; expected a tensor".into());
        };
        let Some(dtype) = t.dtype else {
            return bad(format!(
                "element type {}; expected one of float32, float16, int64, int32, uint8, bool",
                t.type_name
            ));
        };
        let Some(shape) = t.per_sample() else {
            return bad(format!("shape {:?} with 1 sample and {:?} with 2; expected the batch as its first axis and the other axes fixed (export with a fixed sequence length; a batch axis in another place is not carried)", t.one, t.two));
        };
        Ok(TensorSpec { name, dtype, shape })
    }
}

/// Stage `k`'s graph and manifest entry.
///
/// # Errors
/// A state value whose type or shape cannot be carried ([`Source::spec`]).
pub fn stage(src: &Source<'_>, plan: &Plan, k: usize) -> Result<(Written, Stage)> {
    let part = &plan.parts[2 * k];
    let carried: Vec<String> = if k == 0 {
        Vec::new()
    } else {
        plan.after[k - 1]
            .iter()
            .filter(|v| part.state.contains(v) || plan.after[k].contains(v))
            .cloned()
            .collect()
    };
    let outputs: Vec<(String, String)> = plan.after[k]
        .iter()
        .map(|v| (v.clone(), state_name(v, k)))
        .collect();
    let read_from = k.checked_sub(1);
    let written = build(
        src,
        plan,
        2 * k,
        &carried,
        read_from,
        &outputs,
        "state value",
    )?;
    let entry = Stage {
        graph: format!("stage-{k}.onnx"),
        inputs: written.inputs.clone(),
        outputs: written.outputs.clone(),
    };
    Ok((written, entry))
}

/// Head `k`'s graph and manifest entry; its output is the exit's logits under the exit's name.
///
/// # Errors
/// As [`stage`].
pub fn head(src: &Source<'_>, plan: &Plan, k: usize) -> Result<(Written, Head)> {
    let part = &plan.parts[2 * k + 1];
    let exit = plan.exits[k].clone();
    let outputs = vec![(exit.clone(), exit)];
    let written = build(src, plan, 2 * k + 1, &part.state, Some(k), &outputs, "exit")?;
    let entry = Head {
        graph: format!("head-{k}.onnx"),
        inputs: written.inputs.clone(),
        output: written.outputs[0].clone(),
    };
    Ok((written, entry))
}

/// The model of part `p`: network inputs and `state` (read as `v@from`) in, the original nodes,
/// `outputs` (value, name written) out.
fn build(
    src: &Source<'_>,
    plan: &Plan,
    p: usize,
    state: &[String],
    from: Option<usize>,
    outputs: &[(String, String)],
    role: &str,
) -> Result<Written> {
    let graph = src.graph();
    let part = &plan.parts[p];
    let mut inputs: Vec<TensorSpec> = Vec::new();
    let mut input_infos: Vec<ValueInfoProto> = Vec::new();
    for name in &part.inputs {
        let info = graph
            .input
            .iter()
            .find(|v| v.name.as_deref() == Some(name))
            .expect("a graph input");
        inputs.push(src.spec(name, name.clone(), "network input")?);
        input_infos.push(info.clone());
    }
    let mut nodes: Vec<NodeProto> = Vec::new();
    for v in state {
        let k = from.expect("stage 0 reads no state");
        let spec = src.spec(v, state_name(v, k), "state value")?;
        input_infos.push(info_of(&spec));
        nodes.push(identity(&spec.name, v, &format!("pcee/{v}")));
        inputs.push(spec);
    }
    nodes.extend(part.nodes.iter().map(|&n| graph.node[n].clone()));
    let mut specs = Vec::new();
    for (v, name) in outputs {
        let spec = src.spec(v, name.clone(), role)?;
        if name != v {
            nodes.push(identity(v, name, &format!("pcee/{name}")));
        }
        specs.push(spec);
    }
    check_names(src, plan, &specs)?;
    let produced: std::collections::HashSet<&str> = part
        .nodes
        .iter()
        .flat_map(|&n| graph.node[n].output.iter().map(String::as_str))
        .collect();
    let model = ModelProto {
        graph: Some(GraphProto {
            name: Some(part_name(p)),
            node: nodes,
            initializer: graph
                .initializer
                .iter()
                .filter(|t| {
                    part.initializers
                        .iter()
                        .any(|i| Some(i.as_str()) == t.name.as_deref())
                })
                .cloned()
                .collect(),
            sparse_initializer: graph
                .sparse_initializer
                .iter()
                .filter(|s| {
                    let name = s.values.as_ref().and_then(|v| v.name.as_deref());
                    part.initializers.iter().any(|i| Some(i.as_str()) == name)
                })
                .cloned()
                .collect(),
            input: input_infos,
            output: specs.iter().map(info_of).collect(),
            value_info: graph
                .value_info
                .iter()
                .filter(|v| v.name.as_deref().is_some_and(|n| produced.contains(n)))
                .filter(|v| !outputs.iter().any(|(o, _)| v.name.as_deref() == Some(o)))
                .cloned()
                .collect(),
            ..Default::default()
        }),
        ..src.header.clone()
    };
    Ok(Written {
        model,
        inputs,
        outputs: specs,
    })
}

/// A written name (`t@k`) must not be a value of the original graph.
fn check_names(src: &Source<'_>, plan: &Plan, specs: &[TensorSpec]) -> Result<()> {
    let graph = src.graph();
    for spec in specs.iter().filter(|s| s.name.contains('@')) {
        if let Some(n) = graph
            .node
            .iter()
            .position(|n| n.output.contains(&spec.name))
        {
            return Err(OnnxError::invalid(
                src.path,
                node_name(graph, n),
                format!("writes {:?}, the name pcee gives a state value between stages ({} exits); expected no value named <value>@<stage>", spec.name, plan.exits.len()),
            ));
        }
    }
    Ok(())
}

fn part_name(p: usize) -> String {
    if p.is_multiple_of(2) {
        format!("stage-{}", p / 2)
    } else {
        format!("head-{}", p / 2)
    }
}

fn info_of(spec: &TensorSpec) -> ValueInfoProto {
    typed_value_info(&spec.name, spec.dtype, &spec.shape)
}
