//! Did a risk-controlled trial method keep its promise, beyond the noise of a finite number of
//! splits? (docs/methods.md §1, "Trials".) `+ucb` promises P(risk > ε) ≤ α, so its violation
//! rate may exceed α only by binomial noise; `+crc` promises E[risk] ≤ ε, so its mean test risk
//! may exceed ε only by the standard error of a mean.

use crate::choose::risk::Guarantee;

/// Standard errors of slack allowed before a guarantee counts as failed.
pub const NOISE_SES: f64 = 3.0;

/// The verdict on one (method, target) row of risk-controlled trials.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GuaranteeCheck {
    /// `crc` or `ucb`.
    pub guarantee: Guarantee,
    /// `ucb`: the share of all S splits in which δ was certified and the test accuracy is below
    /// the target (a split that certified nothing abstained and does not violate); `crc`: the
    /// mean test risk 1 − accuracy over the S' splits in which δ was certified. A fraction.
    pub measured: f64,
    /// The most that noise explains: `ucb` α + 3·√(α(1 − α)/S); `crc` ε + 3·s/√S', with s the
    /// standard deviation of the S' per-split test risks. A fraction.
    pub limit: f64,
    /// `measured ≤ limit`: the guarantee held (or failed only within noise).
    pub held: bool,
}

/// Checks guarantee `guarantee` at target accuracy `target` (ε = 1 − target) and level `alpha`
/// (used by `ucb`) from the per-split test `accuracies` `[splits]` and whether each split
/// certified a δ, `certified` `[splits]`. `None` when no split certified a δ (`ucb`) or fewer
/// than 2 did (`crc`, whose noise is estimated from the splits).
///
/// The splits are treated as independent repetitions; complementary parts of one pool are not
/// exactly independent, and a test part's own sampling noise adds to the violation rate, so
/// the check is a screen for optimism, not an exact test.
///
/// # Panics
/// When the slices differ in length.
pub fn check_guarantee(
    guarantee: Guarantee,
    target: f64,
    alpha: f64,
    accuracies: &[f64],
    certified: &[bool],
) -> Option<GuaranteeCheck> {
    assert_eq!(accuracies.len(), certified.len(), "one flag per split");
    let splits = accuracies.len() as f64;
    let kept: Vec<f64> = accuracies
        .iter()
        .zip(certified)
        .filter(|(_, &c)| c)
        .map(|(&a, _)| a)
        .collect();
    let (measured, limit) = match guarantee {
        Guarantee::Ucb if !kept.is_empty() => {
            let violations = kept.iter().filter(|&&a| a < target).count() as f64;
            let se = (alpha * (1.0 - alpha) / splits).sqrt();
            (violations / splits, alpha + NOISE_SES * se)
        }
        Guarantee::Crc if kept.len() >= 2 => {
            let n = kept.len() as f64;
            let mean = kept.iter().map(|a| 1.0 - a).sum::<f64>() / n;
            let var = kept.iter().map(|a| (1.0 - a - mean).powi(2)).sum::<f64>() / (n - 1.0);
            (mean, 1.0 - target + NOISE_SES * (var / n).sqrt())
        }
        _ => return None,
    };
    Some(GuaranteeCheck {
        guarantee,
        measured,
        limit,
        held: measured <= limit,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ucb_counts_certified_violations_against_binomial_noise() {
        // 100 splits, α = 0.1: limit 0.1 + 3·√(0.09/100) = 0.19. 18 violations hold, 20 fail;
        // a split that certified nothing (abstained) is no violation, even below the target.
        let mut acc = vec![0.95; 100];
        acc[..18].iter_mut().for_each(|a| *a = 0.85);
        let mut certified = vec![true; 100];
        let c = check_guarantee(Guarantee::Ucb, 0.9, 0.1, &acc, &certified).unwrap();
        assert!((c.limit - 0.19).abs() < 1e-12 && (c.measured - 0.18).abs() < 1e-12);
        assert!(c.held);
        acc[18..20].iter_mut().for_each(|a| *a = 0.85);
        let c = check_guarantee(Guarantee::Ucb, 0.9, 0.1, &acc, &certified).unwrap();
        assert!(!c.held && (c.measured - 0.2).abs() < 1e-12);
        certified[18] = false;
        certified[19] = false;
        assert!(
            check_guarantee(Guarantee::Ucb, 0.9, 0.1, &acc, &certified)
                .unwrap()
                .held
        );
        assert_eq!(
            check_guarantee(Guarantee::Ucb, 0.9, 0.1, &acc, &[false; 100]),
            None
        );
    }

    #[test]
    fn crc_compares_the_mean_risk_with_its_standard_error() {
        // Risks 0.08 and 0.14: mean 0.11, sample variance 2·0.03² = 0.0018, SE √(0.0018/2) = 0.03;
        // the limit at ε = 0.05 is 0.05 + 0.09 = 0.14 ≥ 0.11: held. A third split that
        // certified nothing is left out.
        let c = check_guarantee(
            Guarantee::Crc,
            0.95,
            0.1,
            &[0.92, 0.86, 0.5],
            &[true, true, false],
        )
        .unwrap();
        assert!((c.measured - 0.11).abs() < 1e-12, "{}", c.measured);
        assert!((c.limit - 0.14).abs() < 1e-12, "{}", c.limit);
        assert!(c.held);
        // Identical risks 0.11 > ε = 0.1 have no noise: failed.
        let c = check_guarantee(Guarantee::Crc, 0.9, 0.1, &[0.89; 5], &[true; 5]).unwrap();
        assert!(!c.held);
        assert_eq!(
            check_guarantee(Guarantee::Crc, 0.9, 0.1, &[0.89], &[true]),
            None
        );
    }
}
