//! Named presets, sized to the training budget of DESIGN.md §7 (forward FLOPs × epochs ≲
//! 4.5·10⁸ per image on the `flex` CPU backend of a 2-core machine).

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
            stem_channels: vec![8, 16, 32],
            growth: vec![4, 12, 16],
            bottleneck: vec![1, 1, 1],
            block_layers: vec![2, 2, 2, 2],
            block_first_scale: vec![0, 1, 1, 2],
            reduction: 0.5,
            head_channels: 24,
            classes: 10,
        }),
        "msdnet-large" => ArchConfig::Msdnet(MsdNetConfig {
            stem_channels: vec![12, 24, 48],
            growth: vec![8, 16, 32],
            bottleneck: vec![1, 2, 2],
            block_layers: vec![2, 2, 2, 2, 2, 2],
            block_first_scale: vec![0, 0, 1, 1, 1, 2],
            reduction: 0.5,
            head_channels: 48,
            classes: 10,
        }),
        "vit-small" => ArchConfig::Vit(VitConfig { patch: 4, dim: 64, depth: 4, heads: 4, mlp_dim: 128, classes: 10 }),
        "vit-large" => ArchConfig::Vit(VitConfig { patch: 4, dim: 96, depth: 6, heads: 4, mlp_dim: 192, classes: 10 }),
        _ => {
            return Err(NnError::invalid("--arch", format!(
                "unknown architecture `{name}`; expected one of {}", PRESETS.join(", "))))
        }
    })
}
