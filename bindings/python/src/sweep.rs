//! `pcee.sweep`: several methods at several δ (the core's [`pcee::sweep`], as `pcee sweep`),
//! returned as columns: the fields of `sweep.csv`.

use crate::data::{data_set, DataSet};
use crate::errors::value_error;
use crate::options;
use numpy::{PyArray1, PyArray2};
use pcee::{reliability_diagrams_binned, sweep as run_sweep, Binning, Method, ScoreTable};
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// The methods a sweep compares (as `pcee sweep --methods`).
const OFFERED: [Method; 5] = [
    Method::Confidence,
    Method::Pcee,
    Method::PceeWs,
    Method::PceeLcb,
    Method::Oracle,
];

/// Refuses validation and test data of different networks, in the CLI's words.
pub fn same_network(val: (&str, &DataSet), test: (&str, &DataSet)) -> PyResult<()> {
    let (a, b) = (&val.1.logits, &test.1.logits);
    if (a.exits(), a.classes()) == (b.exits(), b.classes()) {
        return Ok(());
    }
    let what = format!(
        "has {} exits and {} classes but {} has {} and {}; expected logits of the same network",
        b.exits(),
        b.classes(),
        val.1.name(val.0),
        a.exits(),
        a.classes()
    );
    Err(value_error(&test.1.name(test.0), what))
}

/// A 2-D float64 array from rows of equal length.
pub fn matrix<'py>(py: Python<'py>, rows: &[Vec<f64>]) -> PyResult<Bound<'py, PyArray2<f64>>> {
    PyArray2::from_vec2(py, rows).map_err(|err| value_error("rows", err))
}

/// For each method (default ``confidence,pcee,pcee-ws,oracle``; also ``pcee-lcb``) and each
/// δ (default ``0.5:1:0.025``), builds the diagrams on ``val`` and evaluates on ``test``
/// (``pcee sweep``). ``val`` and ``test`` are file paths or ``(logits, labels[, flops])``
/// tuples of the same network.
///
/// Returns the columns of ``sweep.csv``, one entry per (method, δ), grouped by method:
/// ``method`` (list of str), ``delta``, ``accuracy``, ``control_error``, ``mean_flops``,
/// ``flops_fraction``, ``mean_exit`` (float64 ``[rows]``) and ``exit_fractions`` float64
/// ``[rows, exits]``.
#[pyfunction]
#[pyo3(signature = (val, test, *, methods=None, deltas=None, bins=10, binning=None, window=1))]
#[allow(clippy::too_many_arguments)]
pub fn sweep<'py>(
    py: Python<'py>,
    val: &Bound<'py, PyAny>,
    test: &Bound<'py, PyAny>,
    methods: Option<Bound<'py, PyAny>>,
    deltas: Option<Bound<'py, PyAny>>,
    bins: i64,
    binning: Option<&str>,
    window: usize,
) -> PyResult<Bound<'py, PyDict>> {
    let methods = options::methods_or(py, methods, "confidence,pcee,pcee-ws,oracle", &OFFERED)?;
    let deltas = options::deltas_or(py, deltas, "0.5:1:0.025")?;
    let bins = options::bins(bins)?;
    let binning = binning.map_or(Ok(Binning::default()), options::binning)?;
    let (val, test) = (data_set(val, None, None)?, data_set(test, None, None)?);
    same_network(("val", &val), ("test", &test))?;
    let rows = py.detach(|| {
        let diagrams =
            reliability_diagrams_binned(&ScoreTable::from_logits(&val.logits), bins, binning);
        let t = &test.logits;
        run_sweep(
            &diagrams,
            &ScoreTable::from_logits(t),
            t.flops(),
            &methods,
            &deltas,
            window,
        )
    });
    let column = |f: &dyn Fn(&pcee::SweepRow) -> f64| PyArray1::from_iter(py, rows.iter().map(f));
    let dict = PyDict::new(py);
    let names: Vec<&str> = rows.iter().map(|r| r.method.name()).collect();
    dict.set_item("method", names)?;
    dict.set_item("delta", column(&|r| r.delta))?;
    dict.set_item("accuracy", column(&|r| r.outcome.accuracy))?;
    dict.set_item(
        "control_error",
        column(&|r| r.outcome.control_error(r.delta)),
    )?;
    dict.set_item("mean_flops", column(&|r| r.outcome.mean_flops))?;
    dict.set_item("flops_fraction", column(&|r| r.outcome.flops_fraction))?;
    dict.set_item("mean_exit", column(&|r| r.outcome.mean_exit))?;
    let fractions: Vec<Vec<f64>> = rows
        .iter()
        .map(|r| r.outcome.exit_fractions.clone())
        .collect();
    dict.set_item("exit_fractions", matrix(py, &fractions)?)?;
    Ok(dict)
}
