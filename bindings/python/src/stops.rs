//! `Policy.stops`: the call an inference loop makes after each exit head — for every row of a
//! float32 logits batch `[batch, classes]`, the core's [`ExitPolicy::stops_on_logits`] (the
//! rule the CLI's evaluation and the runtime use), vectorised over the batch without the GIL.

use crate::errors::value_error;
use crate::options;
use crate::policy::Policy;
use numpy::prelude::*;
use numpy::{PyArray1, PyArray2, PyUntypedArray};
use pcee::ExitPolicy;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use rayon::prelude::*;

/// Batches of at least this many logits are decided in parallel (smaller ones are faster on
/// one thread than the cost of waking the pool).
const PARALLEL_VALUES: usize = 1 << 16;

/// `x` as a C-contiguous float32 array: `x` itself when it already is one (no copy), else
/// `numpy.ascontiguousarray(x, "float32")` (a torch CPU float32 tensor is viewed, not copied;
/// other dtypes are rounded to float32, as an inference runtime holds them).
fn float32<'py>(x: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyUntypedArray>> {
    if let Ok(a) = x.cast::<PyArray2<f32>>() {
        if a.is_c_contiguous() {
            return Ok(a.as_untyped().clone());
        }
    }
    static CONTIGUOUS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let contiguous = CONTIGUOUS.import(x.py(), "numpy", "ascontiguousarray")?;
    Ok(contiguous
        .call1((x, "float32"))?
        .cast_into::<PyUntypedArray>()?)
}

/// Checks the batch's shape `[batch, classes]` against the policy; returns `classes`.
fn classes_of(policy: &Policy, shape: &[usize]) -> PyResult<usize> {
    let &[_, classes] = shape else {
        let what =
            format!("has shape {shape:?}; expected [batch, classes], one exit head's logits");
        return Err(value_error("logits", what));
    };
    if classes == 0 {
        let what = format!("has no classes (shape {shape:?}); expected at least 1");
        return Err(value_error("logits", what));
    }
    policy
        .file
        .check_classes(classes, "logits")
        .map_err(|err| value_error("logits", err))?;
    Ok(classes)
}

/// The decision of `rule` for every row of `logits` (row-major `[batch, classes]`).
fn decide(
    rule: &dyn ExitPolicy,
    exit: usize,
    exits: usize,
    logits: &[f32],
    classes: usize,
) -> Vec<bool> {
    let one = |row: &[f32]| rule.stops_on_logits(exit, exits, row);
    if logits.len() >= PARALLEL_VALUES {
        logits.par_chunks(classes).map(one).collect()
    } else {
        logits.chunks(classes).map(one).collect()
    }
}

/// `policy.stops(exit, logits, delta=None)`: bool `[batch]`, true where the sample stops.
pub fn stops<'py>(
    py: Python<'py>,
    policy: &Policy,
    exit: i64,
    logits: &Bound<'py, PyAny>,
    delta: Option<f64>,
) -> PyResult<Bound<'py, PyArray1<bool>>> {
    let exits = policy.file.exit_count();
    let Some(exit) = usize::try_from(exit).ok().filter(|&e| e < exits) else {
        let what = format!(
            "{exit}; expected an exit index from 0 to {} (the policy has {exits} exits)",
            exits - 1
        );
        return Err(value_error("exit", what));
    };
    let array = float32(logits)?;
    let classes = classes_of(policy, array.shape())?;
    let compiled;
    let rule: &dyn ExitPolicy = match delta {
        None => policy.rule.as_ref(),
        Some(d) => {
            compiled = policy.file.policy(options::delta("delta", d)?);
            compiled.as_ref()
        }
    };
    let batch = array.cast::<PyArray2<f32>>()?.try_readonly()?;
    let values = batch.as_slice()?;
    let decisions = py.detach(|| decide(rule, exit, exits, values, classes));
    Ok(PyArray1::from_vec(py, decisions))
}
