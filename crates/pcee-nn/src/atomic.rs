//! Atomic file writes: write `<path>.<pid>.tmp` beside the target, then rename, so a reader
//! never sees a partial file (DESIGN.md §5).

use crate::error::{NnError, Result};
use std::path::{Path, PathBuf};

/// Write `bytes` to `path` atomically.
///
/// # Errors
/// [`NnError::Write`] naming `path` when the temporary file cannot be written or renamed.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = temp_path(path);
    let result = std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, path));
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        NnError::write(path, format!("cannot write ({e})"))
    })
}

fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{}.tmp", std::process::id()));
    path.with_file_name(name)
}
