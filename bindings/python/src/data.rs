//! A data set argument: a logits file path (`.npz` / `.safetensors`, read by the core as the
//! CLI reads it), a tuple `(logits, labels[, flops])` as `pcee.read_logits` returns, or the
//! arrays given separately (`logits, labels, flops`).

use crate::arrays::exit_logits;
use crate::errors::{logits_error, value_error};
use pcee::logits::ReadLimits;
use pcee::ExitLogits;
use pyo3::prelude::*;
use pyo3::types::{PyString, PyTuple};
use std::path::PathBuf;

/// A data set, with where it came from.
pub struct DataSet {
    /// The validated logits, labels and cumulative FLOPs.
    pub logits: ExitLogits,
    /// The file it was read from, when it was.
    pub path: Option<PathBuf>,
}

impl DataSet {
    /// How errors about this data name it: the file, as the CLI does, or the argument `arg`
    /// that held the arrays.
    pub fn name(&self, arg: &str) -> String {
        self.path
            .as_ref()
            .map_or_else(|| arg.to_string(), |p| p.display().to_string())
    }

    /// The name stored as a policy's `calibration.source`: the file name (as `pcee calibrate`
    /// stores it), else `source` or `numpy arrays`.
    pub fn source(&self, source: Option<&str>) -> String {
        match (source, &self.path) {
            (Some(s), _) => s.to_string(),
            (None, Some(p)) => p.file_name().map_or_else(
                || p.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            ),
            (None, None) => "numpy arrays".to_string(),
        }
    }
}

/// Whether `x` is a `str` or an `os.PathLike`.
fn is_path(x: &Bound<'_, PyAny>) -> bool {
    x.is_instance_of::<PyString>() || x.hasattr("__fspath__").unwrap_or(false)
}

/// Reads a logits file within `max_memory` bytes (default: half of the available memory),
/// without the GIL.
pub fn read_file(py: Python<'_>, path: PathBuf, max_memory: Option<u64>) -> PyResult<DataSet> {
    let limits = max_memory.map_or_else(ReadLimits::default, ReadLimits::new);
    let logits = py
        .detach(|| ExitLogits::read_with(&path, &limits))
        .map_err(logits_error)?;
    Ok(DataSet {
        logits,
        path: Some(path),
    })
}

/// The data set given as `logits` (a path, a tuple, or an array) with `labels` and `flops`
/// (arrays only: with a path or a tuple they must be `None`).
pub fn data_set(
    logits: &Bound<'_, PyAny>,
    labels: Option<&Bound<'_, PyAny>>,
    flops: Option<&Bound<'_, PyAny>>,
) -> PyResult<DataSet> {
    let alone = labels.is_none() && flops.is_none();
    if is_path(logits) {
        if !alone {
            return Err(value_error(
                "labels",
                "given with a logits file; expected the file alone, or arrays",
            ));
        }
        return read_file(logits.py(), logits.extract::<PathBuf>()?, None);
    }
    if let Ok(tuple) = logits.cast::<PyTuple>() {
        if !alone || !(2..=3).contains(&tuple.len()) {
            return Err(value_error("logits", "a tuple is (logits, labels) or (logits, labels, flops), given alone; expected that, a file path, or arrays"));
        }
        let flops = tuple.get_item(2).ok().filter(|f| !f.is_none());
        return data_set(
            &tuple.get_item(0)?,
            Some(&tuple.get_item(1)?),
            flops.as_ref(),
        );
    }
    let labels = labels.ok_or_else(|| {
        value_error(
            "labels",
            "missing; expected integer labels [samples] with the logits array",
        )
    })?;
    Ok(DataSet {
        logits: exit_logits(logits, labels, flops)?,
        path: None,
    })
}
