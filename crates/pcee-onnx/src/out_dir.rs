//! The directory a stage-graph directory is written to (`pcee export`, `pcee stages`): written
//! under a temporary name beside `out`, checked, then renamed into place, so a failure leaves
//! no partial directory; an earlier stage-graph directory at `out` (a manifest and nothing but
//! graph files) is replaced, and a directory holding anything else is refused.

use crate::error::{OnnxError, Result};
use crate::manifest::MANIFEST_FILE;
use std::path::{Path, PathBuf};

/// `out` may be absent, an empty directory or an earlier export holding nothing but what an
/// export writes (the manifest, `stage-*.onnx`, `head-*.onnx`): replacing the directory must
/// never delete a file of the user's.
pub(crate) fn check_target(out: &Path) -> Result<()> {
    if !out.exists() {
        return Ok(());
    }
    if !out.is_dir() {
        return Err(OnnxError::invalid(
            out,
            "--out",
            "exists and is a file; expected a new or empty directory, or an earlier stage-graph directory",
        ));
    }
    let entries = std::fs::read_dir(out).map_err(|e| OnnxError::io(out, e))?;
    let earlier = out.join(MANIFEST_FILE).is_file();
    for entry in entries {
        let entry = entry.map_err(|e| OnnxError::io(out, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let ours = entry.file_type().is_ok_and(|t| t.is_file()) && is_export_file(&name);
        if !(earlier && ours) {
            let why = if earlier {
                format!("an earlier export, but it also holds '{name}', which replacing it would delete; expected a directory holding only {MANIFEST_FILE}, stage-*.onnx and head-*.onnx (move '{name}' away, or choose another --out)")
            } else {
                format!("exists and is not a stage-graph directory (no {MANIFEST_FILE}); expected a new or empty directory")
            };
            return Err(OnnxError::invalid(out, "--out", why));
        }
    }
    Ok(())
}

/// A file name an export writes.
fn is_export_file(name: &str) -> bool {
    let graph = |prefix: &str| {
        name.strip_prefix(prefix)
            .and_then(|rest| rest.strip_suffix(".onnx"))
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    };
    name == MANIFEST_FILE || graph("stage-") || graph("head-")
}

pub(crate) fn temporary(out: &Path) -> PathBuf {
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "stages".into());
    out.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

pub(crate) fn replace(tmp: &Path, out: &Path) -> Result<()> {
    if out.exists() {
        std::fs::remove_dir_all(out).map_err(|e| OnnxError::io(out, e))?;
    }
    std::fs::rename(tmp, out).map_err(|e| OnnxError::io(out, e))
}

/// The file `pcee export --single-file` writes: absent, or an earlier ONNX model (a file named
/// `*.onnx` that decodes as a model with a graph) — never a file of another kind, such as the
/// model's own weights or card.
pub(crate) fn check_file_target(out: &Path) -> Result<()> {
    use prost::Message;
    if !out.exists() {
        return Ok(());
    }
    let refuse = |why: &str| {
        Err(OnnxError::invalid(
            out,
            "--out",
            format!("{why}; expected a new file, or an earlier ONNX model (*.onnx) to replace"),
        ))
    };
    if out.is_dir() {
        return refuse("a directory");
    }
    if out.extension().and_then(|e| e.to_str()) != Some("onnx") {
        return refuse("exists and is not named *.onnx (replacing it would delete it)");
    }
    let bytes = std::fs::read(out).map_err(|e| OnnxError::io(out, e))?;
    match crate::proto::ModelProto::decode(bytes.as_slice()) {
        Ok(m) if m.graph.is_some() => Ok(()),
        _ => refuse("exists and is not an ONNX model (replacing it would delete it)"),
    }
}
