//! The demo's verdicts: a claim is `shown` only when a stated rule holds on the measured
//! numbers, and the verdict carries those numbers in words either way.

use pcee::compare::PairedComparison;
use serde::Serialize;

/// Significance level of the paired test behind a `shown` verdict on the first claim.
pub const ALPHA: f64 = 0.05;

/// A computed verdict: `shown` or `not shown`, and why, with the numbers it rests on.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    /// `shown` or `not shown`.
    pub verdict: String,
    /// The numbers and the part of the rule that decided, one sentence.
    pub reason: String,
}

impl Verdict {
    /// A verdict that is `shown` when `shown`, with `reason`.
    pub fn new(shown: bool, reason: String) -> Self {
        let verdict = if shown { "shown" } else { "not shown" };
        Verdict {
            verdict: verdict.to_string(),
            reason,
        }
    }

    /// Whether the claim is shown.
    pub fn shown(&self) -> bool {
        self.verdict == "shown"
    }
}

/// A p-value as printed: three decimals, or two significant digits in scientific notation
/// below 0.001 (so a tiny p never reads as `0.000`).
fn p_value(p: f64) -> String {
    if p < 1e-3 {
        format!("{p:.1e}")
    } else {
        format!("{p:.3}")
    }
}

/// The first claim ("a large early-exit model beats a small one at the small one's cost"),
/// judged on the paired comparison `c` of A = the small model run to its last exit and B = the
/// large model with early exit on the same test images, `small_flops` the small model's full
/// cost and `large_mean_flops` the large model's mean test cost (FLOPs per image). Shown only
/// when B errs less (`c.difference < 0`), at no more mean FLOPs, with McNemar's p < [`ALPHA`].
pub fn cost_match_verdict(
    c: &PairedComparison,
    small_flops: f64,
    large_mean_flops: f64,
) -> Verdict {
    let pts = |d: f64| format!("{:+.2}", 100.0 * d);
    let cost = large_mean_flops / small_flops;
    let numbers = format!(
        "error difference large − small {} points (95 % bootstrap CI [{}, {}]), McNemar exact p = {}, \
         large at {:.1} % of the small model's FLOPs",
        pts(c.difference),
        pts(c.difference_ci[0]),
        pts(c.difference_ci[1]),
        p_value(c.mcnemar_p),
        100.0 * cost
    );
    let mut failed = Vec::new();
    if c.difference >= 0.0 {
        failed.push("the large model does not err less");
    }
    if large_mean_flops > small_flops {
        failed.push("the large model costs more");
    }
    if c.mcnemar_p >= ALPHA {
        failed.push("p ≥ 0.05");
    }
    if failed.is_empty() {
        Verdict::new(true, numbers)
    } else {
        Verdict::new(false, format!("{}: {numbers}", failed.join("; ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A comparison of N = 1000 images with `only_small` images right only for the small model,
    /// `only_large` only for the large one, 100 wrong for both, and the given p.
    fn comparison(only_small: u64, only_large: u64, p: f64) -> PairedComparison {
        let both_wrong = 100;
        let (error_a, error_b) = (
            (only_large + both_wrong) as f64 / 1000.0,
            (only_small + both_wrong) as f64 / 1000.0,
        );
        PairedComparison {
            samples: 1000,
            both_correct: 1000 - only_small - only_large - both_wrong,
            only_a: only_small,
            only_b: only_large,
            both_wrong,
            error_a,
            error_b,
            difference: error_b - error_a,
            difference_ci: [error_b - error_a - 0.01, error_b - error_a + 0.01],
            bootstrap: 100,
            mcnemar_p: p,
        }
    }

    #[test]
    fn a_clear_win_is_shown() {
        // Large errs (10 + 100)/1000 = 11 %, small (30 + 100)/1000 = 13 %: −2.00 points, at 90 %
        // of the cost, p = 0.001.
        let v = cost_match_verdict(&comparison(10, 30, 0.001), 1e6, 0.9e6);
        assert!(v.shown(), "{v:?}");
        assert!(
            v.reason
                .contains("-2.00 points (95 % bootstrap CI [-3.00, -1.00])"),
            "{v:?}"
        );
        assert!(v.reason.contains("90.0 %"), "{v:?}");
    }

    #[test]
    fn a_tie_is_not_shown() {
        // A tie: 20 vs 21 discordant images, −0.10 points, p = 0.50.
        let v = cost_match_verdict(&comparison(20, 21, 0.50), 1e6, 0.72e6);
        assert!(!v.shown());
        assert!(v.reason.starts_with("p ≥ 0.05:"), "{v:?}");
        assert!(v.reason.contains("-0.10 points"), "{v:?}");
    }

    #[test]
    fn a_loss_is_not_shown() {
        // Large errs 2 points more, significantly.
        let v = cost_match_verdict(&comparison(30, 10, 0.001), 1e6, 0.9e6);
        assert_eq!(v.verdict, "not shown");
        assert!(
            v.reason.starts_with("the large model does not err less:"),
            "{v:?}"
        );
    }

    #[test]
    fn a_win_that_costs_more_is_not_shown() {
        let v = cost_match_verdict(&comparison(10, 30, 0.001), 1e6, 1.01e6);
        assert!(!v.shown());
        assert!(v.reason.starts_with("the large model costs more:"), "{v:?}");
        assert!(v.reason.contains("101.0 %"), "{v:?}");
    }

    #[test]
    fn equal_cost_counts_as_no_more() {
        assert!(cost_match_verdict(&comparison(10, 30, 0.001), 1e6, 1e6).shown());
        assert_eq!(p_value(1.264e-5), "1.3e-5");
        assert_eq!(p_value(0.4716), "0.472");
    }
}
