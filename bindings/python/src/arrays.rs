//! numpy arrays (or anything `numpy.asarray` takes: lists, torch CPU tensors through
//! `__array__`) into the core's [`RawArrays`], checked by the same validation as a logits file
//! ([`RawArrays::validate`]), so bad arrays fail with the words a bad file fails with.

use crate::errors::logits_error;
use numpy::prelude::*;
use numpy::{Element, PyArrayDyn, PyUntypedArray};
use pcee::logits::{Problem, RawArrays};
use pcee::{ExitLogits, LogitValues, LogitsError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;

/// `numpy.asarray(x)` in native byte order.
pub fn as_array<'py>(x: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyUntypedArray>> {
    static ASARRAY: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let asarray = ASARRAY.import(x.py(), "numpy", "asarray")?;
    let array = asarray.call1((x,))?.cast_into::<PyUntypedArray>()?;
    if array.dtype().is_native_byteorder() == Some(false) {
        let native = array.dtype().call_method1("newbyteorder", ("=",))?;
        let swapped = array.call_method1("astype", (native,))?;
        return Ok(swapped.cast_into::<PyUntypedArray>()?);
    }
    Ok(array)
}

/// The shape and the values, row-major, of an array whose dtype is `T`.
fn values<T: Element + Copy + Send + Sync>(
    array: &Bound<'_, PyUntypedArray>,
) -> PyResult<(Vec<usize>, Vec<T>)> {
    let typed = array.cast::<PyArrayDyn<T>>()?.try_readonly()?;
    let values = match typed.as_slice() {
        Ok(slice) => array.py().detach(|| slice.to_vec()),
        Err(_) => typed.as_array().iter().copied().collect(),
    };
    Ok((array.shape().to_vec(), values))
}

/// The dtype's kind (`b'f'`, `b'i'`, `b'u'`, …), size in bytes and numpy name (`float16`).
fn dtype_of(array: &Bound<'_, PyUntypedArray>) -> PyResult<(u8, usize, String)> {
    let dtype = array.dtype();
    Ok((dtype.kind(), dtype.itemsize(), dtype.str()?.to_string()))
}

fn dtype_problem(array: &'static str, found: String, expected: &'static str) -> PyErr {
    logits_error(LogitsError::Invalid(Problem::Dtype {
        array,
        found,
        expected,
    }))
}

/// `logits`: float32 or float64 (kept as given), any shape (checked by [`RawArrays::validate`]).
pub fn logit_values(array: &Bound<'_, PyUntypedArray>) -> PyResult<(Vec<usize>, LogitValues)> {
    match dtype_of(array)? {
        (b'f', 4, _) => values::<f32>(array).map(|(s, v)| (s, LogitValues::F32(v))),
        (b'f', 8, _) => values::<f64>(array).map(|(s, v)| (s, LogitValues::F64(v))),
        (_, _, found) => Err(dtype_problem("logits", found, "float32 or float64")),
    }
}

/// Integer values of any width, widened to `i128` (`None` for another dtype).
fn integers(array: &Bound<'_, PyUntypedArray>) -> PyResult<Option<(Vec<usize>, Vec<i128>)>> {
    fn widen<T: Element + Copy + Send + Sync + Into<i128>>(
        a: &Bound<'_, PyUntypedArray>,
    ) -> PyResult<(Vec<usize>, Vec<i128>)> {
        values::<T>(a).map(|(s, v)| (s, v.into_iter().map(Into::into).collect()))
    }
    let (kind, size, _) = dtype_of(array)?;
    Ok(Some(match (kind, size) {
        (b'i', 1) => widen::<i8>(array)?,
        (b'i', 2) => widen::<i16>(array)?,
        (b'i', 4) => widen::<i32>(array)?,
        (b'i', 8) => widen::<i64>(array)?,
        (b'u', 1) => widen::<u8>(array)?,
        (b'u', 2) => widen::<u16>(array)?,
        (b'u', 4) => widen::<u32>(array)?,
        (b'u', 8) => widen::<u64>(array)?,
        _ => return Ok(None),
    }))
}

/// `labels`: any integer dtype, as a `.npz` file's labels.
pub fn label_values(array: &Bound<'_, PyUntypedArray>) -> PyResult<(Vec<usize>, Vec<i128>)> {
    match integers(array)? {
        Some(labels) => Ok(labels),
        None => Err(dtype_problem(
            "labels",
            dtype_of(array)?.2,
            "an integer dtype (int8 … int64, uint8 … uint64)",
        )),
    }
}

/// `flops`: float64, float32 or any integer dtype, as `f64`.
pub fn flops_values(array: &Bound<'_, PyUntypedArray>) -> PyResult<(Vec<usize>, Vec<f64>)> {
    match dtype_of(array)? {
        (b'f', 8, _) => values::<f64>(array),
        (b'f', 4, _) => {
            values::<f32>(array).map(|(s, v)| (s, v.into_iter().map(f64::from).collect()))
        }
        (_, _, found) => match integers(array)? {
            Some((s, v)) => Ok((s, v.into_iter().map(|x| x as f64).collect())),
            None => Err(dtype_problem(
                "flops",
                found,
                "float64 (or float32, or an integer dtype)",
            )),
        },
    }
}

/// Validated [`ExitLogits`] from `logits` `[exits, samples, classes]`, `labels` `[samples]` and
/// optional cumulative `flops` `[exits]`; the check runs without the GIL.
pub fn exit_logits(
    logits: &Bound<'_, PyAny>,
    labels: &Bound<'_, PyAny>,
    flops: Option<&Bound<'_, PyAny>>,
) -> PyResult<ExitLogits> {
    let raw = RawArrays {
        logits: Some(logit_values(&as_array(logits)?)?),
        labels: Some(label_values(&as_array(labels)?)?),
        flops: flops.map(|f| flops_values(&as_array(f)?)).transpose()?,
    };
    logits
        .py()
        .detach(move || raw.validate())
        .map_err(|problem| logits_error(LogitsError::Invalid(problem)))
}
