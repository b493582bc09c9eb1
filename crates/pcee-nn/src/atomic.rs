//! Atomic file writes through the core crate's helper ([`pcee::atomic`]): a temporary file
//! beside the target, then a rename, so a reader never sees a partial file (docs/design.md §5); the
//! result has ordinary permissions (0666 minus the umask).

use crate::error::{NnError, Result};
use std::path::Path;

/// Write `bytes` to `path` atomically.
///
/// # Errors
/// [`NnError::Write`] naming `path` when the temporary file cannot be written or renamed.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    pcee::atomic::write_bytes_atomic(path, bytes).map_err(|e| NnError::write_io(path, e))
}
