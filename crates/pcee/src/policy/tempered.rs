//! Per-exit temperature scaling in front of any policy (Guo et al., ICML 2017, per exit).

use super::ExitPolicy;
use crate::ExitScore;

/// A policy that reads temperature-scaled scores: at inference the logits of exit l are divided
/// by `temperatures[l]` (> 0) before the softmax ([`ExitScore::from_logits_scaled`]).
///
/// [`ExitPolicy::should_exit`] and [`ExitPolicy::stops`] expect scores already scaled (a
/// [`crate::ScoreTable::from_logits_scaled`] with the same temperatures);
/// [`ExitPolicy::stops_on_logits`] scales raw logits itself.
pub struct Tempered {
    /// The policy, calibrated on scaled scores.
    pub inner: Box<dyn ExitPolicy>,
    /// `[exits]`: the temperature T of each exit, > 0.
    pub temperatures: Vec<f64>,
}

impl ExitPolicy for Tempered {
    fn should_exit(&self, exit: usize, score: &ExitScore) -> bool {
        self.inner.should_exit(exit, score)
    }

    fn stops_on_logits(&self, exit: usize, exits: usize, logits: &[f32]) -> bool {
        let t = self.temperatures.get(exit).copied().unwrap_or(1.0);
        self.stops(exit, exits, &ExitScore::from_logits_scaled(logits, t))
    }

    fn stops_on_scored_logits(
        &self,
        exit: usize,
        exits: usize,
        logits: &[f32],
        _raw: &ExitScore,
    ) -> bool {
        self.stops_on_logits(exit, exits, logits)
    }
}
