//! Target-accuracy mode without a guarantee, the question a deployer asks: "I need at least A
//! accuracy on average; what is the least compute?" Among the candidate δ, the one whose policy
//! has the least mean FLOPs on the calibration set while its calibration accuracy is ≥ A (a
//! plug-in choice: nothing bounds how far the test accuracy may fall below A — for that use risk
//! control, [`super::risk`]). docs/methods.md §1.

use super::candidates::{candidate_deltas, representative};
use crate::policy::{Method, MethodParams};
use crate::{evaluate, Outcome, ReliabilityDiagram, ScoreTable};
use rayon::prelude::*;

/// Absolute tolerance on "calibration accuracy ≥ A" (an accuracy is a ratio of counts).
const TOLERANCE: f64 = 1e-12;

/// A target accuracy no δ reaches on the calibration set.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("no δ reaches a calibration accuracy of {target} (the best δ reaches {best:.4}); expected a lower target accuracy")]
pub struct TargetError {
    /// The target accuracy A asked for, in (0, 1).
    pub target: f64,
    /// The highest calibration accuracy of any candidate δ.
    pub best: f64,
}

/// The δ chosen for a target accuracy, and what it gives on the calibration set.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetChoice {
    /// The chosen δ, a fraction in [0, 1].
    pub delta: f64,
    /// The outcome at δ on the calibration set (its accuracy ≥ the target).
    pub calibration: Outcome,
    /// How many candidate δ were evaluated.
    pub candidates: usize,
}

/// The δ among [`candidate_deltas`] whose policy (from the calibration `diagrams`, with
/// `params`) has the least mean FLOPs on the calibration `scores` (cumulative `flops`
/// `[exits]`) among those whose calibration accuracy is ≥ `target`; ties go to the higher
/// accuracy, then the lower δ; the δ returned is the [`representative`] of the winner.
///
/// # Errors
/// [`TargetError`] when no candidate reaches `target` on the calibration set.
pub fn cheapest_delta_for_accuracy(
    method: Method,
    params: &MethodParams,
    diagrams: &[ReliabilityDiagram],
    scores: &ScoreTable,
    flops: &[f64],
    target: f64,
) -> Result<TargetChoice, TargetError> {
    let deltas = candidate_deltas(method, diagrams, params);
    let outcomes: Vec<Outcome> = deltas
        .par_iter()
        .map(|&d| {
            let policy = method.policy_with(diagrams, d, params);
            evaluate(policy.as_ref(), scores, flops)
        })
        .collect();
    let best = (0..deltas.len())
        .filter(|&i| outcomes[i].accuracy >= target - TOLERANCE)
        .min_by(|&a, &b| {
            let (x, y) = (&outcomes[a], &outcomes[b]);
            x.mean_flops
                .total_cmp(&y.mean_flops)
                .then(y.accuracy.total_cmp(&x.accuracy))
                .then(deltas[a].total_cmp(&deltas[b]))
        })
        .ok_or_else(|| TargetError {
            target,
            best: outcomes.iter().map(|o| o.accuracy).fold(0.0, f64::max),
        })?;
    Ok(TargetChoice {
        delta: representative(&deltas, best),
        calibration: outcomes[best].clone(),
        candidates: deltas.len(),
    })
}
