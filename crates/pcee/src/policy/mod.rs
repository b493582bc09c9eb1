//! Exit policies (docs/design.md §3): one interface, [`ExitPolicy`], that decides one exit at a time
//! for one sample. The offline evaluation ([`crate::evaluate()`]) and an early-exit runtime both
//! go through [`ExitPolicy::stops`], so there is a single code path for the exit rule.

mod confidence;
mod correction;
mod method;
mod oracle;
mod pcee;
mod tempered;
mod thresholds;

pub use crate::delta::{check_delta, Delta, DeltaError};
pub use confidence::ConfidenceThreshold;
pub use correction::{cells_that_can_fire, Correction, CorrectionError};
pub use method::{Method, MethodError, MethodParams};
pub use oracle::Oracle;
pub use pcee::Pcee;
pub use tempered::Tempered;
pub use thresholds::ExitThresholds;

use crate::ExitScore;

/// An early-exit rule, asked one exit at a time, for one sample, in network order.
///
/// Implementations say whether their rule *fires* at an exit; [`ExitPolicy::stops`] adds what
/// every policy shares: a sample that reaches the last exit always exits there.
pub trait ExitPolicy: Send + Sync {
    /// Whether the rule fires for a sample whose exit head `exit` (0-based) gave `score`.
    fn should_exit(&self, exit: usize, score: &ExitScore) -> bool;

    /// Whether a sample stops at `exit` of a network with `exits` exits: always at the last
    /// exit `exits − 1`, otherwise when [`ExitPolicy::should_exit`] fires.
    fn stops(&self, exit: usize, exits: usize, score: &ExitScore) -> bool {
        exit + 1 >= exits || self.should_exit(exit, score)
    }

    /// [`ExitPolicy::stops`] on the float32 logits `[classes]` of exit head `exit` (what an
    /// inference runtime holds); the label is unknown, so the [`Oracle`] never fires here.
    fn stops_on_logits(&self, exit: usize, exits: usize, logits: &[f32]) -> bool {
        self.stops_on_scored_logits(exit, exits, logits, &ExitScore::from_logits(logits))
    }

    /// [`ExitPolicy::stops_on_logits`] when the caller has already scored the raw `logits`
    /// (`raw` = [`ExitScore::from_logits`]`(logits)`, which a runtime keeps for its decision):
    /// the raw score is not computed twice. A policy that reads other scores (temperatures)
    /// rescales `logits` itself.
    fn stops_on_scored_logits(
        &self,
        exit: usize,
        exits: usize,
        _logits: &[f32],
        raw: &ExitScore,
    ) -> bool {
        self.stops(exit, exits, raw)
    }
}

/// The exit (0-based) at which a sample with scores `[exits]` leaves: the first exit where
/// [`ExitPolicy::stops`] holds, visiting exits in order.
///
/// # Panics
/// When `scores` is empty.
pub fn choose_exit<P: ExitPolicy + ?Sized>(policy: &P, scores: &[ExitScore]) -> usize {
    let exits = scores.len();
    assert!(exits > 0, "a network has at least one exit");
    (0..exits)
        .find(|&exit| policy.stops(exit, exits, &scores[exit]))
        .unwrap_or(exits - 1)
}
