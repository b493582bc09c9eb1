//! The one error type of `pcee-nn`.
//!
//! Every variant renders as one line of the form `<file or flag>: <what is wrong, what was
//! expected>`, so the CLI can print `error: {err}` as docs/design.md §5 asks.

use std::path::PathBuf;

/// Errors of data loading, model construction, save/load and training.
#[derive(Debug, thiserror::Error)]
pub enum NnError {
    /// A data file is missing or unreadable.
    #[error(
        "{}: cannot be read; install the data set with `apt-get install dataset-fashion-mnist` \
         or give a directory holding the four Fashion-MNIST IDX files",
        path.display()
    )]
    DataMissing {
        /// The file that could not be read.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
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
    /// An invalid option or configuration value; `what` names the field as the options type
    /// spells it (`batch`, `epochs`, `msdnet.growth`, …); a front end maps it to its own flag.
    #[error("{what}: {reason}")]
    Invalid {
        /// The option or configuration field.
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
        /// The I/O error behind it, when there is one.
        #[source]
        source: Option<std::io::Error>,
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
            source: None,
        }
    }

    /// [`NnError::Write`] carrying the I/O error as its source.
    pub fn write_io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        NnError::Write {
            path: path.into(),
            reason: "cannot write".into(),
            source: Some(source),
        }
    }
}

/// Result alias of this crate.
pub type Result<T, E = NnError> = std::result::Result<T, E>;
