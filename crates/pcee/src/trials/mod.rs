//! Repeated random calibration/test splits of one labelled logits file: the honest way to
//! compare exit methods. Per method and δ: the mean and 5th percentile of the test accuracy over
//! splits, the violation rate (splits whose test accuracy is below δ), the mean FLOPs, and for
//! risk-controlled methods whether their guarantee held beyond the noise of the repetition.

mod check;
mod method;

pub use check::{check_guarantee, GuaranteeCheck};
pub use method::{TrialMethod, TrialMethodError};

use crate::calibrate::{CalibrateOptions, CalibrationSet};
use crate::certify::{family_is_fixed, CertifyFractionError, CertifySplit};
use crate::choose::risk::Loss;
use crate::policy::{ExitPolicy, ExitThresholds, Method, MethodParams, Oracle};
use crate::temperature::fit_temperatures;
use crate::{evaluate, Binning, Delta, ExitLogits, Outcome, PolicyFile, ScoreTable};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

/// How the splits are drawn and the methods set up.
#[derive(Debug, Clone, PartialEq)]
pub struct TrialConfig {
    /// Number of random splits (≥ 1).
    pub splits: usize,
    /// Fraction in (0, 1) of the samples in each calibration part; the rest is the test part.
    pub cal_fraction: f64,
    /// Seed of split s's shuffle: a ChaCha8 generator seeded with `seed + s`.
    pub seed: u64,
    /// Bins of the reliability diagrams.
    pub bins: usize,
    /// How the bins are laid out (equal-mass edges are computed on each calibration part).
    pub binning: Binning,
    /// Window and α of the methods (`params.alpha` also serves `+ucb`).
    pub params: MethodParams,
    /// Loss of the risk-controlled methods.
    pub loss: Loss,
    /// Share in (0, 1) of each calibration part that certifies δ for `+crc`/`+ucb` (the rest
    /// fits the diagrams and temperatures), split as [`CertifySplit`] with seed `seed + s`;
    /// unused by plain `confidence+crc|ucb`, whose family is fixed (all samples certify).
    pub certify_fraction: f64,
}

impl TrialConfig {
    /// How trial method `m` calibrates for the grid value `delta` (a fraction in [0, 1]) with
    /// these bins, binning, parameters and loss; risk control splits as `certify`.
    ///
    /// # Panics
    /// When `delta` is outside [0, 1].
    pub fn calibrate_options(
        &self,
        m: &TrialMethod,
        delta: f64,
        certify: CertifySplit,
    ) -> CalibrateOptions {
        CalibrateOptions {
            method: m.method,
            bins: self.bins,
            binning: self.binning,
            params: self.params.clone(),
            temperature: m.temperature,
            delta: Delta::new(delta).expect("trial δ lie in [0, 1]"),
            choice: m.choice(delta, self.loss, self.params.alpha, certify),
        }
    }
}

/// Why trials cannot run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TrialError {
    /// No splits asked for.
    #[error("0 splits; expected at least 1")]
    Splits,
    /// The calibration fraction leaves a part empty.
    #[error("{fraction} gives {cal} calibration and {test} test samples of {samples}; expected a fraction in (0, 1) leaving both parts non-empty")]
    Fraction {
        /// The fraction asked for.
        fraction: f64,
        /// Samples in the file.
        samples: usize,
        /// Calibration samples it gives.
        cal: usize,
        /// Test samples it gives.
        test: usize,
    },
    /// The certify fraction leaves the fit or certify part of a calibration part empty.
    #[error(transparent)]
    CertifyFraction(#[from] CertifyFractionError),
}

/// One (method, δ) of a trial: statistics over the splits.
#[derive(Debug, Clone, PartialEq)]
pub struct TrialRow {
    /// The method.
    pub method: TrialMethod,
    /// The target accuracy δ in [0, 1].
    pub delta: f64,
    /// Test accuracy `[splits]`, in split order.
    pub accuracies: Vec<f64>,
    /// Mean test accuracy over splits, in [0, 1].
    pub mean_accuracy: f64,
    /// 5th percentile of the test accuracy over splits (nearest rank: the ⌈0.05·S⌉-th smallest).
    pub p5_accuracy: f64,
    /// Fraction of splits whose test accuracy is < δ, in [0, 1].
    pub violation_rate: f64,
    /// Mean over splits of the mean FLOPs per test sample.
    pub mean_flops: f64,
    /// `mean_flops` / the last exit's cost, in [0, 1].
    pub flops_fraction: f64,
    /// Mean over splits of the δ the policy ran at (the chosen δ for `+target`/`+crc`/`+ucb`).
    pub mean_policy_delta: f64,
    /// Splits where no δ was certified (`+crc`/`+ucb`) or reached the target on the calibration
    /// part (`+target`), and every sample went to the last exit.
    pub infeasible: usize,
    /// For `+crc`/`+ucb`: whether the guarantee held beyond the noise of the splits
    /// ([`check_guarantee`]); `None` for other methods or too few certified splits.
    pub guarantee: Option<GuaranteeCheck>,
}

/// Runs `config.splits` random splits of `logits` and, for each trial method and each δ of
/// `deltas` (fractions in [0, 1]), calibrates on the calibration part and evaluates on the test
/// part (cumulative FLOPs of the file). Splits run in parallel; the result depends only on the
/// inputs and the seed. Rows are grouped by method, in the order given.
///
/// # Errors
/// [`TrialError`] for 0 splits, or a calibration or certify fraction leaving a part empty.
pub fn run_trials(
    logits: &ExitLogits,
    methods: &[TrialMethod],
    deltas: &[f64],
    config: &TrialConfig,
) -> Result<Vec<TrialRow>, TrialError> {
    if config.splits == 0 {
        return Err(TrialError::Splits);
    }
    let n = logits.samples();
    let cal = (config.cal_fraction * n as f64).round() as usize;
    if !(config.cal_fraction > 0.0 && config.cal_fraction < 1.0) || cal == 0 || cal >= n {
        return Err(TrialError::Fraction {
            fraction: config.cal_fraction,
            samples: n,
            cal: cal.min(n),
            test: n - cal.min(n),
        });
    }
    if methods.iter().any(needs_held_out) {
        certify_split(config, 0).sizes(cal)?;
    }
    let raw = ScoreTable::from_logits(logits);
    let per_split: Vec<Vec<(Outcome, f64, bool)>> = (0..config.splits)
        .into_par_iter()
        .map(|s| one_split(logits, &raw, methods, deltas, config, s, cal))
        .collect();
    Ok(summarise(
        methods,
        deltas,
        &per_split,
        logits.flops(),
        config.params.alpha,
    ))
}

/// Whether trial method `m` certifies δ on a held-out part of the calibration part: risk
/// control of a family built on the data.
fn needs_held_out(m: &TrialMethod) -> bool {
    m.guarantee.is_some() && !family_is_fixed(m.method, m.temperature)
}

/// The fit/certify split of split `s`'s calibration part.
fn certify_split(config: &TrialConfig, s: usize) -> CertifySplit {
    CertifySplit {
        fraction: config.certify_fraction,
        seed: config.seed.wrapping_add(s as u64),
    }
}

/// A calibration set and the test part's scores, scored alike (same temperatures).
type Prepared = (CalibrationSet, ScoreTable);

/// The outcome, δ used and infeasibility of every (method, δ) on split `s`.
fn one_split(
    logits: &ExitLogits,
    raw: &ScoreTable,
    methods: &[TrialMethod],
    deltas: &[f64],
    config: &TrialConfig,
    s: usize,
    cal: usize,
) -> Vec<(Outcome, f64, bool)> {
    let mut order: Vec<usize> = (0..logits.samples()).collect();
    order.shuffle(&mut ChaCha8Rng::seed_from_u64(
        config.seed.wrapping_add(s as u64),
    ));
    let (cal_idx, test_idx) = order.split_at(cal);
    // [temperature][held out]: only the variants some method uses are prepared.
    let prepared: [[Option<Prepared>; 2]; 2] = [false, true].map(|ts| {
        [false, true].map(|held| {
            methods
                .iter()
                .any(|m| m.temperature == ts && needs_held_out(m) == held)
                .then(|| prepare(logits, raw, config, s, (cal_idx, test_idx), ts, held))
        })
    });
    let mut out = Vec::with_capacity(methods.len() * deltas.len());
    for m in methods {
        let (set, test_scores) = prepared[usize::from(m.temperature)]
            [usize::from(needs_held_out(m))]
        .as_ref()
        .expect("prepared for the methods");
        for &delta in deltas {
            let (policy, used, infeasible) = policy_for(m, delta, set, config);
            out.push((
                evaluate(policy.as_ref(), test_scores, logits.flops()),
                used,
                infeasible,
            ));
        }
    }
    out
}

/// The calibration set of split `s` (`parts` = its calibration and test indices): on the whole
/// calibration part, or (`held`) fitted on its fit part with a held-out certify part; with
/// temperatures fitted on the samples the diagrams are built on when `ts`. The test scores use
/// the same temperatures.
fn prepare(
    logits: &ExitLogits,
    raw: &ScoreTable,
    config: &TrialConfig,
    s: usize,
    (cal_idx, test_idx): (&[usize], &[usize]),
    ts: bool,
    held: bool,
) -> Prepared {
    let split = certify_split(config, s);
    let (fit_idx, certify_idx) = if held {
        split.split(cal_idx).expect("sizes checked by run_trials")
    } else {
        (cal_idx.to_vec(), Vec::new())
    };
    let temperatures = ts.then(|| fit_temperatures(logits, Some(&fit_idx)));
    let scaled = temperatures
        .as_ref()
        .map(|t| ScoreTable::from_logits_scaled(logits, t));
    let scores = scaled.as_ref().unwrap_or(raw);
    let set = CalibrationSet::from_scores(
        scores.select(&fit_idx),
        logits.flops(),
        temperatures,
        config.bins,
        "calibration part",
    )
    .binned(config.binning);
    let set = match held {
        true => set.with_certify(scores.select(&certify_idx), split),
        false => set,
    };
    (set, scores.select(test_idx))
}

/// The policy of trial method `m` at δ calibrated on `set` by [`PolicyFile::calibrate_on`],
/// the δ it runs at, and whether choosing δ failed (no δ certified, or none reaching the target
/// on the calibration part: then every sample goes to the last exit).
/// The oracle, a bound, is not a policy file and is built directly.
fn policy_for(
    m: &TrialMethod,
    delta: f64,
    set: &CalibrationSet,
    config: &TrialConfig,
) -> (Box<dyn ExitPolicy>, f64, bool) {
    if m.method == Method::Oracle {
        return (Box::new(Oracle), delta, false);
    }
    let certify = set
        .certify
        .as_ref()
        .map_or_else(CertifySplit::default, |part| part.split);
    let options = config.calibrate_options(m, delta, certify);
    match PolicyFile::calibrate_on(set, &options) {
        Ok(policy) => (policy.policy(policy.delta), policy.delta.get(), false),
        Err(_) => {
            let never = ExitThresholds {
                thresholds: vec![2.0; set.flops.len() - 1],
            };
            (Box::new(never), 1.0, true)
        }
    }
}

/// The rows from the per-split results `[splits][methods × deltas]`; `alpha` is the level of
/// `+ucb`.
fn summarise(
    methods: &[TrialMethod],
    deltas: &[f64],
    per_split: &[Vec<(Outcome, f64, bool)>],
    flops: &[f64],
    alpha: f64,
) -> Vec<TrialRow> {
    let splits = per_split.len() as f64;
    let mut rows = Vec::with_capacity(methods.len() * deltas.len());
    for (mi, &method) in methods.iter().enumerate() {
        for (di, &delta) in deltas.iter().enumerate() {
            let cell = |s: &Vec<(Outcome, f64, bool)>| s[mi * deltas.len() + di].clone();
            let results: Vec<(Outcome, f64, bool)> = per_split.iter().map(cell).collect();
            let accuracies: Vec<f64> = results.iter().map(|r| r.0.accuracy).collect();
            let mean = |f: &dyn Fn(&(Outcome, f64, bool)) -> f64| {
                results.iter().map(f).sum::<f64>() / splits
            };
            let mean_flops = mean(&|r| r.0.mean_flops);
            rows.push(TrialRow {
                method,
                delta,
                mean_accuracy: mean(&|r| r.0.accuracy),
                p5_accuracy: crate::stats::percentile(&accuracies, 0.05),
                violation_rate: mean(&|r| f64::from(u8::from(r.0.accuracy < delta))),
                mean_flops,
                flops_fraction: mean_flops / flops[flops.len() - 1],
                mean_policy_delta: mean(&|r| r.1),
                infeasible: results.iter().filter(|r| r.2).count(),
                guarantee: method.guarantee.and_then(|g| {
                    let certified: Vec<bool> = results.iter().map(|r| !r.2).collect();
                    check_guarantee(g, delta, alpha, &accuracies, &certified)
                }),
                accuracies,
            });
        }
    }
    rows
}
