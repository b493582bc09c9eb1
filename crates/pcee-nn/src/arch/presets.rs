//! Named presets. Version 3 of the MSDNets (issue 11; `msdnet-small` version 4) is sized so that early exiting has
//! something to decide: a cheap first exit (≈ 5–12 % of the model's cost), `msdnet-small`'s
//! full cost between `msdnet-large`'s second and fourth exits, and a large model with far more
//! capacity than the small one. A model card stores the full configuration, so weights trained
//! with an earlier version still load as the network they were trained as.
//!
//! | preset        | exits | full MFLOPs | exit MFLOPs (cumulative)                 |
//! |---------------|-------|-------------|------------------------------------------|
//! | msdnet-small  | 4     | 4.10        | 0.51 1.40 2.45 4.10                      |
//! | msdnet-large  | 6     | 29.64       | 1.58 3.62 8.08 13.68 22.41 29.64         |
//! | vit-small     | 4     | 15.77       | 4.02 7.94 11.85 15.77                    |
//! | vit-large     | 6     | 50.16       | 8.49 16.82 25.15 33.49 41.82 50.16       |
//!
//! What was tried and measured (validation accuracy of every exit, recipe of
//! `pcee train` defaults, 30 epochs, seed 0):
//! - v2 (`msdnet-small` stem 8/16/32, growth 4/12/16, 10.41 MFLOPs; `msdnet-large` growth
//!   8/16/32, 26.84 MFLOPs, 10 epochs): every exit of both within 91.4–93.3 % — the first exit
//!   almost as good as the last, and the large model no better than the small one.
//! - v3 (30 epochs, converged; test = all 10 000 test images):
//!   - `msdnet-small` (stem 4/8/8, growth 4/8/16, head 16): val 90.3 / 92.8 / 92.9 / 93.2 %,
//!     test 89.9 / 91.5 / 92.3 / 92.7 %.
//!   - `msdnet-large` (stem 4/8/16, growth 8/16/32, head 32): val 91.7 / 93.0 / 93.8 / 94.4 /
//!     94.5 / 94.6 %, test 91.0 / 92.5 / 93.0 / 93.3 / 93.5 / 93.6 %.
//!   - large − small on test, last exits: +0.93 points (McNemar p = 1.3e-5), short of the
//!     1.0 aimed for; first exits 2.8 / 2.6 points below the last, short of the 5 aimed for:
//!     even 0.65 MFLOPs reach 90 % on Fashion-MNIST. Per-exit tables: assets/README.md.
//! - v4 `msdnet-small` (growth 4/8/12, head 8; 4.10 MFLOPs, chosen from the FLOPs of a few
//!   candidates before training, trained once, same recipe): val 89.1 / 90.9 / 92.1 / 92.5 %,
//!   test 88.4 / 90.7 / 91.3 / 91.8 %. Large − small on test, last exits: +1.84 points
//!   (95 % bootstrap [1.38, 2.31], McNemar p = 5.0e-16 on 168 / 352 discordant images); its
//!   first exit is 3.4 points below its last, 12.5 % of its cost.
//!
//! Speed on `flex` (batch 128, one thread each while two trainings and builds shared the 2
//! cores): `msdnet-small` v3 median 151 s per epoch (124–196), v4 148 s (128–183), `msdnet-large` v3 549 s
//! (366–943), `vit-small` 207 s (129–321). MSDNet trains at only ≈ 9–19 GFLOP/s (forward + backward counted as 3× forward):
//! its many thin convolutions, concatenations and BatchNorms cost more per FLOP than a wide CNN.

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
            growth: vec![4, 8, 12],
            bottleneck: vec![1, 1, 1],
            block_layers: vec![1, 2, 2, 3],
            block_first_scale: vec![1, 1, 1, 1],
            reduction: 0.5,
            head_channels: 8,
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
