//! Large at the cost of small (the paper's first claim): the δ at which the large model with
//! PCEE costs, on the VALIDATION set, as much as the small model run to its last exit — closest
//! to that cost without going above it. The test set is never used to choose δ.

use pcee::{evaluate, Method, ReliabilityDiagram, ScoreTable};

/// The δ grid searched: `[start, stop, step]`, wide enough that some δ fits any budget above
/// the large model's first exit (2.70 MFLOPs for `msdnet-large`, 26 % of `msdnet-small`).
pub const GRID: [f64; 3] = [0.50, 0.999, 0.001];

/// The grid's values, `start, start + step, …, ≤ stop` (computed by index, no drift).
pub fn grid_values(grid: [f64; 3]) -> Vec<f64> {
    let [start, stop, step] = grid;
    let n = ((stop - start) / step + 1e-9).floor() as usize;
    (0..=n)
        .map(|i| ((start + i as f64 * step) * 1e6).round() / 1e6)
        .collect()
}

/// The chosen δ and its mean validation FLOPs, and whether it is within `budget` (FLOPs per
/// image). Among the grid's δ whose PCEE validation cost is ≤ `budget`, the costliest (ties: the
/// highest δ); when none is, the cheapest δ (and `false`).
pub fn choose_delta(
    diagrams: &[ReliabilityDiagram],
    val: &ScoreTable,
    flops: &[f64],
    budget: f64,
) -> (f64, f64, bool) {
    let costs: Vec<(f64, f64)> = grid_values(GRID)
        .into_iter()
        .map(|d| {
            (
                d,
                evaluate(Method::Pcee.policy(diagrams, d, 0).as_ref(), val, flops).mean_flops,
            )
        })
        .collect();
    let best = costs
        .iter()
        .filter(|(_, c)| *c <= budget)
        .max_by(|a, b| a.1.total_cmp(&b.1).then(a.0.total_cmp(&b.0)));
    match best {
        Some(&(d, c)) => (d, c, true),
        None => {
            let &(d, c) = costs
                .iter()
                .min_by(|a, b| a.1.total_cmp(&b.1))
                .expect("non-empty grid");
            (d, c, false)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_has_500_exact_values() {
        let g = grid_values(GRID);
        assert_eq!(g.len(), 500);
        assert_eq!((g[0], g[1], g[499]), (0.50, 0.501, 0.999));
    }
}
