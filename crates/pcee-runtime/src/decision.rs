//! Where a sample leaves the network: the one per-sample rule every backend asks after every
//! exit head, and the outcome of a run's decisions.

use pcee::{ExitPolicy, ExitScore, Outcome};
use serde::Serialize;

/// Where one sample left the network and what it predicted there.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Decision {
    /// Exit index (0-based) at which the sample left.
    pub exit: usize,
    /// Predicted class at that exit: argmax of the head's logits, ties to the lowest class.
    pub prediction: u32,
    /// Confidence at that exit: the largest softmax probability (stable, in f64), in [0, 1].
    pub confidence: f64,
}

impl Decision {
    /// The decision of a sample that leaves at `exit` with the raw (untempered) `score`.
    pub fn at(exit: usize, score: &ExitScore) -> Decision {
        Decision {
            exit,
            prediction: score.prediction,
            confidence: score.confidence,
        }
    }
}

/// The decision for one sample at exit `exit` of a network with `exits` exits, from its head's
/// float32 `logits` `[classes]`: `Some` when [`ExitPolicy::stops_on_scored_logits`] stops it
/// there (with the raw softmax confidence), `None` when it goes on. The one per-sample rule of
/// every runtime: the same call the offline evaluation makes ([`pcee::exits_of`]), with the
/// policy's per-exit temperatures if it has any.
pub fn decide_row(
    policy: &dyn ExitPolicy,
    exit: usize,
    exits: usize,
    logits: &[f32],
) -> Option<Decision> {
    let raw = ExitScore::from_logits(logits);
    policy
        .stops_on_scored_logits(exit, exits, logits, &raw)
        .then(|| Decision::at(exit, &raw))
}

/// The outcome (docs/design.md §3) of `decisions` `[samples]` on samples whose true classes are
/// `labels` `[samples]`, with cumulative `flops` `[exits]`.
///
/// # Panics
/// When the lengths differ.
pub fn outcome_of<L: Copy + Into<u32>>(
    decisions: &[Decision],
    labels: &[L],
    flops: &[f64],
) -> Outcome {
    assert_eq!(decisions.len(), labels.len(), "one decision per sample");
    let exits: Vec<usize> = decisions.iter().map(|d| d.exit).collect();
    let correct: Vec<bool> = decisions
        .iter()
        .zip(labels)
        .map(|(d, &y)| d.prediction == y.into())
        .collect();
    Outcome::from_exits(&exits, &correct, flops)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Exits when the confidence reaches 0.85.
    struct Threshold;

    impl ExitPolicy for Threshold {
        fn should_exit(&self, _: usize, score: &ExitScore) -> bool {
            score.confidence >= 0.85
        }
    }

    #[test]
    fn a_confident_row_stops_and_reports_its_raw_softmax() {
        // Logits [ln 9, 0]: softmax (0.9, 0.1), computed by hand.
        let stops = decide_row(&Threshold, 0, 2, &[9f32.ln(), 0.0]).unwrap();
        assert_eq!((stops.exit, stops.prediction), (0, 0));
        assert!((stops.confidence - 0.9).abs() < 1e-6, "{stops:?}");
        // [0, ln 3]: softmax (0.25, 0.75) goes on at exit 0; the last exit takes it.
        let z = [0.0, 3f32.ln()];
        assert!(decide_row(&Threshold, 0, 2, &z).is_none());
        let last = decide_row(&Threshold, 1, 2, &z).unwrap();
        assert_eq!((last.exit, last.prediction), (1, 1));
        assert!((last.confidence - 0.75).abs() < 1e-6, "{last:?}");
    }

    #[test]
    fn the_outcome_counts_exits_and_correct_predictions() {
        let at = |exit, prediction| Decision {
            exit,
            prediction,
            confidence: 1.0,
        };
        let o = outcome_of(&[at(0, 1), at(1, 2), at(1, 0)], &[1u8, 2, 2], &[10.0, 30.0]);
        assert!((o.accuracy - 2.0 / 3.0).abs() < 1e-12);
        assert!((o.mean_flops - (10.0 + 30.0 + 30.0) / 3.0).abs() < 1e-9);
    }
}
