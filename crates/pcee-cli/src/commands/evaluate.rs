//! `pcee evaluate`: the outcome of a policy file on test logits.

use crate::inputs;
use crate::output::{accuracy_line, exit_table, flops, percent};
use anyhow::anyhow;
use pcee::evaluation::Evaluation;
use pcee::policy_file::SameData;
use pcee::PolicyFile;
use std::path::PathBuf;

/// Evaluate a policy on test logits: accuracy, mean FLOPs, where samples exit.
#[derive(clap::Args)]
pub struct Args {
    /// Policy file written by `pcee calibrate`
    #[arg(long, value_name = "FILE")]
    policy: PathBuf,
    /// Test logits (.npz or .safetensors) of the same network
    #[arg(long, value_name = "FILE")]
    test: PathBuf,
    /// Target accuracy δ in [0, 1] (default: the policy's)
    #[arg(long, allow_negative_numbers = true)]
    delta: Option<f64>,
    /// Print one JSON object instead of a table
    #[arg(long)]
    json: bool,
}

/// Runs `pcee evaluate`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let policy_file = PolicyFile::read(&args.policy)?;
    let delta = args
        .delta
        .map(|d| inputs::delta("--delta", d))
        .transpose()?;
    let test = inputs::read_logits(&args.test)?;
    // The `--json` object is the core's `Evaluation` (the Python package returns the same).
    let report = policy_file
        .evaluate_on(&test, delta)
        .map_err(|err| anyhow!("{}: {err} ({})", args.test.display(), args.policy.display()))?;
    warn_if_calibration_data(&policy_file, &args, &test);
    if let Some(note) =
        crate::output::unreachable_delta_note(&args.policy, &policy_file, report.delta)
    {
        eprintln!("{note}");
    }
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print_report(&report, &policy_file.cost_on(&test));
    }
    Ok(())
}

/// One line on stderr when the test file is the policy's calibration data (docs/methods.md §6).
fn warn_if_calibration_data(policy: &PolicyFile, args: &Args, test: &pcee::ExitLogits) {
    let how = match policy.calibrated_on_data(&args.test, test) {
        Some(SameData::Values) => "holds the labels and logits of",
        Some(SameData::Labels) => "has the labels (in order) of",
        Some(SameData::Hash) => "has the content hash of",
        Some(SameData::Name) => "has the file name of",
        None => return,
    };
    eprintln!(
        "warning: {}: {how} the calibration data of {} ({}); evaluation on calibration data is optimistic; expected held-out test logits",
        args.test.display(),
        args.policy.display(),
        policy.source
    );
}

fn print_report(report: &Evaluation, cost: &[f64]) {
    let o = &report.outcome;
    if report.method == pcee::Method::MsdnetBudget {
        println!(
            "method {} (per-exit thresholds fitted for a budget; δ = {} is not used), {} test {}",
            report.method,
            report.delta,
            report.samples,
            samples(report.samples)
        );
    } else {
        println!(
            "method {}, δ = {}, {} test {}",
            report.method,
            report.delta,
            report.samples,
            samples(report.samples)
        );
    }
    println!(
        "accuracy    {}",
        accuracy_line(o.accuracy, report.delta, report.target_accuracy)
    );
    println!(
        "mean FLOPs  {} ({} of the full network's {})",
        flops(o.mean_flops),
        percent(o.flops_fraction),
        flops(report.full_flops)
    );
    println!("mean exit   {:.3}", o.mean_exit);
    println!("{}", exit_table(cost, o));
}

fn samples(n: usize) -> &'static str {
    if n == 1 {
        "sample"
    } else {
        "samples"
    }
}
