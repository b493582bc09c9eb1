//! Exact binomial statistics for guarantees: the one-sided Clopper–Pearson lower bound of an
//! accuracy and the binomial tail, both from `statrs` (regularised incomplete beta function).

use statrs::distribution::{Beta, Binomial, ContinuousCDF, DiscreteCDF};

/// The smallest level α a caller may ask for. Far below any practical α; below it the
/// quantiles of the tests that spend α (the monitor divides it further, test by test) leave the
/// range where `statrs`' inverse beta function converges.
pub const MIN_ALPHA: f64 = 1e-10;

/// A level α that is not in [[`MIN_ALPHA`], 1).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0} is not a valid level α; expected a number from 1e-10 to below 1 (e.g. 0.05)")]
pub struct AlphaError(pub f64);

/// Checks a level α asked for by a caller (the allowed probability of missing a guarantee):
/// in [[`MIN_ALPHA`], 1).
///
/// # Errors
/// [`AlphaError`] when α is NaN, below [`MIN_ALPHA`] or ≥ 1.
pub fn check_alpha(alpha: f64) -> Result<f64, AlphaError> {
    if (MIN_ALPHA..1.0).contains(&alpha) {
        Ok(alpha)
    } else {
        Err(AlphaError(alpha))
    }
}

/// The one-sided Clopper–Pearson lower confidence bound, at level 1 − α, of a success
/// probability p after `correct` = k successes in `count` = n trials (Clopper & Pearson,
/// Biometrika 1934): the α-quantile of Beta(k, n − k + 1), and 0 when k = 0. A fraction in
/// [0, 1]; P(bound > p) ≤ α for every p. `count` = 0 gives 0.
///
/// # Panics
/// When `correct > count` or α is not in (0, 1) (a caller's α: check it with
/// [`check_alpha`]; levels derived from it, such as the monitor's spent levels, may be smaller).
pub fn clopper_pearson_lower(correct: u64, count: u64, alpha: f64) -> f64 {
    assert!(correct <= count, "correct ≤ count");
    assert!(alpha > 0.0 && alpha < 1.0, "α in (0, 1)");
    if correct == 0 {
        return 0.0;
    }
    let beta = Beta::new(correct as f64, (count - correct + 1) as f64).expect("shapes > 0");
    beta.inverse_cdf(alpha).clamp(0.0, 1.0)
}

/// The binomial lower tail P(X ≤ `k`) for X ~ Binomial(`n`, `p`), a probability in [0, 1]
/// (1 when k ≥ n). This is the exact p-value of the test of "risk > p" after observing k losses
/// in n samples, used by the Learn-then-Test choice of δ (Angelopoulos et al. 2021; Jazbec et
/// al., NeurIPS 2024).
///
/// # Panics
/// When `p` is not in [0, 1].
pub fn binomial_cdf(k: u64, n: u64, p: f64) -> f64 {
    Binomial::new(p, n).expect("p in [0, 1]").cdf(k)
}

/// The q-quantile of `values` by nearest rank: the ⌈q·S⌉-th smallest (the smallest when
/// q·S ≤ 1).
///
/// # Panics
/// When `values` is empty.
pub fn percentile(values: &[f64], q: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((q * sorted.len() as f64).ceil() as usize).max(1);
    sorted[rank - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// P(X ≥ k) for X ~ Binomial(n, p), by the finite sum Σ_{j ≥ k} C(n, j) p^j (1 − p)^{n − j}
    /// (independent of the incomplete beta function).
    fn upper_tail_by_sum(k: u64, n: u64, p: f64) -> f64 {
        let mut choose = 1.0f64; // C(n, 0)
        let mut sum = 0.0;
        for j in 0..=n {
            if j >= k {
                sum += choose * p.powi(j as i32) * (1.0 - p).powi((n - j) as i32);
            }
            choose = choose * (n - j) as f64 / (j + 1) as f64;
        }
        sum
    }

    #[test]
    fn clopper_pearson_closed_forms() {
        // k = n: Beta(n, 1) has CDF x^n, so the bound is α^(1/n); 0.05^(1/10) = 0.741134.
        assert!((clopper_pearson_lower(10, 10, 0.05) - 0.05f64.powf(0.1)).abs() < 1e-9);
        assert!((clopper_pearson_lower(10, 10, 0.05) - 0.741134).abs() < 1e-6);
        // k = 1: Beta(1, n) has CDF 1 − (1 − x)^n, so the bound is 1 − (1 − α)^(1/n).
        assert!((clopper_pearson_lower(1, 10, 0.05) - (1.0 - 0.95f64.powf(0.1))).abs() < 1e-9);
        assert_eq!(clopper_pearson_lower(0, 10, 0.05), 0.0);
        assert_eq!(clopper_pearson_lower(0, 0, 0.05), 0.0);
    }

    #[test]
    fn clopper_pearson_published_values() {
        // R: binom.test(7, 10)$conf.int = 0.3475471 0.9332605 (two-sided 95 %: the lower end
        // is the one-sided bound at α = 0.025). The classic textbook example.
        assert!((clopper_pearson_lower(7, 10, 0.025) - 0.3475471).abs() < 1e-6);
        // R documentation of binom.test (Mendel's peas): binom.test(c(682, 243), p = 3/4)
        // gives the 95 % interval 0.7076683 0.7654066.
        assert!((clopper_pearson_lower(682, 925, 0.025) - 0.7076683).abs() < 1e-6);
    }

    #[test]
    fn clopper_pearson_solves_the_binomial_tail_equation() {
        // The lower bound p_L solves P(Bin(n, p_L) ≥ k) = α.
        for (k, n, alpha) in [(7, 10, 0.05), (45, 50, 0.05), (90, 100, 0.1), (3, 40, 0.01)] {
            let lower = clopper_pearson_lower(k, n, alpha);
            assert!(
                (upper_tail_by_sum(k, n, lower) - alpha).abs() < 1e-7,
                "{k}/{n}"
            );
        }
    }

    #[test]
    fn binomial_cdf_against_sums() {
        // P(Bin(10, 0.5) ≤ 2) = (1 + 10 + 45) / 1024.
        assert!((binomial_cdf(2, 10, 0.5) - 56.0 / 1024.0).abs() < 1e-12);
        // P(Bin(50, 0.05) ≤ 0) = 0.95^50.
        assert!((binomial_cdf(0, 50, 0.05) - 0.95f64.powi(50)).abs() < 1e-12);
        assert!((binomial_cdf(5, 100, 0.1) - (1.0 - upper_tail_by_sum(6, 100, 0.1))).abs() < 1e-9);
        assert_eq!(binomial_cdf(10, 10, 0.3), 1.0);
    }

    #[test]
    fn alpha_must_be_strictly_inside() {
        for bad in [0.0, 1.0, -0.1, 1.5, f64::NAN] {
            assert!(check_alpha(bad).is_err(), "{bad}");
        }
        assert_eq!(check_alpha(0.05), Ok(0.05));
    }
}
