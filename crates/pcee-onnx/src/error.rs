//! The one error type of `pcee-onnx`; every variant renders as one line naming the file (and,
//! for a manifest defect, the field): `<file>: <field>: <what is wrong, what was expected>`.

use std::path::PathBuf;

/// Errors of export, manifest and graph validation, and the ONNX Runtime backend.
#[derive(Debug, thiserror::Error)]
pub enum OnnxError {
    /// A stage-graph directory or manifest disagrees with itself or with its graphs.
    #[error("{}: {field}: {reason}", path.display())]
    Invalid {
        /// The offending file (the manifest, or a graph).
        path: PathBuf,
        /// The manifest field (`stages[1].outputs[0].shape`, …) or graph part concerned.
        field: String,
        /// What is wrong and what was expected.
        reason: String,
    },
    /// A file could not be read or written. The I/O error is part of the message, not a
    /// `source`, so a caller printing the error chain does not repeat it.
    #[error("{}: {error}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        error: std::io::Error,
    },
    /// The model cannot be exported (e.g. an architecture without an exporter yet).
    #[error("{what}: {reason}")]
    Unsupported {
        /// The model file or architecture.
        what: String,
        /// Why, and what is supported.
        reason: String,
    },
    /// ONNX Runtime failed (loading the library, creating a session, running a graph).
    #[error("{what}: {reason}")]
    Runtime {
        /// The library, graph or call concerned.
        what: String,
        /// ONNX Runtime's message, or what disagreed.
        reason: String,
    },
}

impl OnnxError {
    /// An [`OnnxError::Invalid`].
    pub fn invalid(
        path: impl Into<PathBuf>,
        field: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        OnnxError::Invalid {
            path: path.into(),
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// An [`OnnxError::Io`] on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        OnnxError::Io {
            path: path.into(),
            error: source,
        }
    }
}

/// `Result` with [`OnnxError`].
pub type Result<T, E = OnnxError> = std::result::Result<T, E>;
