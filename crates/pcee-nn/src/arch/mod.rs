//! The multi-exit architectures, their configurations and named presets.

pub mod msdnet;
pub mod presets;
pub mod vit;

use crate::error::Result;
use crate::flops;
use serde::{Deserialize, Serialize};

pub use msdnet::{MsdNet, MsdNetConfig};
pub use presets::{preset, PRESETS};
pub use vit::{Vit, VitConfig};

/// Configuration of any supported architecture; serialised with an `"arch"` tag
/// (`"msdnet"` or `"vit"`) beside the architecture's own fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "arch", rename_all = "lowercase")]
pub enum ArchConfig {
    /// Multi-scale dense network.
    Msdnet(MsdNetConfig),
    /// Vision transformer with an exit per block.
    Vit(VitConfig),
}

impl ArchConfig {
    /// Check the configuration ([`NnError::Invalid`](crate::NnError::Invalid) names the field).
    pub fn validate(&self) -> Result<()> {
        match self {
            ArchConfig::Msdnet(c) => c.validate(),
            ArchConfig::Vit(c) => c.validate(),
        }
    }

    /// Number of exits.
    pub fn exits(&self) -> usize {
        match self {
            ArchConfig::Msdnet(c) => c.exits(),
            ArchConfig::Vit(c) => c.depth,
        }
    }

    /// Number of classes.
    pub fn classes(&self) -> usize {
        match self {
            ArchConfig::Msdnet(c) => c.classes,
            ArchConfig::Vit(c) => c.classes,
        }
    }

    /// FLOPs per image of each stage (stage 0 includes the stem/embedding), one per exit.
    /// The configuration must be valid.
    pub fn stage_flops(&self) -> Vec<f64> {
        match self {
            ArchConfig::Msdnet(c) => msdnet::MsdNetPlan::new(c).stage_flops(),
            ArchConfig::Vit(c) => (0..c.depth)
                .map(|s| c.block_flops() + if s == 0 { c.embed_flops() } else { 0.0 })
                .collect(),
        }
    }

    /// FLOPs per image of each exit head.
    pub fn head_flops(&self) -> Vec<f64> {
        match self {
            ArchConfig::Msdnet(c) => msdnet::MsdNetPlan::new(c).head_flops(),
            ArchConfig::Vit(c) => vec![c.head_flops(); c.depth],
        }
    }

    /// Cumulative FLOPs per image up to and including each exit, all earlier heads included
    /// (DESIGN.md §3; see [`flops`] for what is counted).
    pub fn flops_per_exit(&self) -> Vec<f64> {
        flops::cumulative(&self.stage_flops(), &self.head_flops())
    }
}
