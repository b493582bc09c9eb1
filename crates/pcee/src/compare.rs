//! Paired comparison of two classifiers on the same test samples: the 2×2 table of per-sample
//! correctness, the error difference with a percentile-bootstrap confidence interval, and
//! McNemar's exact test (McNemar, Psychometrika 1947; the exact binomial form as in
//! scipy/statsmodels `mcnemar(exact=True)`). Used to judge "the large model beats the small one"
//! by a stated rule instead of by eye (docs/methods.md).

use crate::stats::binomial_cdf;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

/// Two classifiers A and B compared on the same N samples.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PairedComparison {
    /// Samples N.
    pub samples: usize,
    /// Samples both A and B get right.
    pub both_correct: u64,
    /// Samples only A gets right (A correct, B wrong).
    pub only_a: u64,
    /// Samples only B gets right (A wrong, B correct).
    pub only_b: u64,
    /// Samples both get wrong.
    pub both_wrong: u64,
    /// Error rate of A, a fraction in [0, 1].
    pub error_a: f64,
    /// Error rate of B, a fraction in [0, 1].
    pub error_b: f64,
    /// `error_b − error_a` (negative: B errs less), a fraction.
    pub difference: f64,
    /// Two-sided 95 % percentile-bootstrap interval `[low, high]` of `difference`, from
    /// `bootstrap` resamples of the N samples with replacement.
    pub difference_ci: [f64; 2],
    /// Resamples behind `difference_ci`.
    pub bootstrap: usize,
    /// McNemar's exact two-sided p-value on the discordant pairs (see [`mcnemar_exact_p`]).
    pub mcnemar_p: f64,
}

/// McNemar's exact two-sided p-value for `only_a` = b and `only_b` = c discordant pairs: under
/// the null (A and B err equally often) b ~ Binomial(b + c, ½), and
/// p = min(1, 2 · P(X ≤ min(b, c))). It is 1 when there is no discordant pair.
pub fn mcnemar_exact_p(only_a: u64, only_b: u64) -> f64 {
    let discordant = only_a + only_b;
    if discordant == 0 {
        return 1.0;
    }
    (2.0 * binomial_cdf(only_a.min(only_b), discordant, 0.5)).min(1.0)
}

/// Compares per-sample correctness `correct_a` and `correct_b` (`[samples]` each, the same
/// samples in the same order), with a `bootstrap`-resample interval seeded by `seed` (same seed
/// ⇒ same interval).
///
/// # Panics
/// When the slices differ in length, are empty, or `bootstrap` is 0.
pub fn compare_paired(
    correct_a: &[bool],
    correct_b: &[bool],
    bootstrap: usize,
    seed: u64,
) -> PairedComparison {
    assert_eq!(correct_a.len(), correct_b.len(), "paired samples");
    assert!(
        !correct_a.is_empty() && bootstrap > 0,
        "samples and resamples"
    );
    let n = correct_a.len();
    let mut cells = [0u64; 4]; // index: 2·a_correct + b_correct
    for (&a, &b) in correct_a.iter().zip(correct_b) {
        cells[2 * usize::from(a) + usize::from(b)] += 1;
    }
    let [both_wrong, only_b, only_a, both_correct] = cells;
    let error_a = (only_b + both_wrong) as f64 / n as f64;
    let error_b = (only_a + both_wrong) as f64 / n as f64;
    PairedComparison {
        samples: n,
        both_correct,
        only_a,
        only_b,
        both_wrong,
        error_a,
        error_b,
        difference: error_b - error_a,
        difference_ci: bootstrap_interval(correct_a, correct_b, bootstrap, seed),
        bootstrap,
        mcnemar_p: mcnemar_exact_p(only_a, only_b),
    }
}

/// The 2.5 % and 97.5 % percentiles (nearest rank) of `error_b − error_a` over `resamples`
/// bootstrap resamples: only discordant samples move the difference (+1/N when only A is right,
/// −1/N when only B is).
fn bootstrap_interval(a: &[bool], b: &[bool], resamples: usize, seed: u64) -> [f64; 2] {
    let n = a.len();
    let step: Vec<i64> = a
        .iter()
        .zip(b)
        .map(|(&a, &b)| i64::from(a) - i64::from(b))
        .collect();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let differences: Vec<f64> = (0..resamples)
        .map(|_| {
            let sum: i64 = (0..n).map(|_| step[rng.random_range(0..n)]).sum();
            sum as f64 / n as f64
        })
        .collect();
    [
        crate::stats::percentile(&differences, 0.025),
        crate::stats::percentile(&differences, 0.975),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `only_a` samples right only in A, `only_b` only in B, `both` right in both, `neither`.
    fn pairs(only_a: usize, only_b: usize, both: usize, neither: usize) -> (Vec<bool>, Vec<bool>) {
        let mut a = vec![true; only_a];
        let mut b = vec![false; only_a];
        a.extend(vec![false; only_b]);
        b.extend(vec![true; only_b]);
        a.extend(vec![true; both]);
        b.extend(vec![true; both]);
        a.extend(vec![false; neither]);
        b.extend(vec![false; neither]);
        (a, b)
    }

    #[test]
    fn mcnemar_exact_against_scipy() {
        // scipy.stats.binomtest(k, n, 0.5).pvalue (two-sided, exact), computed by hand as
        // 2·Σ_{j≤k} C(n, j)/2^n: k = 2, n = 10: 2·56/1024 = 0.109375.
        assert!((mcnemar_exact_p(2, 8) - 0.109375).abs() < 1e-12);
        assert!((mcnemar_exact_p(8, 2) - 0.109375).abs() < 1e-12);
        // k = 0, n = 5: 2/32 = 0.0625. k = 5, n = 10 (balanced): 2·638/1024 > 1 → 1.
        assert!((mcnemar_exact_p(0, 5) - 0.0625).abs() < 1e-12);
        assert_eq!(mcnemar_exact_p(5, 5), 1.0);
        assert_eq!(mcnemar_exact_p(0, 0), 1.0);
        // The tie, 209 vs 225 discordant pairs: 2·Σ_{j≤209} C(434, j)/2^434 =
        // 0.4715520862750602, summed in exact integers (Python `math.comb`).
        assert!((mcnemar_exact_p(209, 225) - 0.4715520862750602).abs() < 1e-9);
    }

    #[test]
    fn table_and_errors_by_hand() {
        // 3 only A, 7 only B, 80 both, 10 neither: error A = 17 %, error B = 13 %.
        let (a, b) = pairs(3, 7, 80, 10);
        let c = compare_paired(&a, &b, 200, 1);
        assert_eq!(
            (c.only_a, c.only_b, c.both_correct, c.both_wrong),
            (3, 7, 80, 10)
        );
        assert!((c.error_a - 0.17).abs() < 1e-12 && (c.error_b - 0.13).abs() < 1e-12);
        assert!((c.difference + 0.04).abs() < 1e-12);
        // The interval holds the point estimate; its width is checked against a formula below.
        assert!(c.difference_ci[0] <= -0.04 && -0.04 <= c.difference_ci[1]);
        assert_eq!(c, compare_paired(&a, &b, 200, 1), "seeded");
    }

    #[test]
    fn identical_classifiers_tie_exactly() {
        let (a, _) = pairs(0, 0, 30, 20);
        let c = compare_paired(&a, &a, 50, 3);
        assert_eq!(c.difference, 0.0);
        assert_eq!(c.difference_ci, [0.0, 0.0]);
        assert_eq!(c.mcnemar_p, 1.0);
    }

    #[test]
    fn bootstrap_interval_covers_the_normal_approximation() {
        // 100 only B, 40 only A in N = 10 000: d = −0.006; its standard error is
        // √((b + c)/N − d²)/√N = √(0.014 − 0.000036)/100 = 0.0011817, so the 95 % interval is
        // about −0.006 ± 0.002316. The bootstrap must agree within a few 1e-4.
        let (a, b) = pairs(40, 100, 9000, 860);
        let c = compare_paired(&a, &b, 2000, 7);
        assert!(
            (c.difference_ci[0] - (-0.008316)).abs() < 4e-4,
            "{:?}",
            c.difference_ci
        );
        assert!(
            (c.difference_ci[1] - (-0.003684)).abs() < 4e-4,
            "{:?}",
            c.difference_ci
        );
        assert!(c.mcnemar_p < 1e-5);
    }
}
