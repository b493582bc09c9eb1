//! Named presets, sized to the training budget of docs/design.md §7 (each trains in ≲ 40 minutes on
//! the `flex` CPU backend of a 2-core machine).
//!
//! | preset        | exits | full MFLOPs | exit MFLOPs (cumulative)                 |
//! |---------------|-------|-------------|------------------------------------------|
//! | msdnet-small  | 4     | 10.41       | 3.30 5.99 8.80 10.41                     |
//! | msdnet-large  | 6     | 26.84       | 2.70 7.27 12.71 18.65 22.88 26.84        |
//! | vit-small     | 4     | 15.77       | 4.02 7.94 11.85 15.77                    |
//! | vit-large     | 6     | 50.16       | 8.49 16.82 25.15 33.49 41.82 50.16       |
//!
//! Measured on `flex` (2 cores, batch 128): MSDNet trains at only ≈ 9–19 GFLOP/s (counting
//! forward + backward as 3× forward), not the ≈ 30 GFLOP/s of a plain wide CNN — its many thin
//! convolutions, concatenations and BatchNorms cost more per FLOP, and a training step costs
//! ≈ 4.5× an inference pass (the backward convolutions dominate). `msdnet-small` takes ≈ 185 s
//! per epoch (10 epochs ≈ 31 min), `msdnet-large` ≈ 330 s (10 epochs ≈ 55 min alone, over the
//! 40-minute budget of docs/design.md §7; 71 min with the cores shared); the ViTs,
//! mostly matrix products, reached ≈ 21 GFLOP/s even while another training shared the cores.

use super::{ArchConfig, MsdNetConfig, VitConfig};
use crate::error::{NnError, Result};

/// The preset names, in the order `pcee train --help` lists them.
pub const PRESETS: [&str; 4] = ["msdnet-small", "msdnet-large", "vit-small", "vit-large"];

/// The configuration of preset `name` (10 classes).
///
/// # Errors
/// [`NnError::Invalid`] for `--arch` when the name is unknown, listing the presets.
pub fn preset(name: &str) -> Result<ArchConfig> {
    Ok(match name {
        "msdnet-small" => ArchConfig::Msdnet(MsdNetConfig {
            stem_channels: vec![4, 8, 8],
            growth: vec![4, 8, 16],
            bottleneck: vec![1, 1, 1],
            block_layers: vec![1, 2, 2, 3],
            block_first_scale: vec![1, 1, 1, 1],
            reduction: 0.5,
            head_channels: 16,
            classes: 10,
        }),
        "msdnet-large" => ArchConfig::Msdnet(MsdNetConfig {
            stem_channels: vec![4, 8, 16],
            growth: vec![8, 16, 32],
            bottleneck: vec![1, 1, 1],
            block_layers: vec![1, 1, 2, 2, 3, 3],
            block_first_scale: vec![1, 1, 1, 1, 1, 2],
            reduction: 0.5,
            head_channels: 32,
            classes: 10,
        }),
        "vit-small" => ArchConfig::Vit(VitConfig {
            patch: 4,
            dim: 64,
            depth: 4,
            heads: 4,
            mlp_dim: 128,
            classes: 10,
        }),
        "vit-large" => ArchConfig::Vit(VitConfig {
            patch: 4,
            dim: 96,
            depth: 6,
            heads: 4,
            mlp_dim: 192,
            classes: 10,
        }),
        _ => {
            return Err(NnError::invalid(
                "arch",
                format!(
                    "unknown architecture `{name}`; expected one of {}",
                    PRESETS.join(", ")
                ),
            ))
        }
    })
}
