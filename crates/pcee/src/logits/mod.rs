//! Per-exit logits of a model on a data set, read from `.npz` / `.safetensors` files
//! (docs/design.md §4) or built in memory, and validated once so that everything downstream can
//! rely on finite logits, labels in `0..classes` and non-decreasing cumulative FLOPs.

mod budget;
mod bytes;
mod concat;
mod error;
mod limits;
mod npz;
mod safetensors;
mod validate;

pub use bytes::{format_bytes, parse_bytes};
pub use concat::ConcatError;
pub use error::{LogitsError, Problem};
pub use limits::{available_memory, ReadLimits, FALLBACK_MAX_BYTES};
pub use validate::RawArrays;

/// The largest cost per sample a logits or policy file may state, in FLOPs (10³⁰, far above any
/// network: a billion images at an exaFLOP each is 10²⁷). Above it means over a file's
/// samples could overflow to infinity.
pub const MAX_FLOPS: f64 = 1e30;

use std::path::Path;

/// Logit values as stored: float32 stays float32, float64 stays float64 (so float64 files are
/// used exactly, while a float32 model's 50 000 × 8 × 1 000 logits take 1.6 GB, not 3.2 GB).
#[derive(Debug, Clone, PartialEq)]
pub enum LogitValues {
    /// float32 values, row-major `[exits, samples, classes]`.
    F32(Vec<f32>),
    /// float64 values, row-major `[exits, samples, classes]`.
    F64(Vec<f64>),
}

impl LogitValues {
    fn len(&self) -> usize {
        match self {
            LogitValues::F32(v) => v.len(),
            LogitValues::F64(v) => v.len(),
        }
    }
}

/// The logits of one exit head for one sample: `classes` values, float32 or float64.
#[derive(Debug, Clone, Copy)]
pub enum LogitsRow<'a> {
    /// float32 logits.
    F32(&'a [f32]),
    /// float64 logits.
    F64(&'a [f64]),
}

/// Per-exit logits of a model on a data set: logits `[exits, samples, classes]`, labels
/// `[samples]` in `0..classes`, cumulative FLOPs `[exits]` (docs/design.md §3–4).
///
/// Invariants, checked by every constructor: at least 2 exits, 1 sample and 1 class; every logit
/// finite; every label in `0..classes`; FLOPs finite, ≥ 0, non-decreasing, last one > 0.
#[derive(Debug, Clone, PartialEq)]
pub struct ExitLogits {
    shape: [usize; 3],
    values: LogitValues,
    labels: Vec<u32>,
    flops: Vec<f64>,
    has_flops: bool,
}

impl ExitLogits {
    /// Validating constructor from f32 data in row-major `[exits, samples, classes]` order
    /// (what a burn model produces); `flops` is the cumulative cost per exit in FLOPs.
    ///
    /// # Errors
    /// [`LogitsError::Invalid`] when the length does not match `shape`, or any invariant of
    /// [`ExitLogits`] fails.
    pub fn from_f32(
        shape: [usize; 3],
        logits: Vec<f32>,
        labels: Vec<i64>,
        flops: Option<Vec<f64>>,
    ) -> Result<Self, LogitsError> {
        Self::from_values(shape, LogitValues::F32(logits), labels, flops)
    }

    /// As [`ExitLogits::from_f32`], for float64 logits.
    ///
    /// # Errors
    /// As [`ExitLogits::from_f32`].
    pub fn from_f64(
        shape: [usize; 3],
        logits: Vec<f64>,
        labels: Vec<i64>,
        flops: Option<Vec<f64>>,
    ) -> Result<Self, LogitsError> {
        Self::from_values(shape, LogitValues::F64(logits), labels, flops)
    }

    fn from_values(
        shape: [usize; 3],
        values: LogitValues,
        labels: Vec<i64>,
        flops: Option<Vec<f64>>,
    ) -> Result<Self, LogitsError> {
        let raw = RawArrays {
            logits: Some((shape.to_vec(), values)),
            labels: Some((
                vec![labels.len()],
                labels.into_iter().map(i128::from).collect(),
            )),
            flops: flops.map(|f| (vec![f.len()], f)),
        };
        raw.validate().map_err(LogitsError::Invalid)
    }

    /// Reads a logits file: `.npz` (numpy.savez or numpy.savez_compressed) or `.safetensors`,
    /// chosen by the extension, with arrays `logits` (float32/float64 `[L, N, C]`), `labels`
    /// (any integer dtype `[N]`) and optionally `flops` (`[L]`, cumulative FLOPs), within the
    /// default [`ReadLimits`] (half of the available memory).
    ///
    /// # Errors
    /// As [`ExitLogits::read_with`].
    pub fn read(path: &Path) -> Result<Self, LogitsError> {
        Self::read_with(path, &ReadLimits::default())
    }

    /// As [`ExitLogits::read`], allocating at most `limits.max_bytes` bytes for the file's
    /// arrays; the need is worked out from the headers before anything is decompressed.
    ///
    /// # Errors
    /// [`LogitsError::File`] naming `path` and the array at fault: unreadable, empty, truncated or
    /// non-zip file, bad `.npy` header, two entries for one array, missing array, unsupported
    /// dtype, wrong shape, NaN/inf logits, labels outside `0..C`, FLOPs of the wrong length or
    /// decreasing; [`Problem::Memory`] when the arrays need more than `limits.max_bytes`.
    pub fn read_with(path: &Path, limits: &ReadLimits) -> Result<Self, LogitsError> {
        let in_file = |problem| LogitsError::File {
            path: path.to_path_buf(),
            problem,
        };
        if path.is_dir() {
            let problem = "is a directory; expected a .npz (numpy.savez) or .safetensors file";
            return Err(in_file(Problem::Io(problem.to_string())));
        }
        let extension = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        let raw = match extension.to_ascii_lowercase().as_str() {
            "npz" => npz::read(path, limits),
            "safetensors" => safetensors::read(path, limits),
            _ => Err(Problem::Extension(extension.to_string())),
        };
        raw.and_then(RawArrays::validate).map_err(in_file)
    }

    /// Writes a `.npz` that `numpy.load` reads: `logits` `[L, N, C]` (float32, or float64 when
    /// the values came from a float64 file), `labels` int64 `[N]`, and `flops` float64 `[L]` when
    /// the logits had FLOPs. Atomic: a temporary file in the same directory, then a rename.
    ///
    /// # Errors
    /// [`LogitsError::File`] with [`Problem::Io`] when the file cannot be written.
    pub fn write_npz(&self, path: &Path) -> Result<(), LogitsError> {
        npz::write(self, path).map_err(|err| LogitsError::File {
            path: path.to_path_buf(),
            problem: Problem::Io(format!("cannot write the file: {err}")),
        })
    }

    /// Number of exits `L` (≥ 2).
    pub fn exits(&self) -> usize {
        self.shape[0]
    }

    /// Number of samples `N` (≥ 1).
    pub fn samples(&self) -> usize {
        self.shape[1]
    }

    /// Number of classes `C` (≥ 1).
    pub fn classes(&self) -> usize {
        self.shape[2]
    }

    /// Labels `[samples]`, each in `0..classes`.
    pub fn labels(&self) -> &[u32] {
        &self.labels
    }

    /// Cumulative cost per exit `[exits]` in FLOPs: the cost of computing the network up to and
    /// including exit head `l`; `l + 1` ("exits") when the file had no `flops`.
    pub fn flops(&self) -> &[f64] {
        &self.flops
    }

    /// Whether the FLOPs came from the data (`false`: they count exits, `l + 1`).
    pub fn has_flops(&self) -> bool {
        self.has_flops
    }

    /// All logit values, row-major `[exits, samples, classes]`.
    pub fn values(&self) -> &LogitValues {
        &self.values
    }

    /// The logits `[classes]` of exit head `exit` for sample `sample`.
    ///
    /// # Panics
    /// When `exit ≥ exits()` or `sample ≥ samples()`.
    pub fn logits_of(&self, exit: usize, sample: usize) -> LogitsRow<'_> {
        let [exits, samples, classes] = self.shape;
        assert!(exit < exits && sample < samples, "logits_of out of range");
        let start = (exit * samples + sample) * classes;
        match &self.values {
            LogitValues::F32(v) => LogitsRow::F32(&v[start..start + classes]),
            LogitValues::F64(v) => LogitsRow::F64(&v[start..start + classes]),
        }
    }
}
