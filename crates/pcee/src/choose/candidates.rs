//! The values of δ worth trying when δ is chosen on calibration data (budget mode, risk
//! control): every δ at which a method's decisions can change.

use crate::policy::{Method, MethodParams};
use crate::stats::clopper_pearson_lower;
use crate::ReliabilityDiagram;

/// Step of the regular δ grid used for threshold methods (`confidence`, `msdnet-budget`
/// without thresholds): δ = i / 1000.
const GRID_STEP: f64 = 0.001;

/// The candidate δ values (fractions in [0, 1], sorted ascending, no repeats) of `method` with
/// `params`, calibrated on the reliability `diagrams` `[exits]`:
/// - `pcee`, `pcee-ws`, `pcee-lcb`: 0, 1 and every value a bin's rule compares with δ (bin
///   accuracy, window accuracy, Clopper–Pearson lower bound at the cell level of
///   [`MethodParams::correction`]) — the policy is a step function
///   of δ that changes only there, so these δ give every distinct policy;
/// - `confidence`, `msdnet-budget`: the grid 0, 0.001, …, 1 plus 1 − 10⁻ᵏ for k = 4..=12
///   (confidences crowd near 1);
/// - `oracle`: 0 (it ignores δ).
///
/// # Panics
/// For `pcee-lcb`, when `params.alpha` is not in (0, 1).
pub fn candidate_deltas(
    method: Method,
    diagrams: &[ReliabilityDiagram],
    params: &MethodParams,
) -> Vec<f64> {
    let mut deltas: Vec<f64> = match method {
        Method::Pcee | Method::PceeWs | Method::PceeLcb => {
            let mut values = vec![0.0, 1.0];
            let cell_alpha = params.correction.cell_alpha(diagrams, params.alpha);
            for d in diagrams {
                for b in (0..d.bins()).filter(|&b| d.counts()[b] > 0) {
                    values.push(match method {
                        Method::Pcee => d.accuracy(b).expect("non-empty bin"),
                        Method::PceeWs => d.window_accuracy(b, params.window).expect("non-empty"),
                        _ => clopper_pearson_lower(d.correct()[b], d.counts()[b], cell_alpha),
                    });
                }
            }
            values
        }
        Method::Confidence | Method::MsdnetBudget => crate::delta::grid(0.0, 1.0, GRID_STEP)
            .into_iter()
            .chain((4..=12).map(|k| 1.0 - 10f64.powi(-k)))
            .collect(),
        Method::Oracle => vec![0.0],
    };
    deltas.sort_by(f64::total_cmp);
    deltas.dedup();
    deltas
}

/// The δ to report for candidate `j` of the sorted `deltas`: among the decimals with the fewest
/// digits in (δ_{j−1}, δ_j], the largest (δ_0 itself for j = 0). For PCEE-type methods every δ in
/// that interval gives the same policy on the calibration diagrams, and a short decimal survives
/// a round trip through JSON and text unchanged, while δ_j itself, a bin accuracy such as
/// 0.9379432624113475, would flip the decision of its own bin if it moved by one ulp. Threshold
/// grids (already short decimals) are returned unchanged.
///
/// # Panics
/// When `j` is out of range.
pub fn representative(deltas: &[f64], j: usize) -> f64 {
    let hi = deltas[j];
    if j == 0 {
        return hi;
    }
    let lo = deltas[j - 1];
    for digits in 0..=15 {
        let scale = 10f64.powi(digits);
        let v = (hi * scale).floor() / scale;
        if v > lo && v <= hi {
            return v;
        }
    }
    hi
}

#[cfg(test)]
mod tests {
    use super::representative;

    #[test]
    fn representatives_are_short_decimals_in_the_interval() {
        let deltas = [0.0, 0.5, 0.9379432624113475, 0.95, 1.0];
        assert_eq!(representative(&deltas, 0), 0.0);
        assert_eq!(representative(&deltas, 1), 0.5);
        assert_eq!(representative(&deltas, 2), 0.9);
        assert_eq!(representative(&deltas, 3), 0.95);
        assert_eq!(representative(&deltas, 4), 1.0);
        assert_eq!(representative(&[0.899, 0.9], 1), 0.9);
        // 4 digits are needed; of those, the largest ≤ δ_j.
        assert_eq!(representative(&[0.9375, 0.9379432624113475], 1), 0.9379);
    }
}
