//! Version 1 of `pcee-stages.json`, as `pcee export` wrote it before version 2: one float32
//! `input`, and a `preprocessing` `{scale, mean, std}` of 8-bit grey images on it. Read only,
//! and converted into a [`Manifest`] of version 2 whose `inputs` is that one input and whose
//! preprocessing is the `u8-images` kind on it. Stage 0 read exactly the input and stage
//! `s > 0` exactly stage `s − 1`'s outputs, which version 2 allows as a special case.

use crate::manifest::{
    Head, Manifest, Preprocessing, PreprocessingKind, Stage, TensorSpec, VERSION,
};
use serde::Deserialize;

/// A version-1 manifest (module documentation); every tensor is float32.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestV1 {
    format: String,
    /// Always 1 (checked before this type is read).
    #[allow(dead_code)]
    version: u32,
    classes: usize,
    input: TensorSpec,
    preprocessing: PreprocessingV1,
    stages: Vec<Stage>,
    heads: Vec<Head>,
    flops: Vec<f64>,
    #[serde(default)]
    source: Option<String>,
}

/// Version 1's preprocessing: `x = (pixel · scale − mean) / std` on the only input.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct PreprocessingV1 {
    scale: f64,
    mean: f64,
    std: f64,
}

impl From<ManifestV1> for Manifest {
    fn from(v1: ManifestV1) -> Manifest {
        let p = v1.preprocessing;
        Manifest {
            format: v1.format,
            version: VERSION,
            classes: v1.classes,
            preprocessing: Some(Preprocessing {
                kind: PreprocessingKind::U8Images,
                input: v1.input.name.clone(),
                scale: p.scale,
                mean: p.mean,
                std: p.std,
            }),
            inputs: vec![v1.input],
            stages: v1.stages,
            heads: v1.heads,
            flops: v1.flops,
            source: v1.source,
        }
    }
}
