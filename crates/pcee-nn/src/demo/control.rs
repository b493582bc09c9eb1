//! Accuracy control (the paper's second claim): each method at each target δ on the test set,
//! with policies calibrated on the validation set.

use super::results::ControlRow;
use pcee::{evaluate, Method, Outcome, ReliabilityDiagram, ScoreTable};

/// The methods of the control table (the oracle, a bound, is reported apart).
pub const METHODS: [Method; 3] = [Method::Confidence, Method::Pcee, Method::PceeWs];

/// One [`ControlRow`] per method of [`METHODS`] and δ of `deltas` (method-major), from the
/// validation `diagrams` `[exits]` and the `test` scores with cumulative `flops` `[exits]`;
/// `full_accuracy` is the last exit's test accuracy (δ above it is unreachable).
pub fn control_rows(
    diagrams: &[ReliabilityDiagram],
    test: &ScoreTable,
    flops: &[f64],
    deltas: &[f64],
    window: usize,
    full_accuracy: f64,
) -> Vec<ControlRow> {
    let mut rows = Vec::with_capacity(METHODS.len() * deltas.len());
    for method in METHODS {
        for &delta in deltas {
            let outcome = evaluate(method.policy(diagrams, delta, window).as_ref(), test, flops);
            rows.push(ControlRow {
                method: method.name().to_string(),
                delta,
                control_error: outcome.control_error(delta),
                reachable: full_accuracy >= delta,
                outcome,
                measured: None,
            });
        }
    }
    rows
}

/// The oracle bound on the test set.
pub fn oracle(test: &ScoreTable, flops: &[f64]) -> Outcome {
    evaluate(&pcee::policy::Oracle, test, flops)
}
