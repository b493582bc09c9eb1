//! `pcee.read_logits`: a logits file as numpy arrays.

use crate::data::read_file;
use numpy::{PyArray1, PyArrayMethods};
use pcee::LogitValues;
use pyo3::prelude::*;
use std::path::PathBuf;

/// Reads a logits file as the CLI reads it: ``.npz`` (``numpy.savez`` or
/// ``numpy.savez_compressed``) or ``.safetensors`` with arrays ``logits``, ``labels`` and
/// optionally ``flops``.
///
/// Returns ``(logits, labels, flops)``: logits float32 or float64 as stored
/// ``[exits, samples, classes]``; labels int64 ``[samples]``; flops float64 ``[exits]``, or
/// ``None`` when the file has none (costs are then counted in exits).
///
/// ``max_memory``: the most bytes the file's arrays may take once read (default: half of the
/// available memory); a larger file is refused before it is decompressed.
///
/// Raises ``OSError`` (the file cannot be opened or read) or ``ValueError`` (anything wrong
/// with its content: NaN logits, labels outside ``0..classes``, decreasing FLOPs, a bad
/// archive, ...), with the message ``<path>: <what is wrong, what was expected>``.
#[pyfunction]
#[pyo3(signature = (path, *, max_memory=None))]
pub fn read_logits<'py>(
    py: Python<'py>,
    path: PathBuf,
    max_memory: Option<u64>,
) -> PyResult<Bound<'py, PyAny>> {
    let data = read_file(py, path, max_memory)?.logits;
    let shape = [data.exits(), data.samples(), data.classes()];
    let logits = match data.values() {
        LogitValues::F32(v) => PyArray1::from_slice(py, v).reshape(shape)?.into_any(),
        LogitValues::F64(v) => PyArray1::from_slice(py, v).reshape(shape)?.into_any(),
    };
    let labels: Vec<i64> = data.labels().iter().map(|&l| i64::from(l)).collect();
    let flops = data
        .has_flops()
        .then(|| PyArray1::from_slice(py, data.flops()).into_any());
    (logits, PyArray1::from_vec(py, labels), flops)
        .into_pyobject(py)
        .map(Bound::into_any)
}
