//! `pcee demo` as a library function (its own crate, so users of `pcee-nn` do not compile the
//! embedded models and images): the paper's two claims judged by stated rules on the embedded
//! default ([`assets`]) — calibration of every exit, accuracy control over the δ range where
//! the exit rule matters ([`targets`]), the large model with PCEE at the small model's cost
//! compared image by image with the small one, for every shipped pair of one recipe
//! ([`cost_match`], [`per_pair`]), both verdicts ([`verdict`]), and
//! PCEE timed with the real runtime ([`measured`]). [`run`] returns [`DemoResults`]; the CLI only
//! prints and writes them.

pub mod assets;
pub mod calibration;
pub mod control;
pub mod cost_match;
pub mod logits;
pub mod measured;
pub mod per_model;
pub mod per_pair;
pub mod results;
pub mod target_mode;
pub mod targets;
pub mod verdict;

pub use results::{
    ControlRow, CostMatch, DemoResults, ExitCalibration, Measured, ModelResults, RuntimeRow,
    Verdicts,
};

use pcee::{reliability_diagrams_binned, Binning, ExitPolicy, Method, Regime, ScoreTable};
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
/// [`NnError::Model`] / [`NnError::DataMalformed`] for corrupt embedded assets, or when no pair
/// of [`assets::PAIRS`] is embedded.
pub fn run(options: &DemoOptions, progress: &mut dyn Progress) -> Result<DemoResults> {
    check(options)?;
    let start = Instant::now();
    let device = pcee_nn::default_device();
    let limit = options.limit.unwrap_or(usize::MAX);
    let (pairs, skipped_pairs) = assets::embedded_pairs();
    if pairs.is_empty() {
        return Err(NnError::model(
            "assets/models/",
            format!(
                "no pair to judge claim 1 on ({}); expected the trained weights and their .json cards (see assets/README.md)",
                skipped_pairs.join("; ")
            ),
        ));
    }
    let (val, test) = (
        assets::validation()?.take(limit),
        assets::test()?.take(limit),
    );
    let images = total_images(val.len(), test.len(), options.deltas.len(), pairs.len());
    progress.start(images);
    let data = Data {
        val: &val,
        test: &test,
        device: &device,
    };
    let mut loaded = Vec::new();
    for embedded in assets::MODELS {
        let (model, _) = embedded.load(&device)?;
        let results = model_results(embedded.name, &model, &data, options, progress)?;
        loaded.push((model, results));
    }
    let cost_matches = cost_matches(&mut loaded, &pairs, &data, options, progress)?;
    let models: Vec<ModelResults> = loaded.into_iter().map(|(_, m)| m).collect();
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
        verdicts: verdicts(&models, &cost_matches, &skipped_pairs),
        models,
        cost_match: cost_matches[0].clone(),
        cost_matches,
        skipped_pairs,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// Both claims' verdicts: the first per pair and overall, the second per model and overall.
fn verdicts(models: &[ModelResults], matches: &[CostMatch], skipped: &[String]) -> Verdicts {
    let judged: Vec<_> = models
        .iter()
        .map(|m| (&m.targets, m.regime.as_str()))
        .collect();
    let targets_per_model = per_model::per_model_verdicts(&judged);
    let all_targets: Vec<_> = models.iter().map(|m| m.targets.clone()).collect();
    let cost_match_per_pair = per_pair::per_pair_verdicts(matches);
    Verdicts {
        cost_match: per_pair::overall_verdict(&cost_match_per_pair, skipped),
        cost_match_per_pair,
        targets: per_model::overall_verdict(
            targets::targets_verdict(&all_targets),
            &targets_per_model,
        ),
        targets_per_model,
    }
}

/// The cost match of every pair `(small, large)` of `pairs` (δ chosen on validation), then the
/// runtime: PCEE on every model but [`assets::SMALL`] at each control δ (a pair's large model
/// also at its cost-match δ), and each pair's small model run to its last exit.
fn cost_matches(
    loaded: &mut [(Model, ModelResults)],
    pairs: &[(&str, &str)],
    data: &Data<'_>,
    options: &DemoOptions,
    progress: &mut dyn Progress,
) -> Result<Vec<CostMatch>> {
    let mut matches: Vec<CostMatch> = pairs
        .iter()
        .map(|&(small, large)| {
            cost_match::cost_match(
                &loaded[index(loaded, small)].1,
                &loaded[index(loaded, large)].1,
                options.bins,
                options.binning,
                options.window,
            )
        })
        .collect();
    for (model, results) in loaded.iter_mut().filter(|(_, m)| m.name != assets::SMALL) {
        let extra: Vec<f64> = matches
            .iter()
            .filter(|c| c.large_model == results.name)
            .map(|c| c.delta)
            .collect();
        measure_control(model, results, &extra, data, options, progress)?;
    }
    for c in &mut matches {
        let small = measure_full(
            &loaded[index(loaded, &c.small_model)],
            data,
            options,
            progress,
        )?;
        c.small_images_per_second = small.full_images_per_second;
        c.small_measured = Some(small);
        let large_row = loaded[index(loaded, &c.large_model)]
            .1
            .runtime
            .iter()
            .find(|r| r.deltas.contains(&c.delta))
            .expect("the cost-match δ was timed");
        c.large_images_per_second = Some(large_row.measured.images_per_second);
        c.large_measured = Some(large_row.measured.clone());
    }
    Ok(matches)
}

/// The position of the model called `name` in `loaded`.
fn index(loaded: &[(Model, ModelResults)], name: &str) -> usize {
    loaded
        .iter()
        .position(|(_, m)| m.name == name)
        .expect("every model of an embedded pair ran")
}

/// Images run through a network in all, counted once per timed measurement: validation and
/// test logits of every model, then for every model but the small one at most one runtime
/// measurement per δ (plus the cost-match δ), and each of the `pairs`' small model's
/// full-network timing.
fn total_images(val: usize, test: usize, deltas: usize, pairs: usize) -> u64 {
    let models = assets::MODELS.len();
    let timed = test.min(measured::TIMED_IMAGES);
    ((val + test) * models + timed * deltas * (models - 1) + 2 * timed * pairs) as u64
}

/// Times PCEE at every δ of `results.control` (and at each δ of `extra`) with the real runtime on the
/// test images, once per distinct exit assignment ([`measured::measure_distinct`]); stores the
/// measurements in `results.runtime` and in the `pcee` rows.
fn measure_control(
    model: &Model,
    results: &mut ModelResults,
    extra: &[f64],
    data: &Data<'_>,
    options: &DemoOptions,
    progress: &mut dyn Progress,
) -> Result<()> {
    let scores = ScoreTable::from_logits(&results.test_logits);
    let policies: Vec<(f64, Box<dyn ExitPolicy>)> = options
        .deltas
        .iter()
        .copied()
        .chain(
            extra
                .iter()
                .copied()
                .filter(|d| !options.deltas.contains(d)),
        )
        .map(|d| (d, Method::Pcee.policy(&results.diagrams, d, 0)))
        .collect();
    let what = format!("{}: runtime of PCEE", results.name);
    results.runtime = measured::measure_distinct(
        model,
        &policies,
        data.test,
        &scores,
        options.batch,
        data.device,
        progress,
        &what,
    )?;
    for row in results
        .control
        .iter_mut()
        .filter(|r| r.method == Method::Pcee.name())
    {
        let timed = results
            .runtime
            .iter()
            .find(|t| t.deltas.contains(&row.delta));
        row.measured = timed.map(|t| t.measured.clone());
    }
    Ok(())
}

/// The small model run to its last exit through the runtime, timed in rounds.
fn measure_full(
    (model, results): &(Model, ModelResults),
    data: &Data<'_>,
    options: &DemoOptions,
    progress: &mut dyn Progress,
) -> Result<Measured> {
    let scores = ScoreTable::from_logits(&results.test_logits);
    let never: &dyn ExitPolicy = &measured::Never;
    let mut m = measured::measure_policies(
        model,
        &[never],
        data.test,
        &scores,
        options.batch,
        data.device,
    )?;
    progress.advance(
        2 * data.test.len().min(measured::TIMED_IMAGES) as u64,
        &format!("{}: full-network timing", results.name),
    );
    Ok(m.remove(0))
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
    let on_test = test_exits(&test_scores);
    let test_accuracy: Vec<f64> = on_test.iter().map(|e| e.0).collect();
    let full_accuracy = *test_accuracy.last().expect("at least 2 exits");
    let test_mass = reliability_diagrams_binned(&test_scores, options.bins, Binning::Mass);
    let exits =
        calibration::exit_calibration(&diagrams, [&width, &mass], &flops, &on_test, &test_mass);
    let targets = targets::model_targets(
        name,
        &diagrams,
        &test_scores,
        &flops,
        options.window,
        &test_accuracy,
    );
    let target_mode = target_mode::target_mode(
        name,
        &val_logits,
        &test_logits,
        &targets::target_deltas(targets.range[0], targets.range[1]),
        (options.bins, options.binning, options.window),
    );
    progress.advance(0, &format!("{name}: targets and target mode"));
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
        targets,
        target_mode,
        runtime: Vec::new(),
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

/// `(accuracy, mean confidence)` of every exit `[exits]` on the scores `test`.
fn test_exits(test: &ScoreTable) -> Vec<(f64, f64)> {
    let n = test.samples() as f64;
    (0..test.exits())
        .map(|l| {
            let scores = (0..test.samples()).map(|i| &test.sample(i)[l]);
            let correct = scores.clone().filter(|s| s.correct == Some(true)).count();
            let confidence: f64 = scores.map(|s| s.confidence).sum();
            (correct as f64 / n, confidence / n)
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
