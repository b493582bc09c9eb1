//! `pcee._pcee`: the native module of the `pcee` Python package, a thin layer over the core
//! crate `pcee` (docs/design.md §10). Every decision — scores, bins, exit rules, calibration,
//! evaluation, the policy file — is the core's code, the same that the `pcee` CLI runs; this
//! crate only converts numpy arrays and Python arguments, releases the GIL around the work, and
//! turns the core's errors into `ValueError` / `OSError` with the CLI's one-line messages.
//! One idea per file: [`data`] (a data set argument), [`arrays`] (numpy in), [`options`]
//! (keyword arguments), [`errors`], and one file per Python entry point.

mod arrays;
mod calibrate;
mod data;
mod diagrams;
mod errors;
mod evaluate;
mod options;
mod policy;
mod read;
mod stops;
mod sweep;
mod trials;

use pyo3::prelude::*;

/// The native module; `pcee/__init__.py` re-exports it.
#[pymodule]
fn _pcee(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<policy::Policy>()?;
    m.add_function(wrap_pyfunction!(read::read_logits, m)?)?;
    m.add_function(wrap_pyfunction!(calibrate::calibrate, m)?)?;
    m.add_function(wrap_pyfunction!(evaluate::evaluate, m)?)?;
    m.add_function(wrap_pyfunction!(diagrams::reliability_diagrams, m)?)?;
    m.add_function(wrap_pyfunction!(sweep::sweep, m)?)?;
    m.add_function(wrap_pyfunction!(trials::trials, m)?)?;
    m.add("POLICY_FORMAT", pcee::policy_file::FORMAT)?;
    m.add("POLICY_VERSION", pcee::policy_file::VERSION)?;
    m.add("MAX_BINS", pcee::bins::MAX_BINS)?;
    Ok(())
}
