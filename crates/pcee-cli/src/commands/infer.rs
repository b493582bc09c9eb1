//! `pcee infer`: real early-exit inference on a Fashion-MNIST split — each image stops being
//! computed at its exit — timed against the full network on the same images.
//!
//! Timing (see `pcee_runtime::measure`): images are normalised into batches before any
//! timing; both modes run untimed on the first ≥ 512 images (warm-up); then `--repeat` rounds
//! each time one pass of early exit and one of the full network (every stage and every head)
//! over all images, alternating which goes first; throughput is images / median pass time;
//! with `--batch 1`, latency percentiles (p50, p95) are over every image of every round.

use crate::inputs;
use crate::output::{accuracy_line, exit_table, flops, percent};
use crate::own_data::{self, OwnData};
use anyhow::anyhow;
use pcee::{Delta, PolicyFile};
use pcee_nn::data::{load_split, Split};
use pcee_nn::runtime::{check_policy, measure, BurnStages, InferReport, MeasureOptions};
use pcee_nn::{default_device, store};
use serde::Serialize;
use std::path::PathBuf;

/// Run a model with real early exit on a split: accuracy, FLOPs, exits, and measured speed-up.
#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("network").required(true).args(["model", "stages"])))]
pub struct Args {
    /// Model weights (.safetensors) written by `pcee train`; its .json card must sit beside it.
    #[arg(long, value_name = "FILE", conflicts_with = "stages")]
    model: Option<PathBuf>,
    /// Instead of --model: a stage-graph directory (`pcee export`), run with ONNX Runtime
    /// (needs a pcee built with `--features onnx` and ORT_DYLIB_PATH naming libonnxruntime).
    #[arg(long, value_name = "DIR")]
    stages: Option<PathBuf>,
    /// Policy file written by `pcee calibrate` on this model's validation logits.
    #[arg(long, value_name = "FILE")]
    policy: PathBuf,
    /// Target accuracy δ in [0, 1] (default: the policy's).
    #[arg(long, allow_negative_numbers = true)]
    delta: Option<f64>,
    /// Split: test (10 000 test images) or val (5 000 held-out training images).
    #[arg(long, default_value = "test", value_parser = inputs::eval_split)]
    split: Split,
    /// Your own data instead of a Fashion-MNIST split: a .npy array for a network of one input,
    /// or a .npz with one array per input name (e.g. input_ids, attention_mask); first axis =
    /// samples, each in its input's dtype and per-sample shape, fed as is (no preprocessing).
    /// Needs --labels.
    #[arg(long, value_name = "FILE", requires = "labels", conflicts_with_all = ["split", "limit", "corruption", "severity", "corruption_seed", "data_dir"])]
    input: Option<PathBuf>,
    /// With --input: the true class of every sample, a .npy of integers `[samples]`.
    #[arg(long, value_name = "FILE", requires = "input")]
    labels: Option<PathBuf>,
    /// Images per batch; 1 also reports per-image latency percentiles.
    #[arg(long, default_value_t = 256, allow_negative_numbers = true)]
    batch: i64,
    /// Only the first N images of the split.
    #[arg(long, value_name = "N")]
    limit: Option<u64>,
    #[command(flatten)]
    shift: crate::shift::ShiftArgs,
    /// Timed rounds (each one early-exit pass and one full pass over all images).
    #[arg(long, default_value_t = 3)]
    repeat: u64,
    /// Directory with the Fashion-MNIST IDX files [default: /usr/share/datasets/fashion-mnist].
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
    /// With --json, include every image's decision (`decisions`: exit, prediction, confidence).
    #[arg(long, requires = "json")]
    decisions: bool,
}

/// The `--json` object: the runtime's report plus method, δ and control error.
#[derive(Serialize)]
struct Report<'a> {
    method: &'a str,
    delta: Delta,
    /// What the control error is measured against ([`PolicyFile::target_accuracy`]); absent
    /// for a budget policy run at its own δ.
    #[serde(skip_serializing_if = "Option::is_none")]
    target_accuracy: Option<f64>,
    /// Achieved accuracy − `target_accuracy` (absent with it).
    #[serde(skip_serializing_if = "Option::is_none")]
    control_error: Option<f64>,
    #[serde(flatten)]
    report: &'a InferReport,
}

/// Runs `pcee infer`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let batch = crate::inputs::batch("--batch", args.batch)?;
    let limit = args
        .limit
        .map(|n| inputs::at_least_one("--limit", n))
        .transpose()?;
    args.shift.shift()?;
    let repeats = inputs::at_least_one("--repeat", args.repeat)? as usize;
    let policy_file = PolicyFile::read(&args.policy)?;
    let delta = match args.delta {
        Some(d) => inputs::delta("--delta", d)?,
        None => policy_file.delta,
    };
    let load_data = || -> anyhow::Result<_> {
        let data = load_split(args.data_dir.as_deref(), args.split)?;
        let data = inputs::take_limit(data, limit, args.split)?;
        let labels: Vec<u32> = data.labels.iter().map(|&l| u32::from(l)).collect();
        let what = format!("--split {}: its images", args.split);
        warn_if_calibration_data(&policy_file, &args.policy, &what, &labels);
        Ok(args.shift.apply(data)?)
    };
    let own = OwnData::from_flags(args.input.as_ref(), args.labels.as_ref())?;
    let warn_own = |own: &OwnData, labels: &[u32]| {
        let what = format!("--input {}: its samples", own.input.display());
        warn_if_calibration_data(&policy_file, &args.policy, &what, labels);
    };
    let target = policy_file.target_accuracy(delta, args.delta.is_some());
    let policy = policy_file.policy(delta);
    let options = MeasureOptions {
        batch,
        repeats,
        ..MeasureOptions::default()
    };
    let (mut report, cost) = match (&args.model, &args.stages) {
        (Some(path), _) => {
            let device = default_device();
            let (model, _card) = store::load(path, &device)?;
            check_policy(&policy_file, &model).map_err(|err| {
                anyhow!(
                    "{}: {err} (model {})",
                    args.policy.display(),
                    path.display()
                )
            })?;
            let report = match &own {
                Some(own) => {
                    let mut stages = BurnStages::new(&model, &device);
                    let (report, labels) =
                        own_data::measure(&mut stages, policy.as_ref(), own, &options)?;
                    warn_own(own, &labels);
                    report
                }
                None => measure(&model, policy.as_ref(), &load_data()?, &options, &device)?,
            };
            (report, model.flops_per_exit())
        }
        (None, Some(dir)) => {
            let load = stages::Load {
                dir,
                file: &policy_file,
                policy_path: &args.policy,
                own: own.as_ref(),
            };
            stages::measure(&load, policy.as_ref(), &load_data, &warn_own, &options)?
        }
        (None, None) => unreachable!("clap requires --model or --stages"),
    };
    if !args.decisions {
        report.decisions.clear();
    }
    let report = Report {
        method: policy_file.method.name(),
        delta,
        target_accuracy: target,
        control_error: target.map(|t| report.outcome.accuracy - t),
        report: &report,
    };
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print_report(&report, &cost);
    }
    Ok(())
}

fn print_report(r: &Report<'_>, cost: &[f64]) {
    let (o, t) = (&r.report.outcome, &r.report.timing);
    println!(
        "method {}, δ = {}, {} samples, batch {}, {} timed round(s)",
        r.method, r.delta, r.report.samples, r.report.batch, r.report.repeats
    );
    println!(
        "accuracy       {}",
        accuracy_line(o.accuracy, r.delta, r.target_accuracy)
    );
    println!(
        "mean FLOPs     {} ({} of the full network's {})",
        flops(o.mean_flops),
        percent(o.flops_fraction),
        flops(r.report.full_flops)
    );
    println!("mean exit      {:.3}", o.mean_exit);
    println!(
        "samples/s      {:.0} early exit, {:.0} full network",
        t.images_per_second, t.full_images_per_second
    );
    match &t.timing_unreliable_reason {
        None => println!(
            "speed-up       {:.2}× measured, {:.2}× ideal (FLOPs), efficiency {:.2}{}",
            t.speedup,
            t.ideal_speedup,
            t.efficiency,
            spread_note(t.spread, t.full_spread)
        ),
        Some(reason) => println!(
            "speed-up       not reported: timing unreliable ({reason}); ideal {:.2}× (FLOPs)",
            t.ideal_speedup
        ),
    }
    if let (Some(p50), Some(p95), Some(f50), Some(f95)) = (
        t.latency_p50_ms,
        t.latency_p95_ms,
        t.full_latency_p50_ms,
        t.full_latency_p95_ms,
    ) {
        println!("latency        p50 {p50:.3} ms, p95 {p95:.3} ms early exit; p50 {f50:.3} ms, p95 {f95:.3} ms full");
    }
    println!("{}", exit_table(cost, o));
}

/// `; rounds vary by 3 % / 4 %` (early exit / full network), or nothing with one round.
fn spread_note(early: Option<f64>, full: Option<f64>) -> String {
    match (early, full) {
        (Some(e), Some(f)) => format!(
            "; rounds vary by {:.0} % / {:.0} % (early exit / full)",
            100.0 * e,
            100.0 * f
        ),
        _ => String::new(),
    }
}

/// `--stages DIR`: the ONNX Runtime backend (crate `pcee-onnx`, feature `onnx`).
mod stages {
    use crate::own_data::OwnData;
    use pcee::{ExitPolicy, PolicyFile};
    use pcee_nn::data::Dataset;
    use pcee_nn::runtime::{InferReport, MeasureOptions};
    use std::path::Path;

    /// The stage-graph directory and the policy file it is checked against.
    #[cfg_attr(not(feature = "onnx"), allow(dead_code))]
    pub struct Load<'a> {
        pub dir: &'a Path,
        pub file: &'a PolicyFile,
        pub policy_path: &'a Path,
        /// `--input` and `--labels`, when given.
        pub own: Option<&'a OwnData>,
    }

    /// The report of `policy` through the graphs of `load.dir` on the images `data` loads
    /// (after the graphs and the policy check), and the graphs' cumulative FLOPs.
    #[cfg(feature = "onnx")]
    pub fn measure(
        load: &Load<'_>,
        policy: &dyn ExitPolicy,
        data: &dyn Fn() -> anyhow::Result<Dataset>,
        warn_own: &dyn Fn(&OwnData, &[u32]),
        options: &MeasureOptions,
    ) -> anyhow::Result<(InferReport, Vec<f64>)> {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let mut graphs = pcee_onnx::runtime::OrtStages::load(load.dir, threads)?;
        let m = graphs.manifest();
        let fit =
            pcee_runtime::check_policy(load.file, m.classes, &m.flops, "the stage-graph directory");
        fit.map_err(|err| {
            anyhow::anyhow!(
                "{}: {err} (stages {})",
                load.policy_path.display(),
                load.dir.display()
            )
        })?;
        let flops = m.flops.clone();
        if let Some(own) = load.own {
            let (report, labels) = crate::own_data::measure(&mut graphs, policy, own, options)?;
            warn_own(own, &labels);
            return Ok((report, flops));
        }
        graphs.manifest().check_reads_images(load.dir)?;
        let data = data()?;
        let report = pcee_onnx::runtime::measure(
            &mut graphs,
            policy,
            (&data.images, &data.labels),
            options,
        )?;
        Ok((report, flops))
    }

    /// Without the `onnx` feature: one clear error.
    #[cfg(not(feature = "onnx"))]
    pub fn measure(
        _: &Load<'_>,
        _: &dyn ExitPolicy,
        _: &dyn Fn() -> anyhow::Result<Dataset>,
        _: &dyn Fn(&OwnData, &[u32]),
        _: &MeasureOptions,
    ) -> anyhow::Result<(InferReport, Vec<f64>)> {
        anyhow::bail!(
            "--stages: this pcee was built without ONNX Runtime support; rebuild it with \
             `--features onnx` (cargo install --locked --path crates/pcee-cli --features onnx)"
        )
    }
}

/// One line on stderr when the samples run are the policy's calibration samples, recognised by
/// their labels in order (issue 33, item 4): the accuracy and control error are then optimistic.
/// `what` names them (`--split val: its images`).
fn warn_if_calibration_data(
    policy: &PolicyFile,
    path: &std::path::Path,
    what: &str,
    labels: &[u32],
) {
    if policy.calibrated_on_labels(labels).is_some() {
        let or_labels = if what.starts_with("--input") {
            ", or --labels names the calibration data's labels by mistake"
        } else {
            ""
        };
        eprintln!(
            "warning: {what} have the labels (in order) of the calibration data of {} ({}); \
             evaluation on calibration data is optimistic{or_labels}; expected data the policy \
             was not calibrated on (--split test, or held-out samples of your own)",
            path.display(),
            policy.source
        );
    }
}
