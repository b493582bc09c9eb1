//! `pcee.reliability_diagrams`: every exit's reliability diagram (the core's
//! [`reliability_diagrams_binned`], as `pcee diagram`) as plain dicts of numpy arrays.

use crate::data::data_set;
use crate::options;
use numpy::PyArray1;
use pcee::{reliability_diagrams_binned, Binning, Regime, ReliabilityDiagram, ScoreTable};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

/// One diagram as a dict: `edges` float64 `[M + 1]`, `counts` and `correct` uint64 `[M]`,
/// `accuracy` and `mean_confidence` float64 `[M]` (NaN for an empty bin), `ece`, `samples`,
/// `overall_accuracy`, `overall_confidence` (fractions; `None` when empty) and `regime`.
pub fn diagram_dict<'py>(py: Python<'py>, d: &ReliabilityDiagram) -> PyResult<Bound<'py, PyDict>> {
    let nan = |x: Option<f64>| x.unwrap_or(f64::NAN);
    let accuracy: Vec<f64> = (0..d.bins()).map(|b| nan(d.accuracy(b))).collect();
    let confidence: Vec<f64> = d.mean_confidence().iter().map(|&c| nan(c)).collect();
    let dict = PyDict::new(py);
    dict.set_item("edges", PyArray1::from_vec(py, d.edges().edges()))?;
    dict.set_item("counts", PyArray1::from_slice(py, d.counts()))?;
    dict.set_item("correct", PyArray1::from_slice(py, d.correct()))?;
    dict.set_item("accuracy", PyArray1::from_vec(py, accuracy))?;
    dict.set_item("mean_confidence", PyArray1::from_vec(py, confidence))?;
    dict.set_item("ece", d.ece())?;
    dict.set_item("samples", d.samples())?;
    dict.set_item("overall_accuracy", d.overall_accuracy())?;
    dict.set_item("overall_confidence", d.overall_confidence())?;
    let regime = d
        .overall_accuracy()
        .zip(d.overall_confidence())
        .map(|(a, c)| Regime::of(a, c).name());
    dict.set_item("regime", regime)?;
    Ok(dict)
}

/// The reliability diagram of every exit (``pcee diagram``), a list ``[exits]`` of dicts:
/// ``edges`` float64 ``[M + 1]`` (0 to 1), ``counts`` and ``correct`` uint64 ``[M]``,
/// ``accuracy`` and ``mean_confidence`` float64 ``[M]`` (NaN for an empty bin), ``ece``,
/// ``samples``, ``overall_accuracy``, ``overall_confidence`` and ``regime``
/// (``over-confident``, ``under-confident`` or ``calibrated``). ``bins`` and ``binning`` as
/// in :func:`calibrate`.
#[pyfunction]
#[pyo3(signature = (logits, labels=None, *, bins=10, binning=None))]
pub fn reliability_diagrams<'py>(
    py: Python<'py>,
    logits: &Bound<'py, PyAny>,
    labels: Option<&Bound<'py, PyAny>>,
    bins: i64,
    binning: Option<&str>,
) -> PyResult<Bound<'py, PyList>> {
    let bins = options::bins(bins)?;
    let binning = binning.map_or(Ok(Binning::default()), options::binning)?;
    let data = data_set(logits, labels, None)?;
    let diagrams = py.detach(|| {
        reliability_diagrams_binned(&ScoreTable::from_logits(&data.logits), bins, binning)
    });
    let dicts = diagrams
        .iter()
        .map(|d| diagram_dict(py, d))
        .collect::<PyResult<Vec<_>>>()?;
    PyList::new(py, dicts)
}
