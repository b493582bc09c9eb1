//! A policy file evaluated on test logits, as one serialisable record: what `pcee evaluate
//! --json` prints and what the Python package's `pcee.evaluate` returns (one code path).

use crate::policy_file::FitError;
use crate::{evaluate, Delta, ExitLogits, Method, Outcome, PolicyFile};
use serde::Serialize;

/// The outcome of a policy file on test logits with the run's settings; serialises to the
/// fields of `pcee evaluate --json`, in this order: `method`, `delta`, `samples`,
/// `full_flops`, `target_accuracy` and `control_error` (both absent for a budget policy
/// without a given δ), then the [`Outcome`] fields.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    /// The policy's method.
    pub method: Method,
    /// The δ the policy ran at: the one given, else the policy's.
    pub delta: Delta,
    /// Number of test samples N.
    pub samples: usize,
    /// Cumulative FLOPs of the last exit (the full network), counted as [`PolicyFile::cost_on`].
    pub full_flops: f64,
    /// The accuracy the control error is measured against ([`PolicyFile::target_accuracy`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_accuracy: Option<f64>,
    /// Achieved accuracy − `target_accuracy` (absent with it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub control_error: Option<f64>,
    /// What the policy achieves on the test logits.
    #[serde(flatten)]
    pub outcome: Outcome,
}

impl PolicyFile {
    /// Evaluates this policy at `delta` (the policy's own δ when `None`) on `test` logits
    /// `[exits, samples, classes]`: scores as the policy reads them (temperatures), costs as
    /// [`PolicyFile::cost_on`], every sample through [`crate::ExitPolicy::stops`].
    ///
    /// # Errors
    /// [`FitError`] when the logits do not belong to the policy's network
    /// ([`PolicyFile::check_logits`]).
    pub fn evaluate_on(
        &self,
        test: &ExitLogits,
        delta: Option<Delta>,
    ) -> Result<Evaluation, FitError> {
        self.check_logits(test)?;
        let used = delta.unwrap_or(self.delta);
        let cost = self.cost_on(test);
        let target = self.target_accuracy(used, delta.is_some());
        let policy = self.policy(used);
        let outcome = evaluate(policy.as_ref(), &self.scores(test), &cost);
        Ok(Evaluation {
            method: self.method,
            delta: used,
            samples: test.samples(),
            full_flops: cost[cost.len() - 1],
            target_accuracy: target,
            control_error: target.map(|t| outcome.accuracy - t),
            outcome,
        })
    }
}
