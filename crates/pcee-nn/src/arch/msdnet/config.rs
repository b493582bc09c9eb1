//! Hyper-parameters of the multi-scale dense network (MSDNet, Huang et al., "Multi-Scale Dense
//! Networks for Resource Efficient Image Classification", ICLR 2018, §4), adapted to 28×28.

use crate::error::{NnError, Result};
use serde::{Deserialize, Serialize};

/// MSDNet configuration. Scale `s` (0 = finest) has side `28 / 2^s` (28, 14, 7 for 3 scales).
/// The network has one exit per block, on the coarsest scale.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MsdNetConfig {
    /// Channels of each scale produced by the stem (first layer), finest first.
    pub stem_channels: Vec<usize>,
    /// Channels each layer adds at each scale (the paper's growth rate × grFactor). At a scale
    /// with a finer input, half comes from the strided conv of the finer scale, half from the
    /// regular conv of the scale itself.
    pub growth: Vec<usize>,
    /// Bottleneck width factor per scale (the paper's bnFactor): the 1×1 conv outputs
    /// `min(c_in, factor × c_out)` channels before the 3×3 conv.
    pub bottleneck: Vec<usize>,
    /// Number of layers of each block; one exit after each block.
    pub block_layers: Vec<usize>,
    /// Finest scale still computed in each block (non-decreasing): finer scales are dropped once
    /// no later classifier needs them (the paper's "prune" of the CIFAR models).
    pub block_first_scale: Vec<usize>,
    /// Channel compression of the 1×1 transition between blocks (e.g. 0.5).
    pub reduction: f64,
    /// Width of the two 3×3 stride-2 convolutions of each classifier.
    pub head_channels: usize,
    /// Number of classes.
    pub classes: usize,
}

impl MsdNetConfig {
    /// Number of scales.
    pub fn scales(&self) -> usize {
        self.stem_channels.len()
    }

    /// Number of exits (= blocks).
    pub fn exits(&self) -> usize {
        self.block_layers.len()
    }

    /// Check the configuration.
    ///
    /// # Errors
    /// [`NnError::Invalid`] naming the field: per-scale lists of different lengths, no scale or
    /// more than 3 (28 px halves only so often), zero widths, fewer than 2 growth channels where a
    /// finer input splits them, a non-monotone `block_first_scale`, or `reduction ∉ (0, 1]`.
    pub fn validate(&self) -> Result<()> {
        let s = self.scales();
        let bad = |what: &str, why: String| Err(NnError::invalid(format!("msdnet.{what}"), why));
        if s == 0 || s > 3 {
            return bad("stem_channels", format!("{s} scales; expected 1 to 3"));
        }
        for (name, v) in [("growth", &self.growth), ("bottleneck", &self.bottleneck)] {
            if v.len() != s || v.contains(&0) {
                return bad(
                    name,
                    format!("{v:?}; expected {s} positive entries, one per scale"),
                );
            }
        }
        if self.stem_channels.contains(&0) || self.head_channels == 0 || self.classes < 2 {
            return bad("stem_channels", "zero width or fewer than 2 classes".into());
        }
        let n = self.exits();
        if n == 0 || self.block_layers.contains(&0) || self.block_first_scale.len() != n {
            return bad("block_layers", format!(
                "{:?} with block_first_scale {:?}; expected ≥ 1 block of ≥ 1 layer, and one first scale per block",
                self.block_layers, self.block_first_scale));
        }
        let f = &self.block_first_scale;
        if f.windows(2).any(|w| w[0] > w[1]) || f[n - 1] >= s {
            return bad(
                "block_first_scale",
                format!("{f:?}; expected non-decreasing values < {s}"),
            );
        }
        if self.growth[1..].iter().any(|&g| g < 2) {
            return bad(
                "growth",
                "expected ≥ 2 at scales fed by a finer scale".into(),
            );
        }
        if !(self.reduction > 0.0 && self.reduction <= 1.0) {
            return bad(
                "reduction",
                format!("{}; expected a value in (0, 1]", self.reduction),
            );
        }
        Ok(())
    }
}
