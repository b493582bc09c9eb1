//! Risk-controlled choice of δ on calibration data, after Jazbec et al., "Fast yet Safe:
//! Early-Exiting with Risk Control" (NeurIPS 2024): the smallest δ (the earliest exits) whose
//! risk is certified ≤ ε = 1 − target accuracy, either in expectation (conformal risk control,
//! Angelopoulos et al., ICLR 2024) or with probability ≥ 1 − α (upper confidence bound with the
//! exact binomial tail = Learn-then-Test with fixed-sequence testing, Angelopoulos et al. 2021).

use super::candidates::{candidate_deltas, representative};
use crate::policy::{Method, MethodParams};
use crate::stats::binomial_cdf;
use crate::{exits_of, ReliabilityDiagram, ScoreTable};

/// The per-sample loss whose mean (the risk) is controlled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loss {
    /// `wrong`: 1 when the prediction at the sample's exit is wrong; risk = 1 − accuracy.
    Wrong,
    /// `gap`: 1 when the prediction at the exit is wrong but the last exit's is right (the
    /// "performance gap" risk of Jazbec et al.); risk ≤ ε means accuracy ≥ last exit's − ε.
    Gap,
}

/// The kind of guarantee.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guarantee {
    /// `crc`: E[risk on a new sample] ≤ ε (over the draw of the calibration set).
    Crc,
    /// `ucb`: P(risk ≤ ε) ≥ 1 − α (over the draw of the calibration set).
    Ucb,
}

impl Loss {
    /// `wrong` or `gap`.
    pub fn name(self) -> &'static str {
        match self {
            Loss::Wrong => "wrong",
            Loss::Gap => "gap",
        }
    }
}

impl Guarantee {
    /// `crc` or `ucb`.
    pub fn name(self) -> &'static str {
        match self {
            Guarantee::Crc => "crc",
            Guarantee::Ucb => "ucb",
        }
    }
}

/// What to control.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RiskTarget {
    /// The loss.
    pub loss: Loss,
    /// The guarantee.
    pub guarantee: Guarantee,
    /// ε in (0, 1): the largest acceptable risk (1 − the target accuracy).
    pub epsilon: f64,
    /// α in (0, 1), used by [`Guarantee::Ucb`] only.
    pub alpha: f64,
}

/// A target no δ can meet on this calibration set.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RiskError {
    /// Even the most cautious δ has too high a risk for this guarantee with these samples.
    #[error("{samples} certifying samples are too few for the {guarantee} guarantee at ε = {} (risk {risk:.4} at the most cautious δ); about {needed} certifying samples would be needed", short(*epsilon))]
    TooFewSamples {
        /// The guarantee's name.
        guarantee: &'static str,
        /// ε.
        epsilon: f64,
        /// The calibration risk at the most cautious δ.
        risk: f64,
        /// Samples that certify δ (the certify part of the calibration set).
        samples: usize,
        /// Certifying samples that would be needed at that risk.
        needed: u64,
    },
    /// The most cautious δ already has a calibration risk ≥ ε: no sample size helps.
    #[error("the calibration risk at the most cautious δ is {risk:.4}, not below ε = {}; expected a lower target accuracy (a larger ε)", short(*epsilon))]
    Unreachable {
        /// ε.
        epsilon: f64,
        /// The calibration risk at the most cautious δ.
        risk: f64,
    },
}

/// ε as a short decimal: 1 − 0.9 prints as 0.1, not 0.09999999999999998 (12 decimals kept).
fn short(epsilon: f64) -> crate::delta::Shortest {
    crate::delta::Shortest((epsilon * 1e12).round() / 1e12)
}

/// The chosen δ and the evidence for it.
#[derive(Debug, Clone, PartialEq)]
pub struct RiskChoice {
    /// The chosen δ, a fraction in [0, 1].
    pub delta: f64,
    /// The empirical risk at δ on the calibration set (the loss's mean, in [0, 1]).
    pub risk: f64,
    /// The certified quantity at δ: the CRC-inflated risk (n·R̂ + 1)/(n + 1) (≤ ε), or the UCB
    /// p-value P(Bin(n, ε) ≤ n·R̂) (≤ α).
    pub certificate: f64,
    /// How many candidate δ were considered.
    pub candidates: usize,
}

/// Chooses δ for `method` (with `params`, calibrated on `diagrams`) on the certifying `scores`
/// (for the guarantee to hold they must be exchangeable with the test data and must not have
/// built `diagrams`, unless the family is fixed: [`crate::certify`]):
/// candidates δ_1 < … < δ_m ([`candidate_deltas`]) are visited from the most cautious (δ_m)
/// down; the choice is the last one certified before the first that is not (reported as its
/// [`representative`], a short decimal giving the same policy):
/// - CRC: losses are monotonised, L̃_i(δ_j) = max_{j' ≥ j} L_i(δ_j'), so the risk is
///   non-increasing in δ; δ_j is certified when (n·R̃(δ_j) + 1)/(n + 1) ≤ ε (loss bound B = 1).
/// - UCB: δ_j is certified when P(Bin(n, ε) ≤ n·R̂(δ_j)) ≤ α (fixed-sequence testing of
///   "risk > ε", valid without monotonicity).
///
/// # Errors
/// [`RiskError`] when even δ_m is not certified: with the number of samples that would be needed,
/// or saying that its risk is already ≥ ε.
pub fn choose_delta(
    method: Method,
    params: &MethodParams,
    diagrams: &[ReliabilityDiagram],
    scores: &ScoreTable,
    target: &RiskTarget,
) -> Result<RiskChoice, RiskError> {
    let deltas = candidate_deltas(method, diagrams, params);
    let n = scores.samples();
    let mut worst = vec![false; n]; // monotonised loss of each sample (CRC)
    let mut chosen: Option<RiskChoice> = None;
    let mut cautious_risk = 0.0;
    for (j, &delta) in deltas.iter().enumerate().rev() {
        let losses = losses_at(method, params, diagrams, scores, delta, target.loss);
        let count = match target.guarantee {
            Guarantee::Crc => {
                worst.iter_mut().zip(&losses).for_each(|(w, &l)| *w |= l);
                worst.iter().filter(|&&l| l).count()
            }
            Guarantee::Ucb => losses.iter().filter(|&&l| l).count(),
        };
        let risk = count as f64 / n as f64;
        if j + 1 == deltas.len() {
            cautious_risk = risk;
        }
        let (certificate, ok) = match target.guarantee {
            Guarantee::Crc => {
                let inflated = (count as f64 + 1.0) / (n as f64 + 1.0);
                (inflated, inflated <= target.epsilon)
            }
            Guarantee::Ucb => {
                let p = binomial_cdf(count as u64, n as u64, target.epsilon);
                (p, p <= target.alpha)
            }
        };
        if !ok {
            break;
        }
        chosen = Some(RiskChoice {
            delta: representative(&deltas, j),
            risk,
            certificate,
            candidates: deltas.len(),
        });
    }
    chosen.ok_or_else(|| too_few(target, cautious_risk, n))
}

/// The losses `[samples]` of the policy at δ on the calibration scores.
fn losses_at(
    method: Method,
    params: &MethodParams,
    diagrams: &[ReliabilityDiagram],
    scores: &ScoreTable,
    delta: f64,
    loss: Loss,
) -> Vec<bool> {
    let policy = method.policy_with(diagrams, delta, params);
    let last = scores.exits() - 1;
    exits_of(policy.as_ref(), scores)
        .into_iter()
        .enumerate()
        .map(|(i, exit)| {
            let s = scores.sample(i);
            let wrong = s[exit].correct != Some(true);
            match loss {
                Loss::Wrong => wrong,
                Loss::Gap => wrong && s[last].correct == Some(true),
            }
        })
        .collect()
}

/// The error when the most cautious δ (calibration risk `risk`) is not certified with `n`
/// samples.
fn too_few(target: &RiskTarget, risk: f64, n: usize) -> RiskError {
    if risk >= target.epsilon {
        return RiskError::Unreachable {
            epsilon: target.epsilon,
            risk,
        };
    }
    RiskError::TooFewSamples {
        guarantee: target.guarantee.name(),
        epsilon: target.epsilon,
        risk,
        samples: n,
        needed: samples_needed(target, risk),
    }
}

/// The smallest n at which a calibration risk `risk` (< ε) would be certified: for CRC
/// (n·r + 1)/(n + 1) ≤ ε ⇔ n ≥ (1 − ε)/(ε − r); for UCB the first n with
/// P(Bin(n, ε) ≤ ⌊n·r⌋) ≤ α, found by doubling then bisection (close to, not exactly, the
/// least such n, as ⌊n·r⌋ makes the tail saw-toothed).
pub fn samples_needed(target: &RiskTarget, risk: f64) -> u64 {
    let eps = target.epsilon;
    match target.guarantee {
        // (less 1e-9 so that float noise in ε = 1 − target does not add a sample)
        Guarantee::Crc => ((1.0 - eps) / (eps - risk) - 1e-9).ceil().max(1.0) as u64,
        Guarantee::Ucb => {
            let ok =
                |n: u64| binomial_cdf((n as f64 * risk).floor() as u64, n, eps) <= target.alpha;
            let mut hi = 1u64;
            while !ok(hi) && hi < 1 << 40 {
                hi *= 2;
            }
            let mut lo = hi / 2;
            while lo + 1 < hi {
                let mid = (lo + hi) / 2;
                if ok(mid) {
                    hi = mid;
                } else {
                    lo = mid;
                }
            }
            hi
        }
    }
}
