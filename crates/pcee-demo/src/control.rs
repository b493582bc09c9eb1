//! Accuracy control (the paper's second claim): each method at each target δ on the test set,
//! with policies calibrated on the validation set.

use crate::results::ControlRow;
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
    pcee::sweep(diagrams, test, flops, &METHODS, deltas, window)
        .into_iter()
        .map(|r| ControlRow {
            method: r.method.name().to_string(),
            delta: r.delta,
            control_error: r.outcome.control_error(r.delta),
            reachable: full_accuracy >= r.delta,
            outcome: r.outcome,
            measured: None,
        })
        .collect()
}

/// The oracle bound on the test set.
pub fn oracle(test: &ScoreTable, flops: &[f64]) -> Outcome {
    evaluate(&pcee::policy::Oracle, test, flops)
}
