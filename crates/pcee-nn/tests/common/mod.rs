//! Shared fixtures: tiny configurations and a few hundred real Fashion-MNIST images.
#![allow(dead_code)]

use pcee_nn::arch::{ArchConfig, MsdNetConfig, VitConfig};
use pcee_nn::data::{load_split, Dataset, Split};

/// Two scales (28, 14), two blocks; FLOPs worked out by hand in `flops.rs`.
pub fn tiny_msdnet() -> ArchConfig {
    ArchConfig::Msdnet(MsdNetConfig {
        stem_channels: vec![2, 4],
        growth: vec![2, 2],
        bottleneck: vec![1, 1],
        block_layers: vec![1, 1],
        block_first_scale: vec![0, 1],
        reduction: 0.5,
        head_channels: 4,
        classes: 10,
    })
}

/// 7×7 patches (16 tokens + class token), width 8, two blocks.
pub fn tiny_vit() -> ArchConfig {
    ArchConfig::Vit(VitConfig {
        patch: 7,
        dim: 8,
        depth: 2,
        heads: 2,
        mlp_dim: 16,
        classes: 10,
    })
}

/// The first `n` real test images (needs the Debian package `dataset-fashion-mnist`).
pub fn real_images(n: usize) -> Dataset {
    load_split(None, Split::Test)
        .expect("Fashion-MNIST installed (apt-get install dataset-fashion-mnist)")
        .take(n)
}

/// burn seeds one generator per backend, not per thread: a test that seeds it (training,
/// `Model::new`) holds this turn, so that runs that must be reproducible are, now that every
/// test of the crate shares one process (tests/integration.rs).
pub fn seeded_turn() -> std::sync::MutexGuard<'static, ()> {
    static SEEDED: std::sync::Mutex<()> = std::sync::Mutex::new(());
    SEEDED.lock().unwrap_or_else(|e| e.into_inner())
}
