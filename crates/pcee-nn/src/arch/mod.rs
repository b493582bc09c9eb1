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

/// The largest network `validate` accepts: FLOPs per 28×28 image (2·10⁹, 40× the largest preset).
pub const MAX_FLOPS: f64 = 2e9;

impl ArchConfig {
    /// Check the configuration ([`NnError::Invalid`](crate::NnError::Invalid) names the field),
    /// including its size: at most [`MAX_FLOPS`] per image (the analytic count, computed before
    /// any weight is allocated), so a typo such as 100 000 channels is refused instead of
    /// exhausting memory.
    pub fn validate(&self) -> Result<()> {
        match self {
            ArchConfig::Msdnet(c) => c.validate()?,
            ArchConfig::Vit(c) => c.validate()?,
        }
        let full = self.flops_per_exit().last().copied().unwrap_or(0.0);
        if full > MAX_FLOPS {
            return Err(crate::NnError::invalid(
                "architecture",
                format!("{full:.3e} FLOPs per image; expected at most {MAX_FLOPS:.0e} (the presets cost 1e7 to 5e7)"),
            ));
        }
        Ok(())
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
    /// (docs/design.md §3; see [`flops`] for what is counted).
    pub fn flops_per_exit(&self) -> Vec<f64> {
        flops::cumulative(&self.stage_flops(), &self.head_flops())
    }
}
