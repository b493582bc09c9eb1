//! The one error type of `pcee-nn`.
//!
//! Every variant renders as one line of the form `<file or flag>: <what is wrong, what was
//! expected>`, so the CLI can print `error: {err}` as DESIGN.md §5 asks.

use std::path::PathBuf;

/// Errors of data loading, model construction, save/load and training.
#[derive(Debug, thiserror::Error)]
pub enum NnError {
    /// A data file is missing or unreadable.
    #[error(
        "{}: {reason}; install the data set with `apt-get install dataset-fashion-mnist` \
         or point --data-dir at a directory holding the four Fashion-MNIST IDX files",
        path.display()
    )]
    DataMissing {
        /// The file that could not be read.
        path: PathBuf,
        /// The underlying I/O problem.
        reason: String,
    },
    /// A data file exists but is not a valid IDX file of the expected kind.
    #[error("{}: {reason}", path.display())]
    DataMalformed {
        /// The offending file.
        path: PathBuf,
        /// What is wrong and what was expected.
        reason: String,
    },
    /// A model file (`.safetensors` or its sibling `.json`) is missing, malformed, or the
    /// weights disagree with the configuration.
    #[error("{}: {reason}", path.display())]
    Model {
        /// The offending file.
        path: PathBuf,
        /// What is wrong and what was expected.
        reason: String,
    },
    /// An invalid argument or configuration value; `what` names the flag or field.
    #[error("{what}: {reason}")]
    Invalid {
        /// The flag or configuration field.
        what: String,
        /// What is wrong and what was expected.
        reason: String,
    },
    /// Writing an output file failed.
    #[error("{}: {reason}", path.display())]
    Write {
        /// The file that could not be written.
        path: PathBuf,
        /// The underlying problem.
        reason: String,
    },
}

impl NnError {
    /// Shorthand for [`NnError::Invalid`].
    pub fn invalid(what: impl Into<String>, reason: impl Into<String>) -> Self {
        NnError::Invalid {
            what: what.into(),
            reason: reason.into(),
        }
    }

    /// Shorthand for [`NnError::Model`].
    pub fn model(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        NnError::Model {
            path: path.into(),
            reason: reason.into(),
        }
    }

    /// Shorthand for [`NnError::Write`].
    pub fn write(path: impl Into<PathBuf>, reason: impl std::fmt::Display) -> Self {
        NnError::Write {
            path: path.into(),
            reason: reason.to_string(),
        }
    }
}

/// Result alias of this crate.
pub type Result<T, E = NnError> = std::result::Result<T, E>;
