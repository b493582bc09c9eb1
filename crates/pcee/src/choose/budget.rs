//! Budget mode: the best accuracy for a compute budget, chosen on calibration data. Two ways:
//! the δ of a δ-driven method with the highest calibration accuracy whose mean FLOPs fit
//! ([`best_delta_for_budget`]), and MSDNet's budgeted batch classification, per-exit confidence
//! thresholds from geometric exit shares ([`msdnet_thresholds`], Huang et al., ICLR 2018).

use super::candidates::{candidate_deltas, representative};
use crate::policy::{ExitThresholds, Method, MethodParams};
use crate::{evaluate, Outcome, ReliabilityDiagram, ScoreTable};
use rayon::prelude::*;

/// Relative tolerance on "mean FLOPs ≤ budget" (float sums of many costs).
const TOLERANCE: f64 = 1e-12;

/// Why a budget cannot be met.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BudgetError {
    /// The budget is outside what any policy can cost.
    #[error("{} FLOPs is outside the feasible range; expected a mean cost per sample from {} (the first exit's cost) to {} (the full network's)", number(*budget), number(*min), number(*max))]
    Range {
        /// The budget asked for, in FLOPs.
        budget: f64,
        /// The first exit's cumulative cost, in FLOPs.
        min: f64,
        /// The last exit's cumulative cost, in FLOPs.
        max: f64,
    },
}

/// A number as an error message shows it: as typed for ordinary magnitudes, in scientific
/// notation from 10¹⁵ (so `1e300` is not echoed as 301 digits).
fn number(x: f64) -> String {
    if x.abs() >= 1e15 {
        format!("{x:e}")
    } else {
        format!("{x}")
    }
}

/// The δ chosen for a budget, and what it gives on the calibration set.
#[derive(Debug, Clone, PartialEq)]
pub struct BudgetChoice {
    /// The chosen δ, a fraction in [0, 1].
    pub delta: f64,
    /// The outcome at δ on the calibration set (its `mean_flops` ≤ the budget).
    pub calibration: Outcome,
    /// How many candidate δ were evaluated.
    pub candidates: usize,
}

/// Checks that `budget` (mean FLOPs per sample) lies in [flops[0], flops[L − 1]].
///
/// # Errors
/// [`BudgetError::Range`] otherwise (or for NaN).
pub fn check_budget(budget: f64, flops: &[f64]) -> Result<f64, BudgetError> {
    let (min, max) = (flops[0], flops[flops.len() - 1]);
    if budget >= min && budget <= max {
        Ok(budget)
    } else {
        Err(BudgetError::Range { budget, min, max })
    }
}

/// Budget mode for a δ-driven method: among [`candidate_deltas`], the δ whose policy (from the
/// calibration `diagrams`, with `params`) has the highest accuracy on the calibration `scores`
/// while its mean FLOPs (cumulative `flops` `[exits]`) stay ≤ `budget`; ties go to the lower
/// cost, then the lower δ; the δ returned is the [`representative`] of the winning candidate
/// (same policy, a short decimal). δ = 0 sends every calibration sample out at exit 0, so any budget
/// from flops[0] up is met.
///
/// # Errors
/// [`BudgetError::Range`] when the budget is below the first exit's cost or above the full cost.
pub fn best_delta_for_budget(
    method: Method,
    params: &MethodParams,
    diagrams: &[ReliabilityDiagram],
    scores: &ScoreTable,
    flops: &[f64],
    budget: f64,
) -> Result<BudgetChoice, BudgetError> {
    check_budget(budget, flops)?;
    let deltas = candidate_deltas(method, diagrams, params);
    let outcomes: Vec<Outcome> = deltas
        .iter()
        .map(|&d| {
            evaluate(
                method.policy_with(diagrams, d, params).as_ref(),
                scores,
                flops,
            )
        })
        .collect();
    let fits = |o: &Outcome| o.mean_flops <= budget * (1.0 + TOLERANCE);
    let best = (0..deltas.len())
        .filter(|&i| fits(&outcomes[i]))
        .min_by(|&a, &b| {
            let (x, y) = (&outcomes[a], &outcomes[b]);
            y.accuracy
                .total_cmp(&x.accuracy)
                .then(x.mean_flops.total_cmp(&y.mean_flops))
                .then(deltas[a].total_cmp(&deltas[b]))
        })
        .expect("δ = 0 fits any feasible budget");
    Ok(BudgetChoice {
        delta: representative(&deltas, best),
        calibration: outcomes[best].clone(),
        candidates: deltas.len(),
    })
}

/// MSDNet's budgeted batch classification, fitted on calibration data.
#[derive(Debug, Clone, PartialEq)]
pub struct MsdnetBudget {
    /// The base p > 0 of the geometric exit shares q_l ∝ p^l.
    pub p: f64,
    /// `[exits]`: the planned fraction of samples leaving at each exit (sums to 1).
    pub shares: Vec<f64>,
    /// `[exits − 1]`: the confidence threshold of each exit but the last (> 1: never fires).
    pub thresholds: Vec<f64>,
    /// The outcome of the thresholds on the calibration set.
    pub calibration: Outcome,
}

/// MSDNet's budgeted batch classification (Huang et al., "Multi-Scale Dense Networks for
/// Resource Efficient Image Classification", ICLR 2018, §4 and their `dynamic_eval` code):
/// a sample leaves at exit l with probability q_l = p^l / Σ_j p^j, with p > 0 solved by bisection
/// so that Σ_l q_l · flops[l] = `budget` (mean FLOPs); then, in exit order on the calibration
/// `scores`, threshold θ_l is the confidence of the round(q_l · N)-th most confident sample still
/// present, and every sample with confidence ≥ θ_l leaves there (θ_l = 1 + 10⁻⁹, never firing,
/// when that count is 0). When rounding to whole samples makes the thresholds' calibration cost
/// exceed the budget, p is lowered (by bisection) to the largest value whose thresholds fit, so
/// the returned `calibration.mean_flops` is always ≤ `budget`.
///
/// # Errors
/// [`BudgetError::Range`] when the budget is below the first exit's cost or above the full cost.
pub fn msdnet_thresholds(
    scores: &ScoreTable,
    flops: &[f64],
    budget: f64,
) -> Result<MsdnetBudget, BudgetError> {
    check_budget(budget, flops)?;
    let exits = flops.len();
    let shares_of = |log_p: f64| -> Vec<f64> {
        let w: Vec<f64> = (0..exits).map(|l| (l as f64 * log_p).exp()).collect();
        let total: f64 = w.iter().sum();
        w.iter().map(|x| x / total).collect()
    };
    let cost = |q: &[f64]| q.iter().zip(flops).map(|(q, f)| q * f).sum::<f64>();
    let planned = bisect_log_p(-60.0, |log_p| cost(&shares_of(log_p)) <= budget);
    let fit = |log_p: f64| {
        let shares = shares_of(log_p);
        let thresholds = thresholds_for_shares(scores, &shares);
        let policy = ExitThresholds {
            thresholds: thresholds.clone(),
        };
        MsdnetBudget {
            p: log_p.exp(),
            calibration: evaluate(&policy, scores, flops),
            shares,
            thresholds,
        }
    };
    let fits = |f: &MsdnetBudget| f.calibration.mean_flops <= budget * (1.0 + TOLERANCE);
    let chosen = fit(planned);
    if fits(&chosen) {
        return Ok(chosen);
    }
    // Rounding the shares to whole samples (and ties in confidence) can make the thresholds
    // cost more than planned on the calibration set: then the largest smaller p whose thresholds
    // fit. At log p = −60 every sample leaves at exit 0, which fits any feasible budget.
    let log_p = bisect_log_p(-60.0, |log_p| log_p <= planned && fits(&fit(log_p)));
    Ok(fit(log_p))
}

/// The largest log p in [`lo`, 60] (to bisection precision) for which `ok` holds, given that it
/// holds at `lo` and is assumed to hold below any point where it holds.
fn bisect_log_p(lo: f64, ok: impl Fn(f64) -> bool) -> f64 {
    let (mut lo, mut hi) = (lo, 60.0);
    for _ in 0..100 {
        let mid = 0.5 * (lo + hi);
        if ok(mid) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    lo
}

/// The per-exit thresholds that send round(shares[l] · N) of the calibration samples out at
/// exit l, in exit order (MSDNet's procedure).
fn thresholds_for_shares(scores: &ScoreTable, shares: &[f64]) -> Vec<f64> {
    let n = scores.samples();
    let mut present = vec![true; n];
    let mut thresholds = Vec::with_capacity(shares.len() - 1);
    for (exit, &share) in shares.iter().enumerate().take(shares.len() - 1) {
        let mut confidences: Vec<f64> = (0..n)
            .into_par_iter()
            .filter(|&i| present[i])
            .map(|i| scores.sample(i)[exit].confidence)
            .collect();
        confidences.sort_by(|a, b| b.total_cmp(a));
        let take = ((share * n as f64).round() as usize).min(confidences.len());
        let threshold = if take == 0 {
            1.0 + 1e-9
        } else {
            confidences[take - 1]
        };
        for (i, p) in present.iter_mut().enumerate() {
            *p = *p && scores.sample(i)[exit].confidence < threshold;
        }
        thresholds.push(threshold);
    }
    thresholds
}
