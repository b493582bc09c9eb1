//! The steps of [`OrtStages`] as ONNX Runtime runs them: a batch's state between two stages
//! ([`OrtState`]), the images as stage 0's input ([`OrtStages::embed_images`]), one stage
//! ([`OrtStages::run_stage`]), one head's logits ([`OrtStages::run_head`]), some rows of a state
//! ([`OrtState::select`]) and several states as one batch ([`OrtState::concat`]). The runtime
//! drives them through [`pcee_runtime::Stages`] (`super::stages`).

use super::OrtStages;
use crate::error::{OnnxError, Result};
use ort::session::{Session, SessionInputValue};
use ort::value::{DynValue, Tensor};
use std::borrow::Cow;

/// A batch's state at a stage boundary: before stage 0 the one image tensor; after stage `s`
/// its outputs, in the order of its manifest outputs (which stage `s + 1` reads as they are).
/// Every tensor is float32 `[rows, shape…]`.
pub struct OrtState {
    values: Vec<DynValue>,
    rows: usize,
    /// The stage that runs next on this state (0 for images; `s + 1` after stage `s`).
    next: usize,
}

impl std::fmt::Debug for OrtState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrtState")
            .field("tensors", &self.values.len())
            .field("rows", &self.rows)
            .field("next", &self.next)
            .finish()
    }
}

impl OrtState {
    /// Number of batch rows (≥ 1).
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// The stage that runs next on this state: 0 for images just embedded, `s + 1` after
    /// stage `s` (so head `s` reads a state whose `next()` is `s + 1`).
    pub fn next(&self) -> usize {
        self.next
    }

    /// The rows `rows` of this state (indices into its batch, in the order given, repeats
    /// allowed), copied out of every tensor: a state of `rows.len()` rows at the same boundary.
    ///
    /// # Errors
    /// [`OnnxError::Runtime`] when `rows` is empty or an index is not below [`OrtState::rows`].
    pub fn select(&self, rows: &[usize]) -> Result<OrtState> {
        if rows.is_empty() {
            return Err(runtime("select", "no rows; expected at least one".into()));
        }
        if let Some(&r) = rows.iter().find(|&&r| r >= self.rows) {
            return Err(runtime(
                "select",
                format!("row {r}; expected below {}", self.rows),
            ));
        }
        let values = self
            .values
            .iter()
            .map(|v| {
                let (shape, data) = v
                    .try_extract_tensor::<f32>()
                    .map_err(|e| runtime("state", e.to_string()))?;
                let per = data.len() / self.rows;
                let mut out = Vec::with_capacity(rows.len() * per);
                for &r in rows {
                    out.extend_from_slice(&data[r * per..(r + 1) * per]);
                }
                let mut dims: Vec<i64> = shape.to_vec();
                dims[0] = rows.len() as i64;
                tensor(dims, out)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(OrtState {
            values,
            rows: rows.len(),
            next: self.next,
        })
    }

    /// Several states at the same boundary as one batch, their rows in order
    /// (`[Σ rows_i, …]`); one state is returned as it is (no copy).
    ///
    /// # Errors
    /// [`OnnxError::Runtime`] when `states` is empty, or the states are at different
    /// boundaries or hold tensors of different per-row shapes.
    pub fn concat(mut states: Vec<OrtState>) -> Result<OrtState> {
        if states.len() <= 1 {
            return states
                .pop()
                .ok_or_else(|| runtime("concat", "no states; expected at least one".into()));
        }
        let (next, tensors) = (states[0].next, states[0].values.len());
        if let Some(s) = states
            .iter()
            .find(|s| s.next != next || s.values.len() != tensors)
        {
            return Err(runtime(
                "concat",
                format!(
                    "a state before stage {} with {} tensor(s); expected before stage {next} with {tensors}",
                    s.next,
                    s.values.len()
                ),
            ));
        }
        let rows: usize = states.iter().map(|s| s.rows).sum();
        let values = (0..tensors)
            .map(|t| {
                let mut dims: Option<Vec<i64>> = None;
                let mut out = Vec::new();
                for s in &states {
                    let (shape, data) = s.values[t]
                        .try_extract_tensor::<f32>()
                        .map_err(|e| runtime("state", e.to_string()))?;
                    match &dims {
                        None => dims = Some(shape.to_vec()),
                        Some(d) if d[1..] != shape[1..] => {
                            return Err(runtime(
                                "concat",
                                format!(
                                    "tensor {t} has shape {:?} in one state and {d:?} in another",
                                    &shape[..]
                                ),
                            ))
                        }
                        Some(_) => {}
                    }
                    out.extend_from_slice(data);
                }
                let mut dims = dims.expect("at least two states");
                dims[0] = rows as i64;
                tensor(dims, out)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(OrtState { values, rows, next })
    }
}

impl OrtStages {
    /// The images as the (only) input of stage 0: normalised, row-major
    /// `[rows, input shape…]` (see [`crate::manifest::Preprocessing`]), `rows ≥ 1`.
    ///
    /// # Errors
    /// [`OnnxError::Runtime`] when `images` is empty or not a whole number of inputs.
    pub fn embed_images(&self, images: &[f32]) -> Result<OrtState> {
        let per: usize = self.manifest.input.shape.iter().product();
        if images.is_empty() || !images.len().is_multiple_of(per) {
            return Err(runtime(
                "images",
                format!(
                    "{} values; expected a positive multiple of {per} ({} {:?} per image)",
                    images.len(),
                    self.manifest.input.name,
                    self.manifest.input.shape
                ),
            ));
        }
        let rows = images.len() / per;
        let values = vec![tensor(
            dims(rows, &self.manifest.input.shape),
            images.to_vec(),
        )?];
        Ok(OrtState {
            values,
            rows,
            next: 0,
        })
    }

    /// Stage `s` on `state` (which must be before stage `s`: [`OrtState::next`] = `s`); the
    /// state after it, its outputs checked against the manifest.
    ///
    /// # Errors
    /// [`OnnxError::Runtime`] when `s` is not a stage, `state` is at another boundary, the
    /// graph fails or an output disagrees with the manifest.
    pub fn run_stage(&mut self, s: usize, state: OrtState) -> Result<OrtState> {
        let exits = self.manifest.exits();
        if s >= exits || state.next != s {
            return Err(runtime(
                "stage",
                format!(
                    "stage {s} on a state before stage {}; expected a stage below {exits} on \
                     its own input",
                    state.next
                ),
            ));
        }
        let stage = &self.manifest.stages[s];
        let inputs: Vec<(&str, &DynValue)> = stage
            .inputs
            .iter()
            .map(|t| t.name.as_str())
            .zip(&state.values)
            .collect();
        let names: Vec<(&str, &[usize])> = stage
            .outputs
            .iter()
            .map(|t| (t.name.as_str(), &t.shape[..]))
            .collect();
        let values = run(
            &mut self.stages[s],
            &stage.graph,
            &inputs,
            &names,
            state.rows,
        )?;
        Ok(OrtState {
            values,
            rows: state.rows,
            next: s + 1,
        })
    }

    /// Head `e`'s logits, row-major `[rows, classes]` float32, from the state after stage `e`
    /// ([`OrtState::next`] = `e + 1`).
    ///
    /// # Errors
    /// [`OnnxError::Runtime`] when `e` is not an exit, `state` is at another boundary, or the
    /// graph fails or writes another shape than the manifest's.
    pub fn run_head(&mut self, e: usize, state: &OrtState) -> Result<Vec<f32>> {
        let exits = self.manifest.exits();
        if e >= exits || state.next != e + 1 {
            return Err(runtime(
                "head",
                format!(
                    "head {e} on a state before stage {}; expected an exit below {exits} on \
                     the state after its stage",
                    state.next
                ),
            ));
        }
        let (stage, head) = (&self.manifest.stages[e], &self.manifest.heads[e]);
        let inputs = head
            .inputs
            .iter()
            .map(|t| {
                let i = stage
                    .outputs
                    .iter()
                    .position(|o| o.name == t.name)
                    .ok_or_else(|| {
                        runtime(&head.graph, format!("stage {e} has no output {:?}", t.name))
                    })?;
                Ok((t.name.as_str(), &state.values[i]))
            })
            .collect::<Result<Vec<(&str, &DynValue)>>>()?;
        let output = [(head.output.name.as_str(), &head.output.shape[..])];
        let mut values = run(
            &mut self.heads[e],
            &head.graph,
            &inputs,
            &output,
            state.rows,
        )?;
        let logits = values.pop().expect("one output");
        let (_, data) = logits
            .try_extract_tensor::<f32>()
            .map_err(|e| runtime(&head.graph, e.to_string()))?;
        Ok(data.to_vec())
    }
}

/// Runs `session` (graph file `graph`) on the named `inputs`; returns the `outputs`, in that
/// order, each checked to be float32 `[rows, shape…]`.
fn run(
    session: &mut Session,
    graph: &str,
    inputs: &[(&str, &DynValue)],
    outputs: &[(&str, &[usize])],
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
        .map(|(name, shape)| {
            let value = out
                .remove(*name)
                .ok_or_else(|| runtime(graph, format!("no output {name:?}")))?;
            let (got, _) = value
                .try_extract_tensor::<f32>()
                .map_err(|e| runtime(graph, format!("output {name:?}: {e}")))?;
            let expected = dims(rows, shape);
            if got[..] != expected[..] {
                return Err(runtime(
                    graph,
                    format!(
                        "output {name:?} has shape {:?}; the manifest says {expected:?}",
                        &got[..]
                    ),
                ));
            }
            Ok(value)
        })
        .collect()
}

fn tensor(dims: Vec<i64>, data: Vec<f32>) -> Result<DynValue> {
    Ok(Tensor::from_array((dims, data))
        .map_err(|e| runtime("state", e.to_string()))?
        .into_dyn())
}

fn dims(rows: usize, shape: &[usize]) -> Vec<i64> {
    std::iter::once(rows)
        .chain(shape.iter().copied())
        .map(|d| d as i64)
        .collect()
}

pub(super) fn runtime(what: &str, reason: String) -> OnnxError {
    OnnxError::Runtime {
        what: what.into(),
        reason,
    }
}
