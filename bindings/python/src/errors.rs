//! The core's errors as Python exceptions: `OSError` when a file cannot be read or written,
//! `ValueError` for everything else, each with the one line the CLI prints after `error: `
//! (an argument is named as Python spells it, `delta`, where the CLI names its flag, `--delta`).

use pcee::logits::Problem;
use pcee::policy_file::PolicyFileError;
use pcee::text::one_line;
use pcee::LogitsError;
use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::PyErr;
use std::fmt::Display;

/// `ValueError("<what>: <err>")`: a bad argument (`what` is its keyword, e.g. `delta`) or bad
/// data (`what` names the file or `logits`).
pub fn value_error(what: &str, err: impl Display) -> PyErr {
    PyValueError::new_err(one_line(&format!("{what}: {err}")))
}

/// A logits file or in-memory logits that cannot be used: `OSError` when the file could not be
/// opened or read, else `ValueError`; the message is the core's (`<path>: array 'labels': …`).
pub fn logits_error(err: LogitsError) -> PyErr {
    let message = one_line(&err.to_string());
    match err.problem() {
        Problem::Io(_) => PyOSError::new_err(message),
        _ => PyValueError::new_err(message),
    }
}

/// A policy file that cannot be read, parsed or written: `OSError` for the file system (the
/// core's "cannot read the file" / "cannot write the file"), else `ValueError`.
pub fn policy_file_error(err: PolicyFileError) -> PyErr {
    let message = one_line(&err.to_string());
    let io = ["cannot read the file", "cannot write the file"];
    if io.iter().any(|prefix| err.what.starts_with(prefix)) {
        PyOSError::new_err(message)
    } else {
        PyValueError::new_err(message)
    }
}
