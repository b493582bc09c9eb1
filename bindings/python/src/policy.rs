//! `pcee.Policy`: a calibrated policy file (the core's [`PolicyFile`], the same versioned JSON
//! the CLI reads and writes) with its exit rule compiled at the default δ.

use crate::diagrams::diagram_dict;
use crate::errors::policy_file_error;
use crate::options;
use crate::stops::stops;
use numpy::PyArray1;
use pcee::{ExitPolicy, PolicyFile};
use pyo3::prelude::*;
use pyo3::types::PyList;
use std::path::PathBuf;

/// A calibrated exit policy: the method, default δ and every exit's validation reliability
/// diagram and cumulative FLOPs — the policy file of the CLI (versioned JSON). Immutable.
#[pyclass(module = "pcee", name = "Policy", frozen)]
pub struct Policy {
    /// The policy file.
    pub file: PolicyFile,
    /// Its rule at `file.delta`, compiled once (what `stops` asks when no δ is given).
    pub rule: Box<dyn ExitPolicy>,
}

impl Policy {
    /// Wraps a policy file, compiling its rule at its δ.
    pub fn new(file: PolicyFile) -> Self {
        let rule = file.policy(file.delta);
        Policy { file, rule }
    }
}

#[pymethods]
impl Policy {
    /// Reads a policy file written by ``pcee calibrate`` or :meth:`save` (any version).
    /// Raises ``OSError`` (unreadable) or ``ValueError`` (``<path>: field 'delta': ...``).
    #[staticmethod]
    fn load(py: Python<'_>, path: PathBuf) -> PyResult<Policy> {
        let file = py
            .detach(|| PolicyFile::read(&path))
            .map_err(policy_file_error)?;
        Ok(Policy::new(file))
    }

    /// Writes the policy file (pretty JSON, the lowest version that holds it) atomically:
    /// a temporary file, then a rename. Raises ``OSError`` when it cannot be written.
    fn save(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        py.detach(|| self.file.write(&path))
            .map_err(policy_file_error)
    }

    /// The same diagrams with default δ ``delta`` in [0, 1] (no recalibration).
    fn with_delta(&self, delta: f64) -> PyResult<Policy> {
        let mut file = self.file.clone();
        file.delta = options::delta("delta", delta)?;
        Ok(Policy::new(file))
    }

    /// Whether each sample of a batch stops at exit head ``exit`` (0-based): the call an
    /// inference loop makes after each exit head.
    ///
    /// ``logits``: that head's logits ``[batch, classes]``, float32 (a C-contiguous float32
    /// array or torch CPU tensor is read in place, without a copy; other float dtypes are
    /// rounded to float32 first). Returns numpy bool ``[batch]``: true where the sample leaves
    /// here; at the last exit always true. ``delta`` overrides the policy's δ for this call
    /// (the rule is then rebuilt: in a hot loop, use :meth:`with_delta` once instead).
    ///
    /// Vectorised over the batch (in parallel for large batches) with the GIL released.
    /// Logits are not checked for NaN (a NaN row's confidence is NaN: it lands in the first
    /// bin and meets no threshold). Raises ``ValueError`` for an exit index out of range, a
    /// batch that is not 2-D, 0 classes, or another number of classes than the policy was
    /// calibrated on.
    #[pyo3(signature = (exit, logits, delta=None))]
    fn stops<'py>(
        &self,
        py: Python<'py>,
        exit: i64,
        logits: &Bound<'py, PyAny>,
        delta: Option<f64>,
    ) -> PyResult<Bound<'py, PyArray1<bool>>> {
        stops(py, self, exit, logits, delta)
    }

    /// The ``[exits]`` reliability diagrams, as :func:`reliability_diagrams` returns them.
    fn diagrams<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let dicts = self
            .file
            .exits
            .iter()
            .map(|(_, d)| diagram_dict(py, d))
            .collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, dicts)
    }

    /// ``confidence``, ``pcee``, ``pcee-ws``, ``pcee-lcb`` or ``msdnet-budget``.
    #[getter]
    fn method(&self) -> &'static str {
        self.file.method.name()
    }

    /// The default target accuracy δ in [0, 1].
    #[getter]
    fn delta(&self) -> f64 {
        self.file.delta.get()
    }

    /// Number of exits L.
    #[getter]
    fn exits(&self) -> usize {
        self.file.exit_count()
    }

    /// Bins M asked for at calibration (with ``mass`` binning an exit may have fewer).
    #[getter]
    fn bins(&self) -> usize {
        self.file.bins()
    }

    /// ``width`` or ``mass``.
    #[getter]
    fn binning(&self) -> &'static str {
        self.file.binning.name()
    }

    /// PCEE-WS smoothing window w (0 for other methods).
    #[getter]
    fn window(&self) -> usize {
        self.file.window
    }

    /// Cumulative FLOPs per exit, float64 ``[exits]``.
    #[getter]
    fn flops<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        PyArray1::from_vec(py, self.file.flops())
    }

    /// Number of validation samples the diagrams were built on.
    #[getter]
    fn samples(&self) -> u64 {
        self.file.samples
    }

    /// Name of the calibration data (``calibration.source``).
    #[getter]
    fn source(&self) -> String {
        self.file.source.clone()
    }

    /// Classes C of the calibration logits, when recorded (version 3 files).
    #[getter]
    fn classes(&self) -> Option<usize> {
        self.file.classes
    }

    /// Per-exit temperatures ``[exits]`` (calibrated with ``temperature=True``), else None.
    #[getter]
    fn temperatures(&self) -> Option<Vec<f64>> {
        self.file.temperatures.clone()
    }

    fn __repr__(&self) -> String {
        format!(
            "Policy(method='{}', delta={}, exits={}, bins={}, binning='{}', samples={}, source='{}')",
            self.file.method,
            self.file.delta,
            self.file.exit_count(),
            self.file.bins(),
            self.file.binning,
            self.file.samples,
            self.file.source
        )
    }
}
