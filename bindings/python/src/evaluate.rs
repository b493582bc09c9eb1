//! `pcee.evaluate`: a policy on labelled test logits, through the core's
//! [`pcee::PolicyFile::evaluate_on`] — the record `pcee evaluate --json` prints, returned as
//! the dict `json.loads` makes of that same JSON text.

use crate::data::data_set;
use crate::errors::value_error;
use crate::options;
use crate::policy::Policy;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;

/// Evaluates ``policy`` at ``delta`` (default: the policy's δ, no recalibration) on labelled
/// test data (arrays, a file path or a tuple, as :func:`calibrate`). Every sample goes through
/// the same exit rule as :meth:`Policy.stops`.
///
/// Returns the object ``pcee evaluate --json`` prints, as a dict: ``method``, ``delta``,
/// ``samples``, ``full_flops`` (cumulative FLOPs of the last exit), ``target_accuracy`` (the
/// given δ, else the policy's target accuracy or δ; absent for a budget policy),
/// ``control_error`` (accuracy − target_accuracy; absent with it), ``accuracy``,
/// ``mean_flops`` (mean FLOPs per sample), ``flops_fraction`` (mean / full), ``exit_fractions``
/// ``[exits]``, ``exit_accuracy`` ``[exits]`` (``None`` where no sample exits) and
/// ``mean_exit`` (0-based). The test file's FLOPs are used when it has them, else the policy's.
///
/// Raises ``ValueError`` when the data are not valid logits or belong to another network
/// (``logits: has 2 exits but the policy has 3; ...``), ``OSError`` for an unreadable file.
#[pyfunction]
#[pyo3(signature = (policy, logits, labels=None, flops=None, *, delta=None))]
pub fn evaluate<'py>(
    py: Python<'py>,
    policy: &Policy,
    logits: &Bound<'py, PyAny>,
    labels: Option<&Bound<'py, PyAny>>,
    flops: Option<&Bound<'py, PyAny>>,
    delta: Option<f64>,
) -> PyResult<Bound<'py, PyAny>> {
    let delta = delta.map(|d| options::delta("delta", d)).transpose()?;
    let test = data_set(logits, labels, flops)?;
    let evaluation = py
        .detach(|| policy.file.evaluate_on(&test.logits, delta))
        .map_err(|err| value_error(&test.name("logits"), err))?;
    let json = serde_json::to_string(&evaluation).map_err(|err| value_error("evaluation", err))?;
    static LOADS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    LOADS.import(py, "json", "loads")?.call1((json,))
}
