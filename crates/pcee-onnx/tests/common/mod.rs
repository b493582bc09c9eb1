//! Shared by the test files: a tiny 3-scale MSDNet with seeded random weights (its BatchNorms
//! still at their initial statistics; the CLI's tests export a trained one) and a temporary
//! export of it.
#![allow(dead_code)]

use pcee_nn::arch::{ArchConfig, MsdNetConfig};
use pcee_nn::Model;
use std::path::PathBuf;

/// 3 scales (28, 14, 7 px), 2 blocks; block 1 drops scale 0.
pub fn tiny_config() -> MsdNetConfig {
    MsdNetConfig {
        stem_channels: vec![2, 4, 4],
        growth: vec![2, 2, 2],
        bottleneck: vec![1, 1, 1],
        block_layers: vec![1, 1],
        block_first_scale: vec![0, 1],
        reduction: 0.5,
        head_channels: 4,
        classes: 10,
    }
}

/// The tiny model with seeded random weights.
pub fn tiny_model(seed: u64) -> Model {
    let device = pcee_nn::default_device();
    Model::new(ArchConfig::Msdnet(tiny_config()), seed, &device).unwrap()
}

/// A fresh temporary directory (removed when the guard drops).
pub fn temp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

/// `dir/stages`, an export of `model`.
pub fn exported(model: &Model, dir: &tempfile::TempDir) -> PathBuf {
    let out = dir.path().join("stages");
    pcee_onnx::export(model, Some("tiny".into()), &out).unwrap();
    out
}

/// Deterministic pseudo-random normalised images `[n, 1, 28, 28]` (a 64-bit LCG's top bits
/// mapped to pixel values 0–255, then normalised as pcee does).
pub fn images(n: usize, seed: u64) -> (Vec<u8>, Vec<f32>) {
    let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
    let pixels: Vec<u8> = (0..n * 28 * 28)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 56) as u8
        })
        .collect();
    let normal = pixels
        .iter()
        .map(|&p| (p as f32 / 255.0 - pcee_nn::data::PIXEL_MEAN) / pcee_nn::data::PIXEL_STD)
        .collect();
    (pixels, normal)
}

/// Normalised images `x` (`[n × 784]`) as the one input `images` `[n, 1, 28, 28]` float32.
pub fn as_inputs(x: &[f32]) -> pcee_runtime::Inputs {
    let shape = vec![x.len() / 784, 1, 28, 28];
    let t = pcee_runtime::HostTensor::new("images", shape, pcee_runtime::Values::F32(x.to_vec()));
    pcee_runtime::Inputs::new(vec![t.unwrap()]).unwrap()
}
