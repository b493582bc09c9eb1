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
use crate::out_dir;
use crate::vit;
use pcee_nn::data::{PIXEL_MEAN, PIXEL_STD};
use pcee_nn::{Model, Network};
use prost::Message;
use std::path::Path;

/// Writes `model` (pcee's MSDNet with BatchNorm folded, or its ViT) as stage graphs and a
/// manifest into the directory `out`; `source` is recorded in the manifest. Returns the
/// manifest written. The graphs are built by [`msdnet::graphs`] or [`vit::graphs`].
///
/// # Errors
/// [`OnnxError::Io`] when the directory cannot be written, [`OnnxError::Invalid`] when `out`
/// exists and is not an earlier export, or when the written directory fails validation (a
/// bug).
pub fn export(model: &Model, source: Option<String>, out: &Path) -> Result<Manifest> {
    out_dir::check_target(out)?;
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
    let tmp = out_dir::temporary(out);
    let written = (|| {
        std::fs::create_dir_all(&tmp).map_err(|e| OnnxError::io(&tmp, e))?;
        let graphs = stages.iter().map(|s| (&s.entry.graph, &s.model));
        for (file, graph) in graphs.chain(heads.iter().map(|h| (&h.entry.graph, &h.model))) {
            let path = tmp.join(file);
            std::fs::write(&path, graph.encode_to_vec()).map_err(|e| OnnxError::io(&path, e))?;
        }
        manifest.write(&tmp.join(MANIFEST_FILE))?;
        crate::validate(&tmp)?;
        out_dir::replace(&tmp, out)
    })();
    if written.is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    written.map(|()| manifest)
}

/// Writes `model` as **one** ONNX file at `out` whose outputs are the exits' logits
/// (`exit_0`, …; [`crate::join`]), the form `torch.onnx.export` gives and `pcee stages` cuts.
/// The stage graphs are exported beside `out` under a temporary name, joined, and removed; the
/// file is written under a temporary name and renamed, so a failure leaves nothing.
///
/// # Errors
/// As [`export`], and [`OnnxError::Io`] when the file cannot be written.
pub fn export_single_file(model: &Model, source: Option<String>, out: &Path) -> Result<Manifest> {
    out_dir::check_file_target(out)?;
    let dir = out_dir::temporary(&out.with_extension("stages"));
    let file = out_dir::temporary(out);
    let written = (|| {
        let manifest = export(model, source, &dir)?;
        let joined = crate::join::join(&dir)?;
        std::fs::write(&file, joined.encode_to_vec()).map_err(|e| OnnxError::io(&file, e))?;
        std::fs::rename(&file, out).map_err(|e| OnnxError::io(out, e))?;
        Ok(manifest)
    })();
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_file(&file);
    written
}
