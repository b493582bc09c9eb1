//! `pcee demo` as a library function (its own crate, so users of `pcee-nn` do not compile the
//! embedded models and images): the paper's two claims reproduced on the embedded default
//! ([`assets`]) — calibration of every exit, accuracy control at each target δ, and the large
//! model with PCEE at the small model's cost. [`run`] returns [`DemoResults`]; the CLI only
//! prints and writes them.

pub mod assets;
pub mod calibration;
pub mod control;
pub mod logits;
pub mod measured;
pub mod results;
pub mod targets;
pub mod verdict;

pub use results::{ControlRow, CostMatch, DemoResults, ExitCalibration, Measured, ModelResults};

use pcee::choose::budget::best_delta_for_budget;
use pcee::{
    evaluate, reliability_diagrams_binned, Binning, ExitLogits, Method, Regime, ScoreTable,
};
use pcee_nn::burn::tensor::Device;
use pcee_nn::error::{NnError, Result};
use pcee_nn::model::Model;
use std::time::Instant;

/// Receives the demo's progress, counted in images run through a network.
pub trait Progress {
    /// The work ahead: `total` images in all.
    fn start(&mut self, total: u64);
    /// `images` more were done, while doing `what` (e.g. `msdnet-large: test logits`).
    fn advance(&mut self, images: u64, what: &str);
}

/// A [`Progress`] that ignores everything.
pub struct NoProgress;

impl Progress for NoProgress {
    fn start(&mut self, _: u64) {}
    fn advance(&mut self, _: u64, _: &str) {}
}

/// What to run.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Target accuracies δ, each in [0, 1].
    pub deltas: Vec<f64>,
    /// Confidence bins M (≥ 1).
    pub bins: usize,
    /// How the bins are laid out (equal-mass edges come from each model's validation logits).
    pub binning: Binning,
    /// PCEE-WS smoothing window w.
    pub window: usize,
    /// Images per forward pass (≥ 1).
    pub batch: usize,
    /// Only the first N validation and test images (quick runs, tests); `None`: all.
    pub limit: Option<usize>,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions {
            deltas: DEFAULT_DELTAS.to_vec(),
            bins: 10,
            binning: Binning::default(),
            window: 1,
            batch: 256,
            limit: None,
        }
    }
}

/// The default target accuracies of the control table.
pub const DEFAULT_DELTAS: [f64; 6] = [0.80, 0.85, 0.90, 0.93, 0.95, 0.97];

/// Runs the demo on the embedded models and images.
///
/// # Errors
/// [`NnError::Invalid`] naming `--deltas`, `--bins`, `--batch` or `--limit` for a bad option;
/// [`NnError::Model`] / [`NnError::DataMalformed`] for corrupt embedded assets.
pub fn run(options: &DemoOptions, progress: &mut dyn Progress) -> Result<DemoResults> {
    check(options)?;
    let start = Instant::now();
    let device = pcee_nn::default_device();
    let limit = options.limit.unwrap_or(usize::MAX);
    let (small, large) = (assets::model(assets::SMALL)?, assets::model(assets::LARGE)?);
    let (val, test) = (
        assets::validation()?.take(limit),
        assets::test()?.take(limit),
    );
    progress.start(total_images(val.len(), test.len(), options.deltas.len()));
    let data = Data {
        val: &val,
        test: &test,
        device: &device,
    };
    let mut models = Vec::new();
    let mut large_model = None;
    for embedded in assets::MODELS {
        let (model, _) = embedded.load(&device)?;
        let mut results = model_results(embedded.name, &model, &data, options, progress)?;
        if embedded.name != assets::SMALL {
            measure_control(&model, &mut results, &data, options, progress);
        }
        if embedded.name == large.name {
            large_model = Some(model);
        }
        models.push(results);
    }
    let find = |name: &str| {
        models
            .iter()
            .find(|m| m.name == name)
            .expect("every embedded model ran")
    };
    let mut cost_match = cost_match_of(find(small.name), find(large.name));
    let large_results = find(large.name);
    let policy = Method::Pcee.policy(&large_results.diagrams, cost_match.delta, 0);
    let scores = ScoreTable::from_logits(&large_results.test_logits);
    let model = large_model.expect("the large model ran");
    let what = format!("{}: runtime at the small model's cost", large.name);
    let m = measured::measure_with_progress(
        &model,
        policy.as_ref(),
        &test,
        &scores,
        &large_results.flops_per_exit,
        options.batch,
        &device,
        progress,
        &what,
    );
    cost_match.large_images_per_second = Some(m.images_per_second);
    cost_match.large_measured = Some(m);
    Ok(DemoResults {
        data: results::DataSummary {
            validation: val.len(),
            test: test.len(),
        },
        bins: options.bins,
        binning: options.binning.to_string(),
        window: options.window,
        batch: options.batch,
        deltas: options.deltas.clone(),
        models,
        cost_match,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// Images run through a network in all: validation and test logits of every model, then for
/// every model but the small one a runtime pass per δ, and one more for the cost match.
fn total_images(val: usize, test: usize, deltas: usize) -> u64 {
    let models = assets::MODELS.len();
    ((val + test) * models + test * deltas * (models - 1) + test) as u64
}

/// Runs PCEE at every δ of `results.control` with the real runtime on the test images and
/// stores what it measured in the `pcee` rows.
fn measure_control(
    model: &Model,
    results: &mut ModelResults,
    data: &Data<'_>,
    options: &DemoOptions,
    progress: &mut dyn Progress,
) {
    let scores = ScoreTable::from_logits(&results.test_logits);
    for row in results
        .control
        .iter_mut()
        .filter(|r| r.method == Method::Pcee.name())
    {
        let policy = Method::Pcee.policy(&results.diagrams, row.delta, 0);
        let what = format!("{}: runtime, PCEE δ = {}", results.name, row.delta);
        row.measured = Some(measured::measure_with_progress(
            model,
            policy.as_ref(),
            data.test,
            &scores,
            &results.flops_per_exit,
            options.batch,
            data.device,
            progress,
            &what,
        ));
    }
}

fn check(options: &DemoOptions) -> Result<()> {
    if let Some(d) = options.deltas.iter().find(|d| !(0.0..=1.0).contains(*d)) {
        return Err(NnError::invalid(
            "--deltas",
            format!("{d} is outside [0, 1]; expected fractions such as 0.9"),
        ));
    }
    if options.deltas.is_empty() {
        return Err(NnError::invalid(
            "--deltas",
            "empty list; expected e.g. 0.8,0.9",
        ));
    }
    if options.bins == 0 {
        return Err(NnError::invalid("--bins", "0 bins; expected at least 1"));
    }
    if options.batch == 0 || options.limit == Some(0) {
        return Err(NnError::invalid(
            "--batch/--limit",
            "0; expected at least 1",
        ));
    }
    Ok(())
}

struct Data<'a> {
    val: &'a pcee_nn::data::Dataset,
    test: &'a pcee_nn::data::Dataset,
    device: &'a Device,
}

fn model_results(
    name: &str,
    model: &Model,
    data: &Data<'_>,
    options: &DemoOptions,
    progress: &mut dyn Progress,
) -> Result<ModelResults> {
    let what = |split| format!("{name}: {split} logits");
    let (val_logits, _) = logits::timed_logits(
        model,
        data.val,
        options.batch,
        data.device,
        progress,
        &what("validation"),
    )?;
    let (test_logits, seconds) = logits::timed_logits(
        model,
        data.test,
        options.batch,
        data.device,
        progress,
        &what("test"),
    )?;
    let flops = model.flops_per_exit();
    let val_scores = ScoreTable::from_logits(&val_logits);
    let [width, mass] =
        Binning::ALL.map(|b| reliability_diagrams_binned(&val_scores, options.bins, b));
    let diagrams = match options.binning {
        Binning::Width => width.clone(),
        Binning::Mass => mass.clone(),
    };
    let test_scores = ScoreTable::from_logits(&test_logits);
    let test_accuracy = exit_accuracies(&test_logits);
    let full_accuracy = *test_accuracy.last().expect("at least 2 exits");
    let exits = calibration::exit_calibration(&diagrams, [&width, &mass], &flops, &test_accuracy);
    Ok(ModelResults {
        name: name.to_string(),
        regime: Regime::of_model(&regimes(&exits)),
        control: control::control_rows(
            &diagrams,
            &test_scores,
            &flops,
            &options.deltas,
            options.window,
            full_accuracy,
        ),
        oracle: control::oracle(&test_scores, &flops),
        curve: curve(&diagrams, &test_scores, &flops),
        full_images_per_second: test_logits.samples() as f64 / seconds.max(1e-9),
        flops_per_exit: flops,
        exits,
        full_accuracy,
        diagrams,
        val_logits,
        test_logits,
    })
}

/// The regime of every exit `[exits]`.
fn regimes(exits: &[ExitCalibration]) -> Vec<Regime> {
    exits
        .iter()
        .map(|e| Regime::of(e.accuracy, e.mean_confidence))
        .collect()
}

/// Test accuracy of every exit `[exits]`.
fn exit_accuracies(logits: &ExitLogits) -> Vec<f64> {
    let scores = ScoreTable::from_logits(logits);
    (0..scores.exits())
        .map(|l| {
            let correct = (0..scores.samples())
                .filter(|&i| scores.sample(i)[l].correct == Some(true))
                .count();
            correct as f64 / scores.samples() as f64
        })
        .collect()
}

/// δ of the accuracy-vs-FLOPs curves: 0.50, 0.51, …, 0.99, then 0.991 … 0.999.
fn curve_deltas() -> Vec<f64> {
    let coarse = (50..100).map(|i| i as f64 / 100.0);
    coarse
        .chain((991..1000).map(|i| i as f64 / 1000.0))
        .collect()
}

fn curve(
    diagrams: &[pcee::ReliabilityDiagram],
    test: &ScoreTable,
    flops: &[f64],
) -> Vec<results::CurvePoint> {
    let methods = [Method::Confidence, Method::Pcee];
    pcee::sweep(diagrams, test, flops, &methods, &curve_deltas(), 0)
        .into_iter()
        .map(|r| results::CurvePoint {
            method: r.method.name().to_string(),
            delta: r.delta,
            accuracy: r.outcome.accuracy,
            mean_flops: r.outcome.mean_flops,
        })
        .collect()
}

fn cost_match_of(small: &ModelResults, large: &ModelResults) -> CostMatch {
    let small_flops = *small.flops_per_exit.last().expect("at least 2 exits");
    let val = ScoreTable::from_logits(&large.val_logits);
    let params = pcee::policy::MethodParams::default();
    let fit = best_delta_for_budget(
        Method::Pcee,
        &params,
        &large.diagrams,
        &val,
        &large.flops_per_exit,
        small_flops,
    );
    // A budget below the large model's first exit cannot be met: report δ = 0 (every image at
    // exit 0, the cheapest policy) and say so.
    let (delta, large_val_mean_flops, within_budget) = match fit {
        Ok(c) => (c.delta, c.calibration.mean_flops, true),
        Err(_) => (0.0, large.flops_per_exit[0], false),
    };
    let policy = Method::Pcee.policy(&large.diagrams, delta, 0);
    let large_outcome = evaluate(
        policy.as_ref(),
        &ScoreTable::from_logits(&large.test_logits),
        &large.flops_per_exit,
    );
    CostMatch {
        small_model: small.name.clone(),
        large_model: large.name.clone(),
        delta,
        within_budget,
        small_flops,
        small_error: 1.0 - small.full_accuracy,
        small_images_per_second: small.full_images_per_second,
        large_val_mean_flops,
        large_error: 1.0 - large_outcome.accuracy,
        large_outcome,
        large_full_error: 1.0 - large.full_accuracy,
        large_images_per_second: None,
        large_measured: None,
    }
}
