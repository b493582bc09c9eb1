//! Per-exit confidence thresholds: the policy of MSDNet's budgeted batch classification.

use super::ExitPolicy;
use crate::ExitScore;

/// Fires at exit l when the confidence is ≥ `thresholds[l]` (fractions in [0, 1]; a threshold
/// above 1 never fires). The thresholds of MSDNet's budgeted batch classification (Huang et
/// al., ICLR 2018, §4) come from [`crate::budget::msdnet_thresholds`]. An exit without a
/// threshold (index past the end) never fires.
#[derive(Debug, Clone, PartialEq)]
pub struct ExitThresholds {
    /// `[exits − 1]` (or `[exits]`): the confidence threshold of each exit.
    pub thresholds: Vec<f64>,
}

impl ExitPolicy for ExitThresholds {
    fn should_exit(&self, exit: usize, score: &ExitScore) -> bool {
        self.thresholds
            .get(exit)
            .is_some_and(|&t| score.confidence >= t)
    }
}
