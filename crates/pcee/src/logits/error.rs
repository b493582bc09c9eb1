//! Errors of reading, validating and writing logits files.

use std::path::PathBuf;

/// What is wrong with a logits file or with logits given in memory.
#[derive(Debug, thiserror::Error)]
pub enum LogitsError {
    /// A problem found in a file; displays as `<path>: <problem>`.
    #[error("{}: {problem}", path.display())]
    File {
        /// The file, as the caller named it.
        path: PathBuf,
        /// What is wrong with it.
        problem: Problem,
    },
    /// A problem with logits given in memory (e.g. to [`super::ExitLogits::from_f32`]).
    #[error("{0}")]
    Invalid(Problem),
}

impl LogitsError {
    /// The problem, wherever it was found.
    pub fn problem(&self) -> &Problem {
        match self {
            LogitsError::File { problem, .. } | LogitsError::Invalid(problem) => problem,
        }
    }
}

/// One thing wrong with a logits file: each message says what was found and what was expected.
#[derive(Debug, thiserror::Error)]
pub enum Problem {
    /// The file could not be opened, read or written.
    #[error("{0}")]
    Io(String),
    /// The file name ends neither in `.npz` nor in `.safetensors`.
    #[error("unknown file type '{0}'; expected a .npz (numpy.savez) or .safetensors file")]
    Extension(String),
    /// Not a readable zip archive (empty, truncated, not a zip at all).
    #[error("not a readable .npz archive ({0}); expected a file written by numpy.savez or numpy.savez_compressed")]
    Archive(String),
    /// Not a readable safetensors file.
    #[error("not a readable .safetensors file ({0})")]
    SafeTensors(String),
    /// A required array is not in the file.
    #[error("array '{array}' is missing; expected {expected}")]
    Missing {
        /// Array name: `logits` or `labels`.
        array: &'static str,
        /// What the array should hold.
        expected: &'static str,
    },
    /// The `.npy` header of an array cannot be parsed.
    #[error("array '{array}': bad .npy header ({what})")]
    Header {
        /// Array name.
        array: &'static str,
        /// The parser's complaint.
        what: String,
    },
    /// The array's data are shorter than its header announces.
    #[error("array '{array}': data end early ({what}); the file looks truncated")]
    Truncated {
        /// Array name.
        array: &'static str,
        /// Details.
        what: String,
    },
    /// The array's element type is not one pcee reads.
    #[error("array '{array}': dtype {found} is not supported; expected {expected}")]
    Dtype {
        /// Array name.
        array: &'static str,
        /// The dtype found, numpy-style (e.g. `float16`).
        found: String,
        /// The accepted dtypes.
        expected: &'static str,
    },
    /// The array has the wrong number of dimensions or the wrong length.
    #[error("array '{array}': {what}")]
    Shape {
        /// Array name.
        array: &'static str,
        /// What is wrong and what was expected.
        what: String,
    },
    /// A value is out of range (NaN/inf logits, labels outside 0..C, decreasing flops).
    #[error("array '{array}': {what}")]
    Value {
        /// Array name.
        array: &'static str,
        /// The offending value, its position, and what was expected.
        what: String,
    },
    /// Reading the file would take more memory than [`super::ReadLimits`] allow; found
    /// before anything was allocated.
    #[error(
        "{what} needs {need}{}, over the memory limit of {limit}; expected a smaller file or a larger --max-memory",
        already_read(held)
    )]
    Memory {
        /// What needs it, e.g. `array 'logits' (1024×1048576×2 float32)`.
        what: String,
        /// The bytes it needs, for a person (`8.0 GiB`).
        need: String,
        /// The bytes already reserved for earlier arrays of the file, when any.
        held: Option<String>,
        /// The limit, for a person.
        limit: String,
    },
    /// The system refused memory the limit allowed.
    #[error("{what}: cannot allocate {need} (the system refused); expected a smaller file or more free memory")]
    Allocation {
        /// What needed it.
        what: String,
        /// The bytes asked for, for a person.
        need: String,
    },
    /// Two entries of an `.npz` hold the same array (`logits.npy` and `logits`, or one name
    /// twice); numpy would read one of them, pcee perhaps the other.
    #[error(
        "entries '{first}' and '{second}' both hold array '{array}'; expected one entry per array"
    )]
    Duplicate {
        /// Array name.
        array: &'static str,
        /// The first entry, as named in the archive.
        first: String,
        /// The second entry, as named in the archive.
        second: String,
    },
}

fn already_read(held: &Option<String>) -> String {
    held.as_ref()
        .map_or_else(String::new, |held| format!(" ({held} already read)"))
}

/// A third-party error message on one line (parsers may report over several lines).
pub(super) fn one_line(message: impl std::fmt::Display) -> String {
    message
        .to_string()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}
