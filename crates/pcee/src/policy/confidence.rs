//! The baseline: exit when the exit head's confidence reaches a threshold.

use super::ExitPolicy;
use crate::ExitScore;

/// Confidence thresholding (the baseline of Mofakhami et al. 2024 and earlier early-exit work):
/// fires when confidence ≥ δ, δ playing the role of the threshold τ (docs/design.md §3).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ConfidenceThreshold {
    /// The threshold, a fraction in [0, 1].
    pub delta: f64,
}

impl ExitPolicy for ConfidenceThreshold {
    fn should_exit(&self, _exit: usize, score: &ExitScore) -> bool {
        score.confidence >= self.delta
    }
}
