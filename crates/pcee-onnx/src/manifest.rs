//! `pcee-stages.json`: the manifest of a stage-graph directory.
//!
//! Every tensor is float32 `[batch, shape…]`; the manifest gives the per-image `shape` (batch
//! excluded). Stage 0 reads the network's `input`; stage `s > 0` reads exactly the tensors
//! stage `s − 1` wrote (same names, shapes and order): the state between stages. Head `e`
//! reads some of stage `e`'s outputs and writes the logits `[batch, classes]`. `flops[e]` is
//! the cumulative cost per image up to and including head `e` (docs/design.md §3), so a policy
//! file calibrated on the model's logits can be checked against it.

use crate::error::{OnnxError, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The manifest's file name inside the directory.
pub const MANIFEST_FILE: &str = "pcee-stages.json";
/// The value of the `format` field.
pub const FORMAT: &str = "pcee-stages";
/// The manifest version this crate writes (and the newest it reads).
pub const VERSION: u32 = 1;

/// The manifest (module documentation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always [`FORMAT`].
    pub format: String,
    /// [`VERSION`].
    pub version: u32,
    /// Number of classes C (every head writes `[batch, C]`).
    pub classes: usize,
    /// The network's input, e.g. `images` `[1, 28, 28]`.
    pub input: TensorSpec,
    /// How raw images become the input.
    pub preprocessing: Preprocessing,
    /// The stages, in network order.
    pub stages: Vec<Stage>,
    /// The exit heads, one per stage, in network order.
    pub heads: Vec<Head>,
    /// Cumulative FLOPs per image up to and including each exit head, `[exits]`.
    pub flops: Vec<f64>,
    /// Where the graphs came from (free text, e.g. the model file), if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// A named float32 tensor `[batch, shape…]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TensorSpec {
    /// The tensor's name in the graphs.
    pub name: String,
    /// The per-image shape (batch dimension excluded).
    pub shape: Vec<usize>,
}

/// One stage graph.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stage {
    /// The graph file, relative to the directory.
    pub graph: String,
    /// The tensors it reads.
    pub inputs: Vec<TensorSpec>,
    /// The tensors it writes (the state after this stage).
    pub outputs: Vec<TensorSpec>,
}

/// One exit-head graph.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Head {
    /// The graph file, relative to the directory.
    pub graph: String,
    /// The tensors it reads, among its stage's outputs.
    pub inputs: Vec<TensorSpec>,
    /// The logits `[batch, classes]`.
    pub output: TensorSpec,
}

/// Preprocessing of 8-bit grey images in `NCHW` layout: `x = (pixel · scale − mean) / std`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Preprocessing {
    /// Multiplier of the raw 0–255 pixel value (1/255 for pcee's models).
    pub scale: f64,
    /// Subtracted after scaling.
    pub mean: f64,
    /// Divided by after subtracting the mean.
    pub std: f64,
}

impl Preprocessing {
    /// The normalised value of one raw pixel.
    pub fn apply(&self, pixel: u8) -> f32 {
        ((f64::from(pixel) * self.scale - self.mean) / self.std) as f32
    }
}

impl Manifest {
    /// Number of exits (= stages = heads in a valid manifest).
    pub fn exits(&self) -> usize {
        self.heads.len()
    }

    /// Reads `DIR/pcee-stages.json` and checks it on its own ([`Manifest::check`]); the graphs
    /// are checked by [`crate::validate()`].
    ///
    /// # Errors
    /// [`OnnxError::Invalid`] when `dir` is not a directory (field `--stages`), the manifest
    /// cannot be read (field `manifest`), is not valid JSON of this shape or fails
    /// [`Manifest::check`].
    pub fn read(dir: &Path) -> Result<Manifest> {
        let path = dir.join(MANIFEST_FILE);
        if !dir.is_dir() {
            let what = if dir.exists() {
                "is not a directory"
            } else {
                "does not exist"
            };
            return Err(OnnxError::invalid(dir, "--stages", format!(
                "{what}; expected a stage-graph directory written by `pcee export` (holding {MANIFEST_FILE})")));
        }
        let text = std::fs::read_to_string(&path).map_err(|e| {
            OnnxError::invalid(&path, "manifest", format!(
                "cannot be read ({e}); expected the {MANIFEST_FILE} of a stage-graph directory written by `pcee export`"))
        })?;
        let manifest: Manifest = serde_json::from_str(&text).map_err(|e| {
            OnnxError::invalid(&path, "json", format!("{e}; expected a {FORMAT} manifest"))
        })?;
        manifest.check(&path)?;
        Ok(manifest)
    }

    /// Writes the manifest as pretty JSON to `path`.
    ///
    /// # Errors
    /// [`OnnxError::Io`].
    pub fn write(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self).expect("a manifest serialises");
        std::fs::write(path, text + "\n").map_err(|e| OnnxError::io(path, e))
    }

    /// Checks the manifest on its own (`path` names it in errors): format and version, at
    /// least one stage and as many heads, graph paths inside the directory, stage inputs
    /// chained to the previous stage's outputs, heads reading their stage's outputs and
    /// writing `[classes]`, `flops` one per exit, finite and strictly increasing.
    ///
    /// # Errors
    /// The first defect, as [`OnnxError::Invalid`] naming the field.
    pub fn check(&self, path: &Path) -> Result<()> {
        let bad = |field: String, reason: String| Err(OnnxError::invalid(path, field, reason));
        if self.format != FORMAT {
            return bad(
                "format".into(),
                format!("{:?}; expected {FORMAT:?}", self.format),
            );
        }
        if self.version == 0 || self.version > VERSION {
            return bad(
                "version".into(),
                format!("{}; this pcee reads 1 to {VERSION}", self.version),
            );
        }
        if self.stages.is_empty() || self.heads.len() != self.stages.len() {
            return bad(
                "heads".into(),
                format!(
                "{} stage(s) and {} head(s); expected at least one stage and one head per stage",
                self.stages.len(), self.heads.len()),
            );
        }
        if self.classes < 2 {
            return bad(
                "classes".into(),
                format!("{}; expected at least 2", self.classes),
            );
        }
        if !(self.preprocessing.std > 0.0
            && self.preprocessing.scale.is_finite()
            && self.preprocessing.mean.is_finite())
        {
            return bad(
                "preprocessing".into(),
                "expected finite scale and mean and std > 0".into(),
            );
        }
        self.check_graph_paths(path)?;
        self.check_chain(path)?;
        self.check_flops(path)
    }

    fn check_graph_paths(&self, path: &Path) -> Result<()> {
        let stages = self
            .stages
            .iter()
            .map(|s| &s.graph)
            .enumerate()
            .map(|(i, g)| (format!("stages[{i}].graph"), g));
        let heads = self
            .heads
            .iter()
            .map(|h| &h.graph)
            .enumerate()
            .map(|(i, g)| (format!("heads[{i}].graph"), g));
        let mut seen = std::collections::HashSet::new();
        for (field, graph) in stages.chain(heads) {
            let p = Path::new(graph);
            let inside = !graph.is_empty()
                && p.components()
                    .all(|c| matches!(c, std::path::Component::Normal(_)));
            if !inside {
                return Err(OnnxError::invalid(
                    path,
                    field,
                    format!("{graph:?}; expected a relative path inside the directory"),
                ));
            }
            if !seen.insert(graph) {
                return Err(OnnxError::invalid(
                    path,
                    field,
                    format!("{graph:?} is used twice"),
                ));
            }
        }
        Ok(())
    }

    fn check_chain(&self, path: &Path) -> Result<()> {
        let bad = |field: String, reason: String| Err(OnnxError::invalid(path, field, reason));
        for (s, stage) in self.stages.iter().enumerate() {
            let (expected, from) = if s == 0 {
                (
                    std::slice::from_ref(&self.input),
                    "the network's input".to_string(),
                )
            } else {
                (
                    &self.stages[s - 1].outputs[..],
                    format!("stages[{}].outputs", s - 1),
                )
            };
            if stage.inputs != expected {
                return bad(
                    format!("stages[{s}].inputs"),
                    format!(
                        "{}; expected {} ({from})",
                        specs(&stage.inputs),
                        specs(expected)
                    ),
                );
            }
            if stage.outputs.is_empty() {
                return bad(
                    format!("stages[{s}].outputs"),
                    "empty; expected the state after the stage".into(),
                );
            }
        }
        for (e, head) in self.heads.iter().enumerate() {
            let outputs = &self.stages[e].outputs;
            if let Some((i, t)) = head
                .inputs
                .iter()
                .enumerate()
                .find(|(_, t)| !outputs.contains(t))
            {
                return bad(
                    format!("heads[{e}].inputs[{i}]"),
                    format!(
                        "{}; expected one of stages[{e}].outputs {}",
                        spec(t),
                        specs(outputs)
                    ),
                );
            }
            if head.inputs.is_empty() {
                return bad(
                    format!("heads[{e}].inputs"),
                    "empty; expected at least one tensor".into(),
                );
            }
            if head.output.shape != [self.classes] {
                return bad(
                    format!("heads[{e}].output.shape"),
                    format!(
                        "{:?}; expected [{}] (classes)",
                        head.output.shape, self.classes
                    ),
                );
            }
        }
        Ok(())
    }

    fn check_flops(&self, path: &Path) -> Result<()> {
        let f = &self.flops;
        let bad = |reason: String| Err(OnnxError::invalid(path, "flops", reason));
        if f.len() != self.exits() {
            return bad(format!(
                "{} value(s); expected one per exit ({})",
                f.len(),
                self.exits()
            ));
        }
        if let Some(i) = f.iter().position(|v| !(v.is_finite() && *v > 0.0)) {
            return bad(format!(
                "exit {i}: {}; expected a positive finite cost",
                f[i]
            ));
        }
        if let Some(i) = (1..f.len()).find(|&i| f[i] <= f[i - 1]) {
            return bad(format!(
                "not increasing at exit {i} ({} after {}); expected cumulative FLOPs",
                f[i],
                f[i - 1]
            ));
        }
        Ok(())
    }
}

/// `name [d…]`.
pub fn spec(t: &TensorSpec) -> String {
    format!("{} {:?}", t.name, t.shape)
}

fn specs(ts: &[TensorSpec]) -> String {
    let parts: Vec<String> = ts.iter().map(spec).collect();
    format!("[{}]", parts.join(", "))
}
