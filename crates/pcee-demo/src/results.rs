//! What `pcee demo` measures, as serde-serialisable types (`results.json`). Fractions are in
//! [0, 1], FLOPs are per image, times in seconds, throughputs in images per second.

use crate::targets::ModelTargets;
use crate::verdict::Verdict;
use pcee::compare::PairedComparison;
use pcee::{ExitLogits, Outcome, ReliabilityDiagram};
use serde::Serialize;

/// Everything the demo measured.
#[derive(Debug, Clone, Serialize)]
pub struct DemoResults {
    /// Validation and test set sizes.
    pub data: DataSummary,
    /// Confidence bins M of the reliability diagrams.
    pub bins: usize,
    /// How the bins are laid out: `width` or `mass` (docs/design.md §3).
    pub binning: String,
    /// PCEE-WS smoothing window w.
    pub window: usize,
    /// Images per forward pass (logits and runtime).
    pub batch: usize,
    /// The target accuracies δ of the accuracy-control tables.
    pub deltas: Vec<f64>,
    /// One entry per model, small first.
    pub models: Vec<ModelResults>,
    /// The paper's first claim on the first pair judged (`cost_matches[0]`, kept for readers of
    /// earlier `results.json`).
    pub cost_match: CostMatch,
    /// The paper's first claim: the large model with PCEE at the small one's cost, one entry per
    /// embedded pair of one recipe ([`crate::assets::PAIRS`]), in that order.
    pub cost_matches: Vec<CostMatch>,
    /// Why each pair of [`crate::assets::PAIRS`] not judged was skipped (a model not embedded).
    pub skipped_pairs: Vec<String>,
    /// Both claims judged by their rules (computed from the numbers above).
    pub verdicts: Verdicts,
    /// Wall-clock seconds of the whole demo run (loading, inference, evaluation).
    pub seconds: f64,
}

/// The two claims' verdicts.
#[derive(Debug, Clone, Serialize)]
pub struct Verdicts {
    /// First claim: the large model with PCEE errs less than the small one at no more mean
    /// FLOPs, McNemar p < 0.05 ([`crate::verdict::cost_match_verdict`]) — shown when shown on
    /// some pair, its reason naming the pairs where it is shown and each pair's numbers
    /// ([`crate::per_pair::overall_verdict`]).
    pub cost_match: Verdict,
    /// First claim on each pair alone, in the order of `cost_matches`.
    pub cost_match_per_pair: Vec<crate::per_pair::PairVerdict>,
    /// Second claim: confidence thresholding misses δ where PCEE meets it
    /// ([`crate::targets::targets_verdict`] over all models), its reason opening with the
    /// models and regimes where it is shown ([`crate::per_model::overall_verdict`]).
    pub targets: Verdict,
    /// Second claim on each model alone, with its regime, in the models' order.
    pub targets_per_model: Vec<crate::per_model::ModelVerdict>,
}

/// The images the demo used.
#[derive(Debug, Clone, Serialize)]
pub struct DataSummary {
    /// Validation images (calibration and the δ search).
    pub validation: usize,
    /// Test images (every reported accuracy).
    pub test: usize,
}

/// Calibration, accuracy control and speed of one model.
#[derive(Debug, Clone, Serialize)]
pub struct ModelResults {
    /// Preset name.
    pub name: String,
    /// Cumulative FLOPs per image of each exit `[exits]`.
    pub flops_per_exit: Vec<f64>,
    /// Calibration of each exit on the validation set `[exits]`.
    pub exits: Vec<ExitCalibration>,
    /// The model's regime: `under-confident`, `over-confident`, `calibrated` or `mixed`.
    pub regime: String,
    /// Test accuracy of the last exit (the full network).
    pub full_accuracy: f64,
    /// One row per method (confidence, pcee, pcee-ws) and δ, on the test set.
    pub control: Vec<ControlRow>,
    /// The oracle bound on the test set (the same at every δ).
    pub oracle: Outcome,
    /// Accuracy against mean FLOPs on the test set, for `confidence` and `pcee` over a fine δ grid.
    pub curve: Vec<CurvePoint>,
    /// The second claim on this model: every method over the δ range where the rule matters.
    pub targets: ModelTargets,
    /// Target-accuracy mode: the least compute for an accuracy A, five ways, with violation
    /// rates over random splits.
    pub target_mode: crate::target_mode::ModelTargetMode,
    /// Wall-clock throughput of one pass computing every exit's logits on the test set (while
    /// the logits were computed, chunks of 500 images side by side on every core,
    /// [`crate::logits::timed_logits`]; a single pass, not a timing to compare).
    pub full_images_per_second: f64,
    /// PCEE at each δ of the control table (and, for a pair's large model, its cost-match δ) with
    /// the real runtime: one row per distinct exit assignment (empty for the small model).
    pub runtime: Vec<RuntimeRow>,
    /// Validation reliability diagrams `[exits]` (for the figures; not in `results.json`).
    #[serde(skip)]
    pub diagrams: Vec<ReliabilityDiagram>,
    /// Validation logits (not in `results.json`; the CLI can write them as `.npz`).
    #[serde(skip)]
    pub val_logits: ExitLogits,
    /// Test logits (not in `results.json`; the CLI can write them as `.npz`).
    #[serde(skip)]
    pub test_logits: ExitLogits,
}

/// Calibration of one exit on the validation set.
#[derive(Debug, Clone, Serialize)]
pub struct ExitCalibration {
    /// Cumulative FLOPs per image up to this exit.
    pub flops: f64,
    /// Validation accuracy of the exit.
    pub accuracy: f64,
    /// Mean confidence (max softmax) of the exit.
    pub mean_confidence: f64,
    /// Expected calibration error (docs/design.md §3) with the demo's binning.
    pub ece: f64,
    /// ECE with M equal-width bins.
    pub ece_width: f64,
    /// ECE with at most M equal-mass bins.
    pub ece_mass: f64,
    /// Number of equal-mass bins of this exit (≤ M: ties merged).
    pub mass_bins: usize,
    /// `over-confident` (confidence − accuracy > 0.01), `under-confident` (< −0.01) or
    /// `calibrated`.
    pub regime: String,
    /// Test accuracy of the exit.
    pub test_accuracy: f64,
    /// Mean confidence of the exit on the test set.
    pub test_mean_confidence: f64,
    /// The regime on the test set (same rule as `regime`).
    pub test_regime: String,
    /// ECE on the test set with at most M equal-mass bins (the test confidences' own edges).
    pub test_ece_mass: f64,
}

/// One method at one target δ on the test set.
#[derive(Debug, Clone, Serialize)]
pub struct ControlRow {
    /// `confidence`, `pcee` or `pcee-ws`.
    pub method: String,
    /// Target accuracy δ.
    pub delta: f64,
    /// Achieved − δ (negative: missed).
    pub control_error: f64,
    /// Whether the last exit's own test accuracy reaches δ (otherwise no policy can).
    pub reachable: bool,
    /// The outcome fields of docs/design.md §3.
    pub outcome: Outcome,
    /// The same policy run with the real early-exit runtime, when measured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub measured: Option<Measured>,
}

/// One distinct exit assignment of PCEE timed with the real runtime.
#[derive(Debug, Clone, Serialize)]
pub struct RuntimeRow {
    /// The δ whose policies send every test image to the same exit (one timing serves them).
    pub deltas: Vec<f64>,
    /// What the runtime measured.
    pub measured: Measured,
}

/// Figures measured with the real early-exit runtime (stage by stage, exited samples dropped),
/// timed against the same network run to its last exit in the same run (`pcee infer`'s rule).
#[derive(Debug, Clone, Serialize)]
pub struct Measured {
    /// Accuracy of the runtime's predictions.
    pub accuracy: f64,
    /// Mean FLOPs per image actually computed, as a fraction of the full network's.
    pub flops_fraction: f64,
    /// Wall-clock images per second with early exit: median over `rounds` passes.
    pub images_per_second: f64,
    /// Images per second of the full network (every stage and head): median over `rounds`.
    pub full_images_per_second: f64,
    /// Timed rounds (one early-exit and one full pass each).
    pub rounds: usize,
    /// `images_per_second / full_images_per_second`.
    pub speedup: f64,
    /// The FLOPs ratio: the speed-up if time were proportional to FLOPs.
    pub ideal_speedup: f64,
    /// `(max − min) / median` of the early-exit pass times.
    pub spread: Option<f64>,
    /// The same for the full-network passes.
    pub full_spread: Option<f64>,
    /// Why the speed-up is noise rather than a result (`pcee_nn::runtime::noise`), when it is;
    /// then it must not be quoted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timing_unreliable_reason: Option<String>,
    /// Samples whose exit differs from the simulated evaluation (float rounding at bin edges).
    pub exit_mismatches: usize,
}

/// The large model with PCEE at the δ chosen on validation for the small model's full cost
/// (`pcee calibrate --budget-flops`), against the small model run to its last exit — both on
/// the same test images, compared pair by pair.
#[derive(Debug, Clone, Serialize)]
pub struct CostMatch {
    /// The small model's name.
    pub small_model: String,
    /// The large model's name.
    pub large_model: String,
    /// The δ chosen on the validation set by [`pcee::PolicyFile::calibrate`] with
    /// [`pcee::calibrate::Choice::Budget`]: the best validation accuracy with mean validation
    /// FLOPs ≤ the small model's full cost.
    pub delta: f64,
    /// Whether some δ kept the validation cost within the small model's.
    pub within_budget: bool,
    /// Full cost of the small model (FLOPs per image).
    pub small_flops: f64,
    /// Test error of the small model at its last exit.
    pub small_error: f64,
    /// Wall-clock images per second of the small model run to its last exit (median of the
    /// rounds of `small_measured`).
    pub small_images_per_second: f64,
    /// The small model run to its last exit through the runtime, timed in rounds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub small_measured: Option<Measured>,
    /// Mean validation FLOPs per image of the large model with PCEE at `delta`.
    pub large_val_mean_flops: f64,
    /// The large model's test outcome with PCEE at `delta`.
    pub large_outcome: Outcome,
    /// Test error of the large model with PCEE at `delta`.
    pub large_error: f64,
    /// Test error of the large model at its last exit (no early exit).
    pub large_full_error: f64,
    /// A = the small model at its last exit, B = the large model with PCEE at `delta`, on the
    /// same test images: 2×2 table, error difference B − A, 95 % bootstrap CI, McNemar's p.
    pub comparison: PairedComparison,
    /// Wall-clock images per second of the large model with PCEE, real runtime (when measured).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub large_images_per_second: Option<f64>,
    /// The large model with PCEE at `delta`, run with the real runtime on the test set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub large_measured: Option<Measured>,
}

/// One point of an accuracy-vs-FLOPs curve on the test set.
#[derive(Debug, Clone, Serialize)]
pub struct CurvePoint {
    /// `confidence` or `pcee`.
    pub method: String,
    /// Target δ (threshold for `confidence`).
    pub delta: f64,
    /// Test accuracy.
    pub accuracy: f64,
    /// Mean FLOPs per image.
    pub mean_flops: f64,
}
