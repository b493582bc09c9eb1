//! Sweeps: the outcome of several methods at several target accuracies δ (the paper's curves).

use crate::{evaluate, Method, Outcome, ReliabilityDiagram, ScoreTable};

/// One point of a sweep.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepRow {
    /// The method.
    pub method: Method,
    /// The target accuracy δ in [0, 1] (ignored by the oracle, which is the same at every δ).
    pub delta: f64,
    /// What the method achieves on the test set at δ.
    pub outcome: Outcome,
}

/// Evaluates each method at each δ (fractions in [0, 1]): policies come from the validation
/// reliability `diagrams` `[exits]` (PCEE-WS with `window`), outcomes from the `test` scores
/// with cumulative `flops` `[exits]`. Rows are grouped by method, in the order given.
///
/// # Panics
/// When `diagrams` or `flops` do not have one entry per exit of `test`.
pub fn sweep(
    diagrams: &[ReliabilityDiagram],
    test: &ScoreTable,
    flops: &[f64],
    methods: &[Method],
    deltas: &[f64],
    window: usize,
) -> Vec<SweepRow> {
    assert_eq!(diagrams.len(), test.exits(), "one diagram per exit");
    let mut rows = Vec::with_capacity(methods.len() * deltas.len());
    for &method in methods {
        for &delta in deltas {
            let policy = method.policy(diagrams, delta, window);
            let outcome = evaluate(policy.as_ref(), test, flops);
            rows.push(SweepRow {
                method,
                delta,
                outcome,
            });
        }
    }
    rows
}
