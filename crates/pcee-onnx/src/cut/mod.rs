//! `pcee stages`: one multi-exit ONNX file — a graph whose outputs are the exits' logits, as
//! `torch.onnx.export(model, x, "model.onnx", output_names=[…])` writes it — cut into a
//! stage-graph directory ([`crate::manifest`]) that pcee's runtime runs with real early exit
//! (design: docs/stages.md). ONNX Runtime alone always runs a whole graph.
//!
//! - [`model`]: the file read, external data included, and what each node reads;
//! - [`plan`](mod@plan): which node goes to which stage or head, and the state between stages
//!   (pure, no ONNX Runtime);
//! - [`probe`](mod@probe): every value's element type and shape, inferred by ONNX Runtime;
//! - [`graphs`]: the stage and head models;
//! - [`flops`]: FLOPs per sample counted from the graph.

pub mod flops;
pub mod graphs;
pub mod model;
pub mod plan;
pub mod probe;

use crate::error::{OnnxError, Result};
use crate::manifest::{Manifest, TensorSpec, FORMAT, MANIFEST_FILE, VERSION};
use crate::out_dir;
use crate::proto::ModelProto;
use plan::{Axis, Plan};
use prost::Message;
use std::path::Path;

/// What the user may choose.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The exits' output names in network order; the graph's outputs when `None`.
    pub exits: Option<Vec<String>>,
    /// Cumulative FLOPs per sample up to each exit, `[exits]`; counted from the graph when
    /// `None` ([`flops`]).
    pub flops: Option<Vec<f64>>,
}

/// One exit of the cut, for the table `pcee stages` prints.
#[derive(Debug, Clone, PartialEq)]
pub struct ExitSummary {
    /// The exit's output name.
    pub exit: String,
    /// Nodes of its stage and of its head (the added `Identity` renames not counted).
    pub stage_nodes: usize,
    /// Nodes of its head.
    pub head_nodes: usize,
    /// Nodes computed again in its stage and head (values without a batch axis).
    pub copied: usize,
    /// The state after its stage: tensors, and bytes per sample.
    pub state_tensors: usize,
    /// Bytes per sample of that state.
    pub state_bytes: usize,
    /// FLOPs per sample of its stage and of its head (`None` when `--flops` was given).
    pub stage_flops: Option<f64>,
    /// FLOPs per sample of its head.
    pub head_flops: Option<f64>,
}

/// What [`cut`] wrote.
#[derive(Debug, Clone)]
pub struct Summary {
    /// The manifest written.
    pub manifest: Manifest,
    /// Per exit.
    pub exits: Vec<ExitSummary>,
    /// Nodes no exit needs (not written): how many of each operator, most first.
    pub dead: Vec<(String, usize)>,
    /// What the user may want to know (one line each): a stage without a node of its own (exits
    /// out of network order?), a network input no exit reads (left out of the manifest).
    pub notes: Vec<String>,
}

/// Cuts the model at `path` into a stage-graph directory at `out` (module documentation).
/// The directory is written under a temporary name, validated and loaded by ONNX Runtime
/// graph by graph, then renamed into place.
///
/// # Errors
/// [`OnnxError::Invalid`] naming the file and the output, node or value at fault (an exit not
/// `[batch, C]` float32, exits of different C, a graph that cannot be cut, state that cannot be
/// carried, FLOPs not increasing), [`OnnxError::Runtime`] when ONNX Runtime refuses the model
/// or a written graph, [`OnnxError::Io`].
pub fn cut(path: &Path, out: &Path, options: &Options) -> Result<Summary> {
    out_dir::check_target(out)?;
    let model = model::read(path)?;
    let graph = model.graph.as_ref().expect("read() checked the graph");
    let exits = match &options.exits {
        Some(e) => e.clone(),
        None => graph.output.iter().filter_map(|v| v.name.clone()).collect(),
    };
    let (inputs, types) = probe::probe(&model, path)?;
    let header = clone_header(&model);
    let src = graphs::Source {
        model: &model,
        types: &types,
        inputs: &inputs,
        path,
        header: &header,
    };
    // Values without a batch axis, and batched values that depend on the row's position in
    // the batch, are computed again where they are read.
    let axis = |v: &str| match types.get(v) {
        Some(t) if t.unbatched() || t.by_position => Axis::None,
        _ => Axis::Batch,
    };
    let plan =
        plan::plan(graph, &exits, &axis).map_err(|e| OnnxError::invalid(path, e.what, e.reason))?;
    let classes = classes(&src, &exits)?;
    let (manifest, written) = manifest_of(&src, &plan, classes, options)?;
    let summary = summarise(&src, &plan, &manifest, options.flops.is_some());
    let tmp = out_dir::temporary(out);
    let result = (|| {
        std::fs::create_dir_all(&tmp).map_err(|e| OnnxError::io(&tmp, e))?;
        for (file, model) in &written {
            let file = tmp.join(file);
            std::fs::write(&file, model.encode_to_vec()).map_err(|e| OnnxError::io(&file, e))?;
        }
        manifest.write(&tmp.join(MANIFEST_FILE))?;
        crate::runtime::OrtStages::load(&tmp, 1)?;
        out_dir::replace(&tmp, out)
    })();
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    result.map(|()| summary)
}

fn clone_header(model: &ModelProto) -> ModelProto {
    ModelProto {
        ir_version: model.ir_version,
        opset_import: model.opset_import.clone(),
        producer_name: Some("pcee stages".into()),
        producer_version: Some(env!("CARGO_PKG_VERSION").into()),
        domain: model.domain.clone(),
        model_version: model.model_version,
        functions: model.functions.clone(),
        ..Default::default()
    }
}

/// The classes every exit's `[batch, C]` float32 logits agree on.
fn classes(src: &graphs::Source<'_>, exits: &[String]) -> Result<usize> {
    let mut classes = None;
    for exit in exits {
        let bad = |why: String| Err(OnnxError::invalid(src.path, format!("exit {exit:?}"), why));
        let Some(t) = src.types.get(exit) else {
            return bad("ONNX Runtime reports no tensor of that name; expected float32 logits [batch, classes]".into());
        };
        let logits = match (t.dtype, t.per_sample().as_deref()) {
            (Some(crate::manifest::DType::Float32), Some(&[c])) => c,
            _ => {
                let shape = |s: &[usize]| format!("{s:?}");
                return bad(format!(
                    "{} of shape {} with 1 sample and {} with 2; expected float32 logits [batch, classes] (name the exits with --exits when the graph has other outputs)",
                    t.type_name, shape(&t.one), shape(&t.two)
                ));
            }
        };
        match classes {
            Some(c) if c != logits => {
                return bad(format!(
                    "{logits} classes; expected {c}, as the exits before it (is it logits? name the exits with --exits when the graph has other outputs)"
                ))
            }
            _ => classes = Some(logits),
        }
    }
    classes.ok_or_else(|| {
        OnnxError::invalid(
            src.path,
            "exits",
            "none; expected the exits' logits as graph outputs, or --exits",
        )
    })
}

/// The manifest and the graphs (file name, model) of `plan`.
fn manifest_of(
    src: &graphs::Source<'_>,
    plan: &Plan,
    classes: usize,
    options: &Options,
) -> Result<(Manifest, Vec<(String, ModelProto)>)> {
    let mut written = Vec::new();
    let (mut stages, mut heads) = (Vec::new(), Vec::new());
    for k in 0..plan.exits.len() {
        let (graph, stage) = graphs::stage(src, plan, k)?;
        written.push((stage.graph.clone(), graph.model));
        stages.push(stage);
        let (graph, head) = graphs::head(src, plan, k)?;
        written.push((head.graph.clone(), graph.model));
        heads.push(head);
    }
    let graph = src.model.graph.as_ref().expect("read() checked the graph");
    let read: Vec<&String> = plan.parts.iter().flat_map(|p| &p.inputs).collect();
    let inputs: Vec<TensorSpec> = graph
        .input
        .iter()
        .filter_map(|v| v.name.as_ref())
        .filter(|n| read.contains(n))
        .map(|n| src.spec(n, n.clone(), "network input"))
        .collect::<Result<_>>()?;
    let flops = match &options.flops {
        Some(f) => f.clone(),
        None => counted_flops(src, plan)?,
    };
    let source = match options.flops {
        Some(_) => format!("{} (FLOPs given with --flops)", src.path.display()),
        None => format!("{} ({})", src.path.display(), flops::RULE),
    };
    let manifest = Manifest {
        format: FORMAT.into(),
        version: VERSION,
        classes,
        inputs,
        preprocessing: preprocessing(src)?,
        stages,
        heads,
        flops,
        source: Some(source),
    };
    manifest.check(src.path)?;
    Ok((manifest, written))
}

/// The preprocessing the model's metadata declares ([`crate::join::PREPROCESSING_KEY`]), if any.
fn preprocessing(src: &graphs::Source<'_>) -> Result<Option<crate::manifest::Preprocessing>> {
    let key = crate::join::PREPROCESSING_KEY;
    let Some(entry) = src
        .model
        .metadata_props
        .iter()
        .find(|e| e.key.as_deref() == Some(key))
    else {
        return Ok(None);
    };
    let text = entry.value.as_deref().unwrap_or("");
    serde_json::from_str(text).map(Some).map_err(|e| {
        OnnxError::invalid(src.path, format!("metadata_props[{key:?}]"), format!("{e}; expected {{\"kind\": \"u8-images\", \"input\": NAME, \"scale\": S, \"mean\": M, \"std\": D}}"))
    })
}

/// FLOPs per sample of the nodes a part owns (not the ones it computes again).
fn part_flops(src: &graphs::Source<'_>, plan: &Plan, p: usize) -> f64 {
    let graph = src.model.graph.as_ref().expect("read() checked the graph");
    plan.parts[p]
        .nodes
        .iter()
        .filter(|&&n| plan.owner(n) == Some(p))
        .map(|&n| flops::of_node(src, &graph.node[n]))
        .fold(0.0, |a, b| a + b)
}

/// Cumulative FLOPs per exit (docs/design.md §3: every stage and every head up to the exit,
/// since an early-exit run evaluates each earlier head), refused unless strictly increasing.
fn counted_flops(src: &graphs::Source<'_>, plan: &Plan) -> Result<Vec<f64>> {
    let mut total = 0.0;
    let mut out: Vec<f64> = Vec::new();
    for k in 0..plan.exits.len() {
        total += part_flops(src, plan, 2 * k) + part_flops(src, plan, 2 * k + 1);
        let previous = out.last().copied().unwrap_or(0.0);
        if total <= previous {
            return Err(OnnxError::invalid(
                src.path,
                format!("exit {:?}", plan.exits[k]),
                format!("{total} FLOPs per sample counted up to it (previous exit: {previous}); expected more than the exit before — the count covers Conv, ConvTranspose, Gemm and MatMul only: give each exit's cumulative cost with --flops F1,F2,…"),
            ));
        }
        out.push(total);
    }
    Ok(out)
}

fn summarise(src: &graphs::Source<'_>, plan: &Plan, manifest: &Manifest, given: bool) -> Summary {
    let exits = (0..plan.exits.len())
        .map(|k| {
            let (stage, head) = (&plan.parts[2 * k], &plan.parts[2 * k + 1]);
            let outputs = &manifest.stages[k].outputs;
            ExitSummary {
                exit: plan.exits[k].clone(),
                stage_nodes: stage.nodes.len() - stage.copied,
                head_nodes: head.nodes.len() - head.copied,
                copied: stage.copied + head.copied,
                state_tensors: outputs.len(),
                state_bytes: outputs
                    .iter()
                    .map(|t| t.shape.iter().product::<usize>() * t.dtype.size())
                    .sum(),
                stage_flops: (!given).then(|| part_flops(src, plan, 2 * k)),
                head_flops: (!given).then(|| part_flops(src, plan, 2 * k + 1)),
            }
        })
        .collect();
    Summary {
        manifest: manifest.clone(),
        exits,
        dead: dead_ops(src, plan),
        notes: notes(src, plan, manifest),
    }
}

/// [`Summary::notes`].
fn notes(src: &graphs::Source<'_>, plan: &Plan, manifest: &Manifest) -> Vec<String> {
    let mut out = Vec::new();
    for k in 1..plan.exits.len() {
        let part = &plan.parts[2 * k];
        if part.nodes.len() == part.copied {
            out.push(format!(
                "stage {k} has no node of its own: exit {:?} only adds a head to what the stages before it computed (are the exits in network order? --exits names them)",
                plan.exits[k]
            ));
        }
    }
    for input in src
        .inputs
        .iter()
        .filter(|t| manifest.input(&t.name).is_none())
    {
        out.push(format!(
            "input {:?} is read by no exit: left out of the stage graphs (do not feed it)",
            input.name
        ));
    }
    out
}

/// The operators of the dropped nodes, with counts, most first.
fn dead_ops(src: &graphs::Source<'_>, plan: &Plan) -> Vec<(String, usize)> {
    let graph = src.model.graph.as_ref().expect("read() checked the graph");
    let mut counts: Vec<(String, usize)> = Vec::new();
    for &n in &plan.dead {
        let op = graph.node[n].op_type.clone().unwrap_or_default();
        match counts.iter_mut().find(|(o, _)| *o == op) {
            Some((_, c)) => *c += 1,
            None => counts.push((op, 1)),
        }
    }
    counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    counts
}
