//! Fit and certify (docs/methods.md §1, "Fit and certify"): risk control (conformal risk
//! control, Learn-then-Test) promises its guarantee only for a family of policies fixed before
//! the calibration losses are drawn. A PCEE policy is built from reliability diagrams (and
//! temperatures) fitted on data, so the calibration samples are split at random into a *fit*
//! part, which builds the family, and a disjoint *certify* part, on which δ is certified.
//! Plain confidence thresholding is a family fixed in advance: every sample may certify.

use crate::policy::Method;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The default share of the calibration samples that certify (the rest fit), chosen from the
/// measurements of docs/methods.md §4.
pub const DEFAULT_CERTIFY_FRACTION: f64 = 0.5;

/// How the calibration samples are split into a fit and a certify part.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CertifySplit {
    /// Share f in (0, 1) of the calibration samples that certify: round(f·n) of n.
    pub fraction: f64,
    /// Seed of the ChaCha8 shuffle that draws the parts.
    pub seed: u64,
}

impl Default for CertifySplit {
    fn default() -> Self {
        CertifySplit {
            fraction: DEFAULT_CERTIFY_FRACTION,
            seed: 0,
        }
    }
}

/// A certify fraction that leaves the fit or the certify part empty.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{fraction} of {samples} calibration samples leaves {fit} to fit the diagrams and {certify} to certify δ; expected a fraction in (0, 1) leaving both parts non-empty")]
pub struct CertifyFractionError {
    /// The fraction asked for.
    pub fraction: f64,
    /// Calibration samples to split.
    pub samples: usize,
    /// Samples it leaves to fit.
    pub fit: usize,
    /// Samples it leaves to certify.
    pub certify: usize,
}

impl CertifySplit {
    /// Sizes `(fit, certify)` of the parts of `samples` calibration samples: certify =
    /// round(fraction·samples), fit = the rest.
    ///
    /// # Errors
    /// [`CertifyFractionError`] when the fraction is not in (0, 1) or a part is empty.
    pub fn sizes(&self, samples: usize) -> Result<(usize, usize), CertifyFractionError> {
        let certify = (self.fraction * samples as f64).round();
        let certify = if certify.is_finite() {
            (certify.max(0.0) as usize).min(samples)
        } else {
            0
        };
        let fit = samples - certify;
        let inside = self.fraction > 0.0 && self.fraction < 1.0;
        if !inside || fit == 0 || certify == 0 {
            return Err(CertifyFractionError {
                fraction: self.fraction,
                samples,
                fit,
                certify,
            });
        }
        Ok((fit, certify))
    }

    /// Splits the calibration samples `indices` into `(fit, certify)`: a copy of `indices`
    /// shuffled with ChaCha8 seeded [`CertifySplit::seed`]; its first n − round(f·n) entries
    /// fit, the remaining round(f·n) certify. Disjoint, and together exactly `indices`.
    ///
    /// # Errors
    /// As [`CertifySplit::sizes`].
    pub fn split(
        &self,
        indices: &[usize],
    ) -> Result<(Vec<usize>, Vec<usize>), CertifyFractionError> {
        let (fit, _) = self.sizes(indices.len())?;
        let mut order = indices.to_vec();
        order.shuffle(&mut ChaCha8Rng::seed_from_u64(self.seed));
        let certify = order.split_off(fit);
        Ok((order, certify))
    }
}

/// Whether the family of policies that risk control chooses from is fixed before any
/// calibration data is seen, so that every calibration sample may certify: only plain
/// confidence thresholding (its candidate thresholds are a fixed grid). With temperature
/// scaling (fitted on data), and for every diagram-based method, it is not.
pub fn family_is_fixed(method: Method, temperature: bool) -> bool {
    method == Method::Confidence && !temperature
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_disjoint_complete_and_sized_by_rounding() {
        let indices: Vec<usize> = (100..111).collect(); // 11 samples
        let split = CertifySplit {
            fraction: 0.3,
            seed: 4,
        };
        // round(0.3·11) = round(3.3) = 3 certify, 8 fit.
        assert_eq!(split.sizes(11), Ok((8, 3)));
        let (fit, certify) = split.split(&indices).unwrap();
        assert_eq!((fit.len(), certify.len()), (8, 3));
        let mut all: Vec<usize> = fit.iter().chain(&certify).copied().collect();
        all.sort_unstable();
        assert_eq!(all, indices);
        assert_eq!(split.split(&indices).unwrap(), (fit.clone(), certify));
        let other = CertifySplit { seed: 5, ..split };
        assert_ne!(other.split(&indices).unwrap().0, fit);
    }

    #[test]
    fn a_fraction_leaving_a_part_empty_is_refused() {
        for (fraction, n) in [
            (0.0, 10),
            (1.0, 10),
            (0.01, 10),
            (0.99, 10),
            (f64::NAN, 10),
            (0.5, 1),
        ] {
            let split = CertifySplit { fraction, seed: 0 };
            assert!(split.sizes(n).is_err(), "{fraction} of {n}");
        }
        let err = CertifySplit {
            fraction: 0.01,
            seed: 0,
        }
        .sizes(10)
        .unwrap_err();
        assert_eq!((err.fit, err.certify), (10, 0));
    }

    #[test]
    fn only_plain_confidence_is_a_fixed_family() {
        assert!(family_is_fixed(Method::Confidence, false));
        assert!(!family_is_fixed(Method::Confidence, true));
        for m in [Method::Pcee, Method::PceeWs, Method::PceeLcb] {
            assert!(!family_is_fixed(m, false));
        }
    }
}
