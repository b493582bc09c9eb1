//! Target-accuracy mode, the question a deployer asks: "I need at least A accuracy on average;
//! what is the least compute?" For each A over the range where the exit rule matters
//! ([`crate::targets::target_deltas`]), five ways to answer it, each calibrated on the
//! validation images and run on the test images: confidence thresholding with τ = A, PCEE with
//! δ = A, PCEE with δ chosen on validation as the cheapest reaching A (`+target`, no
//! guarantee), and PCEE with δ certified for A by conformal risk control (`+crc`) or an upper
//! confidence bound (`+ucb`, α = [`ALPHA`]). Beside the one validation/test split, the
//! violation rate (splits whose test accuracy is below A) over [`SPLITS`] random splits of the
//! pooled validation and test images, each with the sizes of the real split ([`run_trials`]).

use pcee::certify::CertifySplit;
use pcee::choose::risk::Loss;
use pcee::policy::MethodParams;
use pcee::trials::{run_trials, TrialConfig, TrialMethod, TrialRow};
use pcee::{evaluate, Binning, ExitLogits, PolicyFile, ScoreTable};
use serde::Serialize;

/// Random calibration/test splits of the violation rate.
pub const SPLITS: usize = 100;
/// Level α of the `+ucb` guarantee: P(test risk ≤ 1 − A) ≥ 1 − α.
pub const ALPHA: f64 = 0.05;
/// Seed of the splits (split s draws with seed + s).
pub const SEED: u64 = 0;

/// The methods of the table, as `pcee trials` spells them.
pub const METHODS: [&str; 5] = ["confidence", "pcee", "pcee+target", "pcee+crc", "pcee+ucb"];

/// How tables and figures name the methods of [`METHODS`] (same order).
pub const LABELS: [&str; 5] = [
    "confidence τ=A",
    "pcee δ=A",
    "pcee+target",
    "pcee+crc",
    "pcee+ucb",
];

/// One method at one target accuracy A.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TargetModeRow {
    /// The method, as [`METHODS`] spells it.
    pub method: String,
    /// The target accuracy A, a fraction.
    pub target: f64,
    /// The δ (τ for confidence) the policy ran at on the test images; `None` when no δ was
    /// certified or reached A on validation (every image then runs to the last exit).
    pub delta: Option<f64>,
    /// Test accuracy of the policy calibrated on the validation images.
    pub accuracy: f64,
    /// Whether that accuracy is ≥ A.
    pub met: bool,
    /// Its mean FLOPs per test image.
    pub mean_flops: f64,
    /// `mean_flops` as a fraction of the full network's.
    pub flops_fraction: f64,
    /// Fraction of the random splits whose test accuracy is < A.
    pub violation_rate: f64,
    /// Mean test accuracy over the random splits.
    pub split_mean_accuracy: f64,
    /// Mean FLOPs fraction over the random splits.
    pub split_flops_fraction: f64,
    /// Splits where no δ was certified or reached A (run to the last exit).
    pub infeasible_splits: usize,
}

/// Target-accuracy mode on one model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelTargetMode {
    /// The model's name.
    pub model: String,
    /// Random splits behind `violation_rate`.
    pub splits: usize,
    /// Calibration images per split (the validation set's size).
    pub calibration_samples: usize,
    /// Test images per split (the test set's size).
    pub test_samples: usize,
    /// One row per method of [`METHODS`] and target A, method-major.
    pub rows: Vec<TargetModeRow>,
}

/// Target-accuracy mode for one model from its validation and test logits (same exits and
/// cumulative FLOPs), targets `targets` (fractions in (0, 1)), `bins` bins laid out by `binning`
/// and PCEE-WS window `window`.
pub fn target_mode(
    model: &str,
    val: &ExitLogits,
    test: &ExitLogits,
    targets: &[f64],
    (bins, binning, window): (usize, Binning, usize),
) -> ModelTargetMode {
    let methods: Vec<TrialMethod> = METHODS.map(|m| m.parse().expect("a trial method")).into();
    let config = TrialConfig {
        splits: SPLITS,
        cal_fraction: val.samples() as f64 / (val.samples() + test.samples()) as f64,
        seed: SEED,
        bins,
        binning,
        params: MethodParams {
            window,
            alpha: ALPHA,
            ..MethodParams::default()
        },
        loss: Loss::Wrong,
        certify_fraction: pcee::certify::DEFAULT_CERTIFY_FRACTION,
    };
    let trials = run_trials(&pooled(val, test), &methods, targets, &config)
        .expect("splits ≥ 1 and both parts non-empty");
    let test_scores = ScoreTable::from_logits(test);
    let rows = methods
        .iter()
        .flat_map(|m| targets.iter().map(move |&a| (m, a)))
        .zip(&trials)
        .map(|((m, a), trial)| row(m, a, val, &test_scores, &config, trial))
        .collect();
    ModelTargetMode {
        model: model.to_string(),
        splits: SPLITS,
        calibration_samples: val.samples(),
        test_samples: test.samples(),
        rows,
    }
}

/// The row of method `m` at target `a`: calibrated on `val` as `pcee calibrate` would, run on
/// the `test` scores, with the random-split statistics of `trial`.
fn row(
    m: &TrialMethod,
    a: f64,
    val: &ExitLogits,
    test: &ScoreTable,
    config: &TrialConfig,
    trial: &TrialRow,
) -> TargetModeRow {
    let options = config.calibrate_options(m, a, CertifySplit::default());
    let flops = val.flops();
    let (delta, outcome) = match PolicyFile::calibrate(val, "validation", &options) {
        Ok(p) => (
            Some(p.delta.get()),
            evaluate(p.policy(p.delta).as_ref(), test, flops),
        ),
        Err(_) => (None, evaluate(&crate::measured::Never, test, flops)),
    };
    TargetModeRow {
        method: m.to_string(),
        target: a,
        delta,
        met: outcome.accuracy >= a,
        accuracy: outcome.accuracy,
        mean_flops: outcome.mean_flops,
        flops_fraction: outcome.flops_fraction,
        violation_rate: trial.violation_rate,
        split_mean_accuracy: trial.mean_accuracy,
        split_flops_fraction: trial.flops_fraction,
        infeasible_splits: trial.infeasible,
    }
}

/// The validation samples followed by the test samples, as one logits set `[exits, val + test,
/// classes]`.
fn pooled(val: &ExitLogits, test: &ExitLogits) -> ExitLogits {
    ExitLogits::concat(&[val, test]).expect("two logits sets of the same model")
}
