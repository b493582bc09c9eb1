//! The steps of [`OrtStages`] as ONNX Runtime runs them: the network's inputs as the state
//! before stage 0 ([`OrtStages::embed_inputs`]), one stage ([`OrtStages::run_stage`]) and one
//! head's logits ([`OrtStages::run_head`]). Which tensor each graph reads — an output of the
//! stage before, or a network input carried in the state — is worked out once from the
//! manifest ([`Feeds`]). The runtime drives the steps through [`pcee_runtime::Stages`]
//! (`super::stages`).

use super::state::{runtime, tensor, OrtState};
use super::OrtStages;
use crate::error::Result;
use crate::manifest::{Manifest, TensorSpec};
use ort::session::{Session, SessionInputValue};
use ort::value::{DynValue, ValueType};
use pcee_runtime::{HostTensor, Inputs, Values};
use std::borrow::Cow;

/// Where a graph input comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    /// Output `i` of the stage before (of the head's own stage, for a head).
    Output(usize),
    /// Network input `j`, carried in the state.
    Input(usize),
}

/// What each graph reads, and which network inputs the state keeps after each stage.
#[derive(Debug, Clone)]
pub(super) struct Feeds {
    stages: Vec<Vec<Source>>,
    heads: Vec<Vec<Source>>,
    /// `[stages][inputs]`: whether a stage after `s` or a head from `s` on reads input `j`.
    keep_after: Vec<Vec<bool>>,
}

impl Feeds {
    /// The feeds of a checked manifest (every tensor a graph reads is one it may read).
    pub(super) fn of(m: &Manifest) -> Feeds {
        let source = |state: &[TensorSpec], t: &TensorSpec| match state.iter().position(|o| o == t)
        {
            Some(i) => Source::Output(i),
            None => Source::Input(
                m.inputs
                    .iter()
                    .position(|i| i == t)
                    .expect("checked manifest"),
            ),
        };
        let stages: Vec<Vec<Source>> = m
            .stages
            .iter()
            .enumerate()
            .map(|(s, stage)| {
                let state = if s == 0 {
                    &[][..]
                } else {
                    &m.stages[s - 1].outputs[..]
                };
                stage.inputs.iter().map(|t| source(state, t)).collect()
            })
            .collect();
        let heads: Vec<Vec<Source>> = m
            .heads
            .iter()
            .enumerate()
            .map(|(e, head)| {
                head.inputs
                    .iter()
                    .map(|t| source(&m.stages[e].outputs, t))
                    .collect()
            })
            .collect();
        let reads = |feeds: &[Source], j: usize| feeds.contains(&Source::Input(j));
        let keep_after = (0..m.stages.len())
            .map(|s| {
                (0..m.inputs.len())
                    .map(|j| {
                        stages[s + 1..].iter().any(|f| reads(f, j))
                            || heads[s..].iter().any(|f| reads(f, j))
                    })
                    .collect()
            })
            .collect();
        Feeds {
            stages,
            heads,
            keep_after,
        }
    }
}

impl OrtStages {
    /// The network's inputs (checked against the manifest's by the caller, e.g.
    /// [`pcee_runtime::NetworkSpec::check_inputs`]) as the state before stage 0; each tensor
    /// is copied once into ONNX Runtime.
    ///
    /// # Errors
    /// [`crate::OnnxError::Runtime`] when a tensor cannot be created.
    pub fn embed_inputs(&self, inputs: &Inputs) -> Result<OrtState> {
        let values = inputs
            .tensors()
            .iter()
            .map(|t| value_of(t).map(Some))
            .collect::<Result<_>>()?;
        Ok(OrtState {
            outputs: Vec::new(),
            inputs: values,
            rows: inputs.rows(),
            next: 0,
        })
    }

    /// Images of a network whose one input is float32: `images` normalised, row-major
    /// `[rows, input shape…]`, `rows ≥ 1`, as the state before stage 0.
    ///
    /// # Errors
    /// [`crate::OnnxError::Runtime`] when the network has another input, or `images` is empty
    /// or not a whole number of inputs.
    pub fn embed_images(&self, images: &[f32]) -> Result<OrtState> {
        let spec = &self.network.inputs[0];
        let per: usize = spec.shape.iter().product();
        if self.network.inputs.len() != 1 || images.is_empty() || !images.len().is_multiple_of(per)
        {
            return Err(runtime("images", format!(
                "{} values; expected a positive multiple of {per} ({} {:?} per image, the only input)",
                images.len(), spec.name, spec.shape)));
        }
        let shape = std::iter::once(images.len() / per)
            .chain(spec.shape.iter().copied())
            .collect();
        let t = HostTensor::new(spec.name.clone(), shape, Values::F32(images.to_vec()))?;
        let inputs = Inputs::new(vec![t])?;
        self.network.check_inputs(&inputs)?;
        self.embed_inputs(&inputs)
    }

    /// Stage `s` on `state` (which must be before stage `s`: [`OrtState::next`] = `s`); the
    /// state after it, its outputs checked against the manifest, the network inputs no later
    /// graph reads dropped.
    ///
    /// # Errors
    /// [`crate::OnnxError::Runtime`] when `s` is not a stage, `state` is at another boundary,
    /// the graph fails or an output disagrees with the manifest.
    pub fn run_stage(&mut self, s: usize, state: OrtState) -> Result<OrtState> {
        let exits = self.manifest.exits();
        if s >= exits || state.next != s {
            return Err(runtime("stage", format!(
                "stage {s} on a state before stage {}; expected a stage below {exits} on its own input",
                state.next)));
        }
        let stage = &self.manifest.stages[s];
        let feed = feed(&stage.inputs, &self.feeds.stages[s], &state);
        let outputs = run(
            &mut self.stages[s],
            &stage.graph,
            &feed,
            &stage.outputs,
            state.rows,
        )?;
        let keep = &self.feeds.keep_after[s];
        let inputs = state
            .inputs
            .into_iter()
            .zip(keep)
            .map(|(v, &k)| v.filter(|_| k))
            .collect();
        Ok(OrtState {
            outputs,
            inputs,
            rows: state.rows,
            next: s + 1,
        })
    }

    /// Head `e`'s logits, row-major `[rows, classes]` float32, from the state after stage `e`
    /// ([`OrtState::next`] = `e + 1`).
    ///
    /// # Errors
    /// [`crate::OnnxError::Runtime`] when `e` is not an exit, `state` is at another boundary, or
    /// the graph fails or writes another shape than the manifest's.
    pub fn run_head(&mut self, e: usize, state: &OrtState) -> Result<Vec<f32>> {
        let exits = self.manifest.exits();
        if e >= exits || state.next != e + 1 {
            return Err(runtime("head", format!(
                "head {e} on a state before stage {}; expected an exit below {exits} on the state after its stage",
                state.next)));
        }
        let head = &self.manifest.heads[e];
        let feed = feed(&head.inputs, &self.feeds.heads[e], state);
        let output = std::slice::from_ref(&head.output);
        let mut values = run(&mut self.heads[e], &head.graph, &feed, output, state.rows)?;
        let logits = values.pop().expect("one output");
        let (_, data) = logits
            .try_extract_tensor::<f32>()
            .map_err(|err| runtime(&head.graph, err.to_string()))?;
        Ok(data.to_vec())
    }
}

/// The graph inputs `specs`, each taken from `state` as `sources` says.
fn feed<'a>(
    specs: &'a [TensorSpec],
    sources: &[Source],
    state: &'a OrtState,
) -> Vec<(&'a str, &'a DynValue)> {
    specs
        .iter()
        .zip(sources)
        .map(|(t, source)| {
            let value = match *source {
                Source::Output(i) => &state.outputs[i],
                Source::Input(j) => state.inputs[j]
                    .as_ref()
                    .expect("kept while a later graph reads it"),
            };
            (t.name.as_str(), value)
        })
        .collect()
}

/// Runs `session` (graph file `graph`) on the named `inputs`; returns the `outputs`, in that
/// order, each checked to be of its declared element type and shape `[rows, shape…]`.
fn run(
    session: &mut Session,
    graph: &str,
    inputs: &[(&str, &DynValue)],
    outputs: &[TensorSpec],
    rows: usize,
) -> Result<Vec<DynValue>> {
    let feed: Vec<(Cow<'_, str>, SessionInputValue<'_>)> = inputs
        .iter()
        .map(|(n, v)| (Cow::Borrowed(*n), SessionInputValue::from(*v)))
        .collect();
    let mut out = session
        .run(feed)
        .map_err(|e| runtime(graph, e.to_string()))?;
    outputs
        .iter()
        .map(|t| {
            let value = out
                .remove(t.name.as_str())
                .ok_or_else(|| runtime(graph, format!("no output {:?}", t.name)))?;
            let expected: Vec<i64> = std::iter::once(rows)
                .chain(t.shape.iter().copied())
                .map(|d| d as i64)
                .collect();
            let ValueType::Tensor { ty, shape, .. } = value.dtype() else {
                return Err(runtime(
                    graph,
                    format!("output {:?} is not a tensor", t.name),
                ));
            };
            if shape[..] != expected[..] || *ty != element_type_of(t.dtype) {
                return Err(runtime(
                    graph,
                    format!(
                        "output {:?} is {ty} {:?}; the manifest says {} {expected:?}",
                        t.name,
                        &shape[..],
                        t.dtype
                    ),
                ));
            }
            Ok(value)
        })
        .collect()
}

/// ONNX Runtime's element type for `dtype`.
fn element_type_of(dtype: pcee_runtime::DType) -> ort::value::TensorElementType {
    use ort::value::TensorElementType as T;
    use pcee_runtime::DType as D;
    match dtype {
        D::Float32 => T::Float32,
        D::Float16 => T::Float16,
        D::Int64 => T::Int64,
        D::Int32 => T::Int32,
        D::Uint8 => T::Uint8,
        D::Bool => T::Bool,
    }
}

/// The host tensor `t` as an ONNX Runtime tensor of its element type (one copy).
pub(crate) fn value_of(t: &HostTensor) -> Result<DynValue> {
    let dims: Vec<i64> = t.shape().iter().map(|&d| d as i64).collect();
    match t.values() {
        Values::F32(v) => tensor(dims, v.clone()),
        Values::F16(bits) => tensor(
            dims,
            bits.iter().map(|&b| half::f16::from_bits(b)).collect(),
        ),
        Values::I64(v) => tensor(dims, v.clone()),
        Values::I32(v) => tensor(dims, v.clone()),
        Values::U8(v) => tensor(dims, v.clone()),
        Values::Bool(v) => tensor(dims, v.clone()),
    }
}
