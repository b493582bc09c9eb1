//! `pcee-stages.json`: the manifest of a stage-graph directory (version 2; version 1 is read
//! too, [`crate::manifest_v1`]).
//!
//! Every tensor is `[batch, shape…]` of its `dtype` (`float32` when absent); the manifest gives
//! the per-sample `shape` (batch excluded). The network reads `inputs` (one or several, e.g.
//! `input_ids` and `attention_mask` as `int64`). Stage 0 reads some of the network's inputs;
//! stage `s > 0` reads outputs of stage `s − 1` (the state between stages, at least one of
//! them) and any network input. Head `e` reads outputs of stage `e` and any network input and
//! writes the logits `[batch, classes]` float32. `flops[e]` is the cumulative cost per sample
//! up to and including head `e` (docs/design.md §3), so a policy file calibrated on the
//! model's logits can be checked against it.

use crate::error::{OnnxError, Result};
pub use pcee_runtime::DType;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The manifest's file name inside the directory.
pub const MANIFEST_FILE: &str = "pcee-stages.json";
/// The value of the `format` field.
pub const FORMAT: &str = "pcee-stages";
/// The manifest version this crate writes (and the newest it reads).
pub const VERSION: u32 = 2;

/// The manifest (module documentation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Always [`FORMAT`].
    pub format: String,
    /// [`VERSION`].
    pub version: u32,
    /// Number of classes C (every head writes `[batch, C]`).
    pub classes: usize,
    /// The network's inputs, in the order a batch holds them, e.g. `images` float32
    /// `[1, 28, 28]`, or `input_ids` and `attention_mask` int64 `[128]`.
    pub inputs: Vec<TensorSpec>,
    /// How raw 8-bit images become an input, when the network reads images; `null` otherwise.
    pub preprocessing: Option<Preprocessing>,
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

/// A named tensor `[batch, shape…]` of one element type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TensorSpec {
    /// The tensor's name in the graphs.
    pub name: String,
    /// Its element type; `float32` when the field is absent.
    #[serde(default = "float32")]
    pub dtype: DType,
    /// The per-sample shape (batch dimension excluded).
    pub shape: Vec<usize>,
}

fn float32() -> DType {
    DType::Float32
}

impl TensorSpec {
    /// A float32 tensor `name` of per-sample shape `shape`.
    pub fn f32(name: impl Into<String>, shape: &[usize]) -> TensorSpec {
        TensorSpec {
            name: name.into(),
            dtype: DType::Float32,
            shape: shape.to_vec(),
        }
    }
}

/// One stage graph.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
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
#[serde(deny_unknown_fields)]
pub struct Head {
    /// The graph file, relative to the directory.
    pub graph: String,
    /// The tensors it reads, among its stage's outputs.
    pub inputs: Vec<TensorSpec>,
    /// The logits `[batch, classes]`.
    pub output: TensorSpec,
}

/// Preprocessing of 8-bit grey images in `NCHW` layout into the float32 input `input`:
/// `x = (pixel · scale − mean) / std`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Preprocessing {
    /// The kind; today only `u8-images`.
    pub kind: PreprocessingKind,
    /// The network input the images become (a float32 input).
    pub input: String,
    /// Multiplier of the raw 0–255 pixel value (1/255 for pcee's models).
    pub scale: f64,
    /// Subtracted after scaling.
    pub mean: f64,
    /// Divided by after subtracting the mean.
    pub std: f64,
}

/// The kinds of [`Preprocessing`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PreprocessingKind {
    /// Raw 8-bit grey pixels 0–255, normalised by `scale`, `mean` and `std`.
    #[serde(rename = "u8-images")]
    U8Images,
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
        let manifest = parse(&text, &path)?;
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
        self.check_inputs(path)?;
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

    /// At least one input, names unique, and the preprocessing (when given) naming a float32
    /// input with finite scale and mean and std > 0.
    fn check_inputs(&self, path: &Path) -> Result<()> {
        let bad = |field: String, reason: String| Err(OnnxError::invalid(path, field, reason));
        if self.inputs.is_empty() {
            return bad("inputs".into(), "empty; expected at least one input".into());
        }
        for (i, t) in self.inputs.iter().enumerate() {
            if self.inputs[..i].iter().any(|u| u.name == t.name) {
                return bad(
                    format!("inputs[{i}].name"),
                    format!("{:?} is used twice", t.name),
                );
            }
        }
        let Some(pre) = &self.preprocessing else {
            return Ok(());
        };
        if !self
            .inputs
            .iter()
            .any(|t| t.name == pre.input && t.dtype == DType::Float32)
        {
            return bad(
                "preprocessing.input".into(),
                format!(
                    "{:?}; expected the name of a float32 input {}",
                    pre.input,
                    specs(&self.inputs)
                ),
            );
        }
        if !(pre.std > 0.0 && pre.scale.is_finite() && pre.mean.is_finite()) {
            return bad(
                "preprocessing".into(),
                "expected finite scale and mean and std > 0".into(),
            );
        }
        Ok(())
    }

    /// The tensors stage `s` may read (stage `s − 1`'s outputs and the network's inputs),
    /// and the tensors head `e` may read (stage `e`'s outputs and the network's inputs), each
    /// checked; a stage `s > 0` must read at least one of stage `s − 1`'s outputs, and no
    /// output may take a network input's name.
    fn check_chain(&self, path: &Path) -> Result<()> {
        let bad = |field: String, reason: String| Err(OnnxError::invalid(path, field, reason));
        for (s, stage) in self.stages.iter().enumerate() {
            let previous: &[TensorSpec] = if s == 0 {
                &[]
            } else {
                &self.stages[s - 1].outputs
            };
            let field = format!("stages[{s}].inputs");
            self.check_reads(
                path,
                &field,
                &stage.inputs,
                previous,
                s.checked_sub(1).map(|p| format!("stages[{p}].outputs")),
            )?;
            if s > 0 && !stage.inputs.iter().any(|t| previous.contains(t)) {
                return bad(
                    field,
                    format!(
                        "{}; expected at least one of stages[{}].outputs {} (the state)",
                        specs(&stage.inputs),
                        s - 1,
                        specs(previous)
                    ),
                );
            }
            if stage.outputs.is_empty() {
                return bad(
                    format!("stages[{s}].outputs"),
                    "empty; expected the state after the stage".into(),
                );
            }
            if let Some((i, t)) = stage
                .outputs
                .iter()
                .enumerate()
                .find(|(_, t)| self.input(&t.name).is_some())
            {
                return bad(
                    format!("stages[{s}].outputs[{i}].name"),
                    format!(
                        "{:?} is the name of a network input; expected a new name",
                        t.name
                    ),
                );
            }
        }
        for (e, head) in self.heads.iter().enumerate() {
            let field = format!("heads[{e}].inputs");
            self.check_reads(
                path,
                &field,
                &head.inputs,
                &self.stages[e].outputs,
                Some(format!("stages[{e}].outputs")),
            )?;
            let logits = TensorSpec::f32(head.output.name.clone(), &[self.classes]);
            if head.output != logits {
                return bad(
                    format!("heads[{e}].output"),
                    format!(
                        "{}; expected {} (float32 logits of the classes)",
                        spec(&head.output),
                        spec(&logits)
                    ),
                );
            }
        }
        Ok(())
    }

    /// Checks that `reads` (the inputs of one graph, named `field`) is not empty and that each
    /// tensor is one of `state` (named `from`) or a network input, with the same dtype and shape.
    fn check_reads(
        &self,
        path: &Path,
        field: &str,
        reads: &[TensorSpec],
        state: &[TensorSpec],
        from: Option<String>,
    ) -> Result<()> {
        if reads.is_empty() {
            return Err(OnnxError::invalid(
                path,
                field,
                "empty; expected at least one tensor",
            ));
        }
        let Some((i, t)) = reads
            .iter()
            .enumerate()
            .find(|(_, t)| !state.contains(t) && self.input(&t.name) != Some(*t))
        else {
            return Ok(());
        };
        let among = match from {
            Some(from) => format!(
                "one of {from} {} or of the network's inputs {}",
                specs(state),
                specs(&self.inputs)
            ),
            None => format!("one of the network's inputs {}", specs(&self.inputs)),
        };
        Err(OnnxError::invalid(
            path,
            format!("{field}[{i}]"),
            format!("{}; expected {among}", spec(t)),
        ))
    }

    /// The network input named `name`, if any.
    pub fn input(&self, name: &str) -> Option<&TensorSpec> {
        self.inputs.iter().find(|t| t.name == name)
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

/// `name dtype [d…]`.
pub fn spec(t: &TensorSpec) -> String {
    format!("{} {} {:?}", t.name, t.dtype, t.shape)
}

/// The manifest in `text` (file `path`), of version 1 ([`crate::manifest_v1`], converted) or
/// version 2.
///
/// # Errors
/// [`OnnxError::Invalid`]: not JSON (field `json`), a version this pcee does not read (field
/// `version`), or not a manifest of its version's shape (field `json`).
fn parse(text: &str, path: &Path) -> Result<Manifest> {
    let json = |e: serde_json::Error| {
        OnnxError::invalid(path, "json", format!("{e}; expected a {FORMAT} manifest"))
    };
    // The field at fault named as a path (`stages[1].inputs[0].dtype`), serde's message after it.
    let at = |e: serde_path_to_error::Error<serde_json::Error>| {
        let field = e.path().to_string();
        OnnxError::invalid(
            path,
            field,
            format!("{}; expected a {FORMAT} manifest", e.into_inner()),
        )
    };
    let value: serde_json::Value = serde_json::from_str(text).map_err(json)?;
    match value.get("version").and_then(serde_json::Value::as_u64) {
        Some(1) => Ok(
            serde_path_to_error::deserialize::<_, crate::manifest_v1::ManifestV1>(value)
                .map_err(at)?
                .into(),
        ),
        Some(v) if v == u64::from(VERSION) => serde_path_to_error::deserialize(value).map_err(at),
        _ => Err(OnnxError::invalid(
            path,
            "version",
            format!(
                "{}; expected an integer, 1 to {VERSION} (the versions this pcee reads)",
                value
                    .get("version")
                    .map_or("missing".into(), |v| v.to_string())
            ),
        )),
    }
}

fn specs(ts: &[TensorSpec]) -> String {
    let parts: Vec<String> = ts.iter().map(spec).collect();
    format!("[{}]", parts.join(", "))
}
