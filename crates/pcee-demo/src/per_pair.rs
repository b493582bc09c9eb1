//! The first claim judged pair by pair: the rule of [`crate::verdict::cost_match_verdict`],
//! unchanged, applied to every shipped pair (small, large) of one training recipe
//! ([`crate::assets::PAIRS`]), and an overall verdict saying on which pairs it is shown — as
//! [`crate::per_model`] does for the second claim.

use crate::results::CostMatch;
use crate::verdict::{cost_match_verdict, Verdict};
use serde::Serialize;

/// The first claim on one pair.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PairVerdict {
    /// The small model's name.
    pub small_model: String,
    /// The large model's name.
    pub large_model: String,
    /// The verdict of [`cost_match_verdict`] on this pair's cost match.
    pub verdict: Verdict,
}

impl PairVerdict {
    /// The pair as printed: `small → large`.
    pub fn pair(&self) -> String {
        format!("{} → {}", self.small_model, self.large_model)
    }
}

/// One verdict per cost match, in the order given.
pub fn per_pair_verdicts(matches: &[CostMatch]) -> Vec<PairVerdict> {
    matches
        .iter()
        .map(|c| PairVerdict {
            small_model: c.small_model.clone(),
            large_model: c.large_model.clone(),
            verdict: cost_match_verdict(&c.comparison, c.small_flops, c.large_outcome.mean_flops),
        })
        .collect()
}

/// The overall verdict: shown when shown on some pair; its reason says on which pairs it is
/// shown and on which not, then gives each pair's reason, then the `skipped` pairs' notes.
pub fn overall_verdict(per_pair: &[PairVerdict], skipped: &[String]) -> Verdict {
    let list = |shown: bool| {
        per_pair
            .iter()
            .filter(|p| p.verdict.shown() == shown)
            .map(PairVerdict::pair)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (on, off) = (list(true), list(false));
    let place = match (on.is_empty(), off.is_empty()) {
        (false, false) => format!("shown on {on}; not shown on {off}"),
        (false, true) => format!("shown on every pair: {on}"),
        (true, _) => format!("shown on no pair: not on {off}"),
    };
    let mut parts = vec![place];
    parts.extend(
        per_pair
            .iter()
            .map(|p| format!("{}: {} — {}", p.pair(), p.verdict.verdict, p.verdict.reason)),
    );
    parts.extend(skipped.iter().cloned());
    Verdict::new(!on.is_empty(), parts.join(". "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use pcee::compare::PairedComparison;
    use pcee::Outcome;

    /// A cost match of N = 1000 test images: the large model right alone on `only_large`
    /// images, the small one on `only_small`, 100 wrong for both, McNemar `p`, the large model
    /// at `cost` of the small one's FLOPs.
    fn cost_match(
        pair: (&str, &str),
        only_small: u64,
        only_large: u64,
        p: f64,
        cost: f64,
    ) -> CostMatch {
        let both_wrong = 100;
        let (error_small, error_large) = (
            (only_large + both_wrong) as f64 / 1000.0,
            (only_small + both_wrong) as f64 / 1000.0,
        );
        let difference = error_large - error_small;
        let comparison = PairedComparison {
            samples: 1000,
            both_correct: 1000 - only_small - only_large - both_wrong,
            only_a: only_small,
            only_b: only_large,
            both_wrong,
            error_a: error_small,
            error_b: error_large,
            difference,
            difference_ci: [difference - 0.01, difference + 0.01],
            bootstrap: 100,
            mcnemar_p: p,
        };
        let large_outcome = Outcome {
            accuracy: 1.0 - error_large,
            mean_flops: cost * 1e6,
            flops_fraction: cost,
            exit_fractions: vec![1.0],
            exit_accuracy: vec![Some(1.0 - error_large)],
            mean_exit: 0.0,
        };
        CostMatch {
            small_model: pair.0.into(),
            large_model: pair.1.into(),
            delta: 0.9,
            within_budget: true,
            small_flops: 1e6,
            small_error: error_small,
            small_images_per_second: 1000.0,
            small_measured: None,
            large_val_mean_flops: cost * 1e6,
            large_outcome,
            large_error: error_large,
            large_full_error: error_large,
            comparison,
            large_images_per_second: None,
            large_measured: None,
        }
    }

    /// The regularised pair wins clearly; the SGD pair ties.
    fn two_pairs() -> Vec<PairVerdict> {
        per_pair_verdicts(&[
            cost_match(("msdnet-small", "msdnet-large"), 10, 30, 0.001, 0.9),
            cost_match(("msdnet-small-sgd", "msdnet-large-sgd"), 20, 21, 0.5, 0.8),
        ])
    }

    #[test]
    fn each_pair_is_judged_alone() {
        let v = two_pairs();
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].pair(), "msdnet-small → msdnet-large");
        assert!(v[0].verdict.shown(), "{:?}", v[0]);
        assert!(v[0].verdict.reason.contains("-2.00 points"), "{:?}", v[0]);
        assert_eq!(v[1].pair(), "msdnet-small-sgd → msdnet-large-sgd");
        assert!(!v[1].verdict.shown(), "{:?}", v[1]);
        assert!(v[1].verdict.reason.starts_with("p ≥ 0.05:"), "{:?}", v[1]);
    }

    #[test]
    fn the_overall_verdict_names_each_pair() {
        let skipped = ["vit-small → vit-large: skipped, vit-large not embedded".to_string()];
        let all = overall_verdict(&two_pairs(), &skipped);
        assert!(all.shown(), "{all:?}");
        assert!(
            all.reason.starts_with(
                "shown on msdnet-small → msdnet-large; \
                 not shown on msdnet-small-sgd → msdnet-large-sgd. \
                 msdnet-small → msdnet-large: shown — error difference"
            ),
            "{all:?}"
        );
        assert!(
            all.reason
                .contains("msdnet-small-sgd → msdnet-large-sgd: not shown — p ≥ 0.05:"),
            "{all:?}"
        );
        assert!(all.reason.ends_with(&skipped[0]), "{all:?}");
        // Only the tie: not shown anywhere, and the overall verdict says so.
        let none = overall_verdict(&two_pairs()[1..], &[]);
        assert!(!none.shown());
        assert!(
            none.reason
                .starts_with("shown on no pair: not on msdnet-small-sgd → msdnet-large-sgd. "),
            "{none:?}"
        );
        let every = overall_verdict(&two_pairs()[..1], &[]);
        assert!(every.shown());
        assert!(
            every
                .reason
                .starts_with("shown on every pair: msdnet-small → msdnet-large. "),
            "{every:?}"
        );
    }
}
