//! `pcee.evaluate`: a policy on labelled test logits, through the core's
//! [`pcee::PolicyFile::evaluate_on`] — the record `pcee evaluate --json` prints, returned as
//! the dict `json.loads` makes of that same JSON text.

use crate::data::data_set;
use crate::errors::value_error;
use crate::options;
use crate::policy::Policy;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;

/// Evaluates `policy` at `delta` (default: the policy's) on test data; see `pcee/_pcee.pyi`.
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
