//! `pcee.trials`: repeated random calibration/test splits of one labelled data set (the core's
//! [`run_trials`], as `pcee trials`), returned as columns: the fields of `trials.csv` plus
//! every split's accuracy.

use crate::data::data_set;
use crate::errors::value_error;
use crate::options;
use crate::sweep::matrix;
use numpy::PyArray1;
use pcee::policy::MethodParams;
use pcee::trials::{run_trials, GuaranteeCheck, TrialConfig, TrialError, TrialMethod, TrialRow};
use pcee::Binning;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

/// Trial methods `METHOD[+ts][+target|+crc|+ucb]` (a comma-separated `str` or a sequence);
/// at least one, no repeats (as `pcee trials --methods`).
fn trial_methods(x: &Bound<'_, PyAny>) -> PyResult<Vec<TrialMethod>> {
    let mut methods: Vec<TrialMethod> = Vec::new();
    for spec in options::comma_list(x)?.split(',') {
        let m: TrialMethod = spec.parse().map_err(|err| value_error("methods", err))?;
        if methods.contains(&m) {
            let what = format!("'{m}' is listed twice; expected each method once");
            return Err(value_error("methods", what));
        }
        methods.push(m);
    }
    Ok(methods)
}

fn trial_error(err: TrialError) -> PyErr {
    match err {
        TrialError::Splits => value_error("splits", err),
        TrialError::CertifyFraction(_) => value_error("certify_fraction", err),
        err => value_error("cal_fraction", err),
    }
}

fn check_dict<'py>(py: Python<'py>, c: &GuaranteeCheck) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    dict.set_item("guarantee", c.guarantee.name())?;
    dict.set_item("measured", c.measured)?;
    dict.set_item("limit", c.limit)?;
    dict.set_item("held", c.held)?;
    Ok(dict)
}

fn columns<'py>(py: Python<'py>, rows: &[TrialRow]) -> PyResult<Bound<'py, PyDict>> {
    let column = |f: &dyn Fn(&TrialRow) -> f64| PyArray1::from_iter(py, rows.iter().map(f));
    let dict = PyDict::new(py);
    let names: Vec<String> = rows.iter().map(|r| r.method.to_string()).collect();
    dict.set_item("method", names)?;
    dict.set_item("delta", column(&|r| r.delta))?;
    dict.set_item("mean_accuracy", column(&|r| r.mean_accuracy))?;
    dict.set_item("p5_accuracy", column(&|r| r.p5_accuracy))?;
    dict.set_item("violation_rate", column(&|r| r.violation_rate))?;
    dict.set_item("mean_flops", column(&|r| r.mean_flops))?;
    dict.set_item("flops_fraction", column(&|r| r.flops_fraction))?;
    dict.set_item("mean_policy_delta", column(&|r| r.mean_policy_delta))?;
    let infeasible = PyArray1::from_iter(py, rows.iter().map(|r| r.infeasible as u64));
    dict.set_item("infeasible", infeasible)?;
    let accuracies: Vec<Vec<f64>> = rows.iter().map(|r| r.accuracies.clone()).collect();
    dict.set_item("accuracies", matrix(py, &accuracies)?)?;
    let checks = rows
        .iter()
        .map(|r| r.guarantee.as_ref().map(|c| check_dict(py, c)).transpose())
        .collect::<PyResult<Vec<_>>>()?;
    dict.set_item("guarantee", checks)?;
    Ok(dict)
}

/// Many random calibration/test splits of one labelled data set (``pcee trials``): per
/// method ``METHOD[+ts][+target|+crc|+ucb]`` (default
/// ``confidence,confidence+ts,pcee,pcee-ws,pcee-lcb,pcee+crc,pcee+ucb``) and δ (default
/// ``0.85:0.95:0.05``), calibrate on ``cal_fraction`` of the samples and test on the rest,
/// ``splits`` times (split s shuffles with ``seed + s``).
///
/// Returns columns, one entry per (method, δ): ``method`` (list of str), ``delta``,
/// ``mean_accuracy``, ``p5_accuracy``, ``violation_rate``, ``mean_flops``, ``flops_fraction``,
/// ``mean_policy_delta`` (float64 ``[rows]``), ``infeasible`` (uint64 ``[rows]``),
/// ``accuracies`` float64 ``[rows, splits]`` and ``guarantee`` (per row ``None`` or a dict
/// ``guarantee``, ``measured``, ``limit``, ``held`` for ``+crc``/``+ucb``).
#[pyfunction]
#[pyo3(signature = (
    logits, labels=None, flops=None, *, methods=None, deltas=None, splits=100, cal_fraction=0.5,
    bins=10, binning=None, window=1, alpha=0.05, correction="none", loss="wrong",
    certify_fraction=0.5, seed=0
))]
#[allow(clippy::too_many_arguments)]
pub fn trials<'py>(
    py: Python<'py>,
    logits: &Bound<'py, PyAny>,
    labels: Option<&Bound<'py, PyAny>>,
    flops: Option<&Bound<'py, PyAny>>,
    methods: Option<Bound<'py, PyAny>>,
    deltas: Option<Bound<'py, PyAny>>,
    splits: usize,
    cal_fraction: f64,
    bins: i64,
    binning: Option<&str>,
    window: usize,
    alpha: f64,
    correction: &str,
    loss: &str,
    certify_fraction: f64,
    seed: u64,
) -> PyResult<Bound<'py, PyDict>> {
    let default = "confidence,confidence+ts,pcee,pcee-ws,pcee-lcb,pcee+crc,pcee+ucb";
    let methods = trial_methods(&methods.unwrap_or_else(|| PyString::new(py, default).into_any()))?;
    let deltas = options::deltas_or(py, deltas, "0.85:0.95:0.05")?;
    let bins = options::bins(bins)?;
    let alpha = options::alpha(alpha)?;
    let config = TrialConfig {
        splits,
        cal_fraction,
        seed,
        bins,
        binning: binning.map_or(Ok(Binning::default()), options::binning)?,
        params: MethodParams {
            window,
            alpha,
            correction: options::correction(correction)?,
            thresholds: Vec::new(),
        },
        loss: options::loss(loss)?,
        certify_fraction,
    };
    let data = data_set(logits, labels, flops)?;
    let rows = py
        .detach(|| run_trials(&data.logits, &methods, &deltas, &config))
        .map_err(trial_error)?;
    columns(py, &rows)
}
