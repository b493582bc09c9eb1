//! Early exit on one batch through ONNX Runtime sessions, with the burn runtime's decisions.
//!
//! As [`pcee_nn::runtime::early_exit_batch`]: after stage `e` and head `e`, every remaining
//! sample is asked [`pcee_nn::runtime::decide_row`] (the same [`pcee::ExitPolicy`] call on
//! the head's float32 logits); the rows that go on are gathered out of every state tensor
//! (one host copy of the survivors) and only they run stage `e + 1`; when no row leaves, the
//! stage's outputs are passed on untouched. The last exit takes the rest.

use super::OrtStages;
use crate::error::{OnnxError, Result};
use ort::session::{Session, SessionInputValue};
use ort::value::{DynValue, Tensor};
use pcee::ExitPolicy;
use pcee_nn::runtime::{decide_row, Decision};
use std::borrow::Cow;

/// The tensors between two stages, in the order of the stage's manifest outputs; every one
/// `[rows, …]`.
struct StateValues {
    values: Vec<DynValue>,
    rows: usize,
}

impl OrtStages {
    /// One [`Decision`] per image of `images` (normalised, row-major `[rows, input shape…]`,
    /// see [`crate::manifest::Preprocessing`]), in batch order, under `policy`.
    ///
    /// # Errors
    /// [`OnnxError::Runtime`] when `images` is empty or not a whole number of inputs, a graph
    /// fails, or a graph's output disagrees with the manifest at run time.
    pub fn early_exit_batch(
        &mut self,
        policy: &dyn ExitPolicy,
        images: &[f32],
    ) -> Result<Vec<Decision>> {
        let exits = self.manifest.exits();
        let mut state = self.embed(images)?;
        let mut decisions = vec![
            Decision {
                exit: 0,
                prediction: 0,
                confidence: 0.0
            };
            state.rows
        ];
        let mut alive: Vec<usize> = (0..state.rows).collect();
        for e in 0..exits {
            state = self.stage(e, state)?;
            let logits = self.head(e, &state)?;
            let classes = self.manifest.classes;
            let mut kept = Vec::with_capacity(alive.len());
            for (row, z) in logits.chunks_exact(classes).enumerate() {
                match decide_row(policy, e, exits, z) {
                    Some(d) => decisions[alive[row]] = d,
                    None => kept.push(row),
                }
            }
            if kept.is_empty() {
                break;
            }
            if kept.len() < alive.len() {
                state = gather(state, &kept)?;
                alive = kept.iter().map(|&r| alive[r]).collect();
            }
        }
        Ok(decisions)
    }

    /// Every stage and every head on `images` (as [`OrtStages::early_exit_batch`]); each
    /// exit's logits, row-major `[rows, classes]`, in network order.
    ///
    /// # Errors
    /// As [`OrtStages::early_exit_batch`].
    pub fn exit_logits(&mut self, images: &[f32]) -> Result<Vec<Vec<f32>>> {
        let mut state = self.embed(images)?;
        let mut all = Vec::with_capacity(self.manifest.exits());
        for e in 0..self.manifest.exits() {
            state = self.stage(e, state)?;
            all.push(self.head(e, &state)?);
        }
        Ok(all)
    }

    /// The full network — every stage and every head, what `flops[L − 1]` counts — deciding
    /// at the last exit for every image.
    ///
    /// # Errors
    /// As [`OrtStages::early_exit_batch`].
    pub fn full_batch(&mut self, images: &[f32]) -> Result<Vec<Decision>> {
        let exits = self.manifest.exits();
        let logits = self.exit_logits(images)?;
        let last = &logits[exits - 1];
        Ok(last
            .chunks_exact(self.manifest.classes)
            .map(|z| {
                let s = pcee::ExitScore::from_logits(z);
                Decision {
                    exit: exits - 1,
                    prediction: s.prediction,
                    confidence: s.confidence,
                }
            })
            .collect())
    }

    /// The images as the (only) input of stage 0, checked against the manifest's input shape.
    fn embed(&self, images: &[f32]) -> Result<StateValues> {
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
        let shape = dims(rows, &self.manifest.input.shape);
        let tensor = Tensor::from_array((shape, images.to_vec()))
            .map_err(|e| runtime("images", e.to_string()))?;
        Ok(StateValues {
            values: vec![tensor.into_dyn()],
            rows,
        })
    }

    /// Stage `s` on `state` (stage 0: the images).
    fn stage(&mut self, s: usize, state: StateValues) -> Result<StateValues> {
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
        Ok(StateValues {
            values,
            rows: state.rows,
        })
    }

    /// Head `e`'s logits `[rows, classes]` from the state after stage `e`.
    fn head(&mut self, e: usize, state: &StateValues) -> Result<Vec<f32>> {
        let (stage, head) = (&self.manifest.stages[e], &self.manifest.heads[e]);
        let inputs: Vec<(&str, &DynValue)> = head
            .inputs
            .iter()
            .map(|t| {
                let i = stage
                    .outputs
                    .iter()
                    .position(|o| o.name == t.name)
                    .expect("checked by the manifest");
                (t.name.as_str(), &state.values[i])
            })
            .collect();
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

/// The rows `kept` (ascending indices) of every tensor of `state`.
fn gather(state: StateValues, kept: &[usize]) -> Result<StateValues> {
    let values = state
        .values
        .iter()
        .map(|v| {
            let (shape, data) = v
                .try_extract_tensor::<f32>()
                .map_err(|e| runtime("state", e.to_string()))?;
            let per = data.len() / state.rows;
            let mut rows = Vec::with_capacity(kept.len() * per);
            for &r in kept {
                rows.extend_from_slice(&data[r * per..(r + 1) * per]);
            }
            let mut dims: Vec<i64> = shape.to_vec();
            dims[0] = kept.len() as i64;
            Ok(Tensor::from_array((dims, rows))
                .map_err(|e| runtime("state", e.to_string()))?
                .into_dyn())
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(StateValues {
        values,
        rows: kept.len(),
    })
}

fn dims(rows: usize, shape: &[usize]) -> Vec<i64> {
    std::iter::once(rows)
        .chain(shape.iter().copied())
        .map(|d| d as i64)
        .collect()
}

fn runtime(what: &str, reason: String) -> OnnxError {
    OnnxError::Runtime {
        what: what.into(),
        reason,
    }
}
