//! A batch's state between two stages as ONNX Runtime holds it ([`OrtState`]): the outputs of
//! the stage that ran last, and the network inputs a later stage or head still reads. Rows are
//! selected, split and concatenated in each tensor's own element type (float32, float16,
//! int64, int32, uint8, bool), one copy of each row kept.

use ort::value::{DynValue, PrimitiveTensorElementType, Tensor, TensorElementType};
use std::ops::Range;

use crate::error::{OnnxError, Result};

/// A batch's state at a stage boundary. Before stage 0 it holds every network input; after
/// stage `s` it holds stage `s`'s outputs (in the manifest's order) and those network inputs
/// that a later stage or a head from `s` on reads. Every tensor is `[rows, shape…]`.
pub struct OrtState {
    /// Stage `next − 1`'s outputs; empty before stage 0.
    pub(super) outputs: Vec<DynValue>,
    /// The network inputs, by their index in the manifest; `None` once nothing reads it.
    pub(super) inputs: Vec<Option<DynValue>>,
    pub(super) rows: usize,
    /// The stage that runs next on this state (0 for inputs; `s + 1` after stage `s`).
    pub(super) next: usize,
}

impl std::fmt::Debug for OrtState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrtState")
            .field("outputs", &self.outputs.len())
            .field(
                "inputs",
                &self.inputs.iter().filter(|v| v.is_some()).count(),
            )
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

    /// The stage that runs next on this state: 0 for inputs just embedded, `s + 1` after
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
        let pieces: Vec<Range<usize>> = rows.iter().map(|&r| r..r + 1).collect();
        self.pieces(&pieces)
    }

    /// The first `k` rows and the rest, `0 < k < rows`: two states, each row copied once.
    ///
    /// # Errors
    /// [`OnnxError::Runtime`] when `k` is 0 or not below [`OrtState::rows`].
    pub fn split(&self, k: usize) -> Result<(OrtState, OrtState)> {
        if k == 0 || k >= self.rows {
            return Err(runtime(
                "split",
                format!("at row {k}; expected 1 to {}", self.rows.saturating_sub(1)),
            ));
        }
        Ok((self.pieces(&[0..k])?, self.pieces(&[k..self.rows])?))
    }

    /// The rows of `pieces` (ranges of rows, in order) as a new state.
    fn pieces(&self, pieces: &[Range<usize>]) -> Result<OrtState> {
        let take = |v: &DynValue| gather(v, self.rows, pieces);
        Ok(OrtState {
            outputs: self.outputs.iter().map(take).collect::<Result<_>>()?,
            inputs: self
                .inputs
                .iter()
                .map(|v| v.as_ref().map(take).transpose())
                .collect::<Result<_>>()?,
            rows: pieces.iter().map(Range::len).sum(),
            next: self.next,
        })
    }

    /// Several states at the same boundary as one batch, their rows in order
    /// (`[Σ rows_i, …]`); one state is returned as it is (no copy).
    ///
    /// # Errors
    /// [`OnnxError::Runtime`] when `states` is empty, or the states are at different
    /// boundaries or hold tensors of different element types or per-row shapes.
    pub fn concat(mut states: Vec<OrtState>) -> Result<OrtState> {
        if states.len() <= 1 {
            return states
                .pop()
                .ok_or_else(|| runtime("concat", "no states; expected at least one".into()));
        }
        let first = &states[0];
        let carried = |s: &OrtState| s.inputs.iter().map(Option::is_some).collect::<Vec<_>>();
        if let Some(s) = states.iter().find(|s| {
            s.next != first.next
                || s.outputs.len() != first.outputs.len()
                || carried(s) != carried(first)
        }) {
            return Err(runtime(
                "concat",
                format!(
                    "a state before stage {} with {} output(s); expected before stage {} with {}",
                    s.next,
                    s.outputs.len(),
                    first.next,
                    first.outputs.len()
                ),
            ));
        }
        let rows = states.iter().map(|s| s.rows).sum();
        let outputs = (0..first.outputs.len())
            .map(|t| {
                join(
                    &states.iter().map(|s| &s.outputs[t]).collect::<Vec<_>>(),
                    rows,
                )
            })
            .collect::<Result<_>>()?;
        let inputs = (0..first.inputs.len())
            .map(|j| {
                let parts: Option<Vec<&DynValue>> =
                    states.iter().map(|s| s.inputs[j].as_ref()).collect();
                parts.map(|p| join(&p, rows)).transpose()
            })
            .collect::<Result<_>>()?;
        Ok(OrtState {
            outputs,
            inputs,
            rows,
            next: first.next,
        })
    }
}

/// Runs `$body` with `$T` the Rust element type of the tensor `$v`.
macro_rules! by_element_type {
    ($v:expr, $T:ident => $body:expr) => {
        match element_type($v)? {
            TensorElementType::Float32 => { type $T = f32; $body }
            TensorElementType::Float16 => { type $T = half::f16; $body }
            TensorElementType::Int64 => { type $T = i64; $body }
            TensorElementType::Int32 => { type $T = i32; $body }
            TensorElementType::Uint8 => { type $T = u8; $body }
            TensorElementType::Bool => { type $T = bool; $body }
            other => Err(runtime("state", format!(
                "a tensor of element type {other}; expected float32, float16, int64, int32, uint8 or bool"))),
        }
    };
}

/// The element type of the tensor `v`.
fn element_type(v: &DynValue) -> Result<TensorElementType> {
    v.dtype()
        .tensor_type()
        .ok_or_else(|| runtime("state", "a value that is not a tensor".into()))
}

/// The rows of `pieces` of `v` (`[rows, …]`), in order, as a new tensor of `v`'s type.
fn gather(v: &DynValue, rows: usize, pieces: &[Range<usize>]) -> Result<DynValue> {
    by_element_type!(v, T => gather_typed::<T>(v, rows, pieces))
}

fn gather_typed<T>(v: &DynValue, rows: usize, pieces: &[Range<usize>]) -> Result<DynValue>
where
    T: PrimitiveTensorElementType + std::fmt::Debug + Clone + 'static,
{
    let (shape, data) = v
        .try_extract_tensor::<T>()
        .map_err(|e| runtime("state", e.to_string()))?;
    let per = data.len() / rows.max(1);
    let n: usize = pieces.iter().map(Range::len).sum();
    let mut out = Vec::with_capacity(n * per);
    for r in pieces {
        out.extend_from_slice(&data[r.start * per..r.end * per]);
    }
    let mut dims = shape.to_vec();
    dims[0] = n as i64;
    tensor(dims, out)
}

/// `parts` (tensors of one element type and per-row shape) stacked along the rows: `[rows, …]`.
fn join(parts: &[&DynValue], rows: usize) -> Result<DynValue> {
    by_element_type!(parts[0], T => join_typed::<T>(parts, rows))
}

fn join_typed<T>(parts: &[&DynValue], rows: usize) -> Result<DynValue>
where
    T: PrimitiveTensorElementType + std::fmt::Debug + Clone + 'static,
{
    let mut dims: Option<Vec<i64>> = None;
    let mut out = Vec::new();
    for v in parts {
        let (shape, data) = v
            .try_extract_tensor::<T>()
            .map_err(|e| runtime("concat", e.to_string()))?;
        match &dims {
            Some(d) if d[1..] != shape[1..] => {
                return Err(runtime(
                    "concat",
                    format!(
                        "a tensor of shape {:?} in one state and {d:?} in another",
                        &shape[..]
                    ),
                ))
            }
            Some(_) => {}
            None => {
                dims = Some(shape.to_vec());
                out.reserve(data.len() / (shape[0].max(1) as usize) * rows);
            }
        }
        out.extend_from_slice(data);
    }
    let mut dims = dims.expect("at least one part");
    dims[0] = rows as i64;
    tensor(dims, out)
}

/// A tensor of `dims` holding `data` (row-major).
pub(super) fn tensor<T>(dims: Vec<i64>, data: Vec<T>) -> Result<DynValue>
where
    T: PrimitiveTensorElementType + std::fmt::Debug + Clone + 'static,
{
    Ok(Tensor::from_array((dims, data))
        .map_err(|e| runtime("state", e.to_string()))?
        .into_dyn())
}

pub(super) fn runtime(what: &str, reason: String) -> OnnxError {
    OnnxError::Runtime {
        what: what.into(),
        reason,
    }
}
