//! `pcee export`: a pcee model written as a stage-graph directory ([`crate::manifest`]).
//!
//! The directory is written under a temporary name beside `out`, validated
//! ([`crate::validate()`]), then renamed into place, so a failed export leaves no partial
//! directory; an earlier export at `out` (a directory holding a manifest and nothing but graph
//! files) is replaced, and a directory holding anything else is refused.

use crate::error::{OnnxError, Result};
use crate::manifest::{
    Manifest, Preprocessing, PreprocessingKind, TensorSpec, FORMAT, MANIFEST_FILE, VERSION,
};
use crate::msdnet::{self, INPUT, INPUT_SHAPE};
use crate::vit;
use pcee_nn::data::{PIXEL_MEAN, PIXEL_STD};
use pcee_nn::{Model, Network};
use prost::Message;
use std::path::{Path, PathBuf};

/// Writes `model` (pcee's MSDNet with BatchNorm folded, or its ViT) as stage graphs and a
/// manifest into the directory `out`; `source` is recorded in the manifest. Returns the
/// manifest written. The graphs are built by [`msdnet::graphs`] or [`vit::graphs`].
///
/// # Errors
/// [`OnnxError::Io`] when the directory cannot be written, [`OnnxError::Invalid`] when `out`
/// exists and is not an earlier export, or when the written directory fails validation (a
/// bug).
pub fn export(model: &Model, source: Option<String>, out: &Path) -> Result<Manifest> {
    check_target(out)?;
    let (stages, heads) = match model.network() {
        Network::MsdNet(net) => msdnet::graphs(&net.weights()),
        Network::Vit(net) => vit::graphs(&net.weights()),
    };
    let manifest = Manifest {
        format: FORMAT.into(),
        version: VERSION,
        classes: model.classes(),
        inputs: vec![TensorSpec::f32(INPUT, &INPUT_SHAPE)],
        preprocessing: Some(Preprocessing {
            kind: PreprocessingKind::U8Images,
            input: INPUT.into(),
            scale: 1.0 / 255.0,
            mean: f64::from(PIXEL_MEAN),
            std: f64::from(PIXEL_STD),
        }),
        flops: model.flops_per_exit(),
        stages: stages.iter().map(|s| s.entry.clone()).collect(),
        heads: heads.iter().map(|h| h.entry.clone()).collect(),
        source,
    };
    let tmp = temporary(out);
    let written = (|| {
        std::fs::create_dir_all(&tmp).map_err(|e| OnnxError::io(&tmp, e))?;
        let graphs = stages.iter().map(|s| (&s.entry.graph, &s.model));
        for (file, graph) in graphs.chain(heads.iter().map(|h| (&h.entry.graph, &h.model))) {
            let path = tmp.join(file);
            std::fs::write(&path, graph.encode_to_vec()).map_err(|e| OnnxError::io(&path, e))?;
        }
        manifest.write(&tmp.join(MANIFEST_FILE))?;
        crate::validate(&tmp)?;
        replace(&tmp, out)
    })();
    if written.is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    written.map(|()| manifest)
}

/// `out` may be absent, an empty directory or an earlier export holding nothing but what an
/// export writes (the manifest, `stage-*.onnx`, `head-*.onnx`): replacing the directory must
/// never delete a file of the user's.
fn check_target(out: &Path) -> Result<()> {
    if !out.exists() {
        return Ok(());
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

fn temporary(out: &Path) -> PathBuf {
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "stages".into());
    out.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

fn replace(tmp: &Path, out: &Path) -> Result<()> {
    if out.exists() {
        std::fs::remove_dir_all(out).map_err(|e| OnnxError::io(out, e))?;
    }
    std::fs::rename(tmp, out).map_err(|e| OnnxError::io(out, e))
}
