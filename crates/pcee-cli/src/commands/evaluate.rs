//! `pcee evaluate`: the outcome of a policy file on test logits.

use crate::inputs;
use crate::output::{accuracy_line, exit_table, flops, percent};
use anyhow::anyhow;
use pcee::policy_file::SameData;
use pcee::{evaluate, Delta, Outcome, PolicyFile};
use serde::Serialize;
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

/// The `--json` object: the outcome fields of docs/design.md §3 plus method, δ, samples, full FLOPs.
#[derive(Serialize)]
struct Report<'a> {
    method: &'a str,
    delta: Delta,
    samples: usize,
    full_flops: f64,
    /// The accuracy the control error is measured against: `--delta` when given, else the
    /// policy's target accuracy when δ was chosen by risk control, else its δ; absent for a
    /// budget policy (no accuracy was asked for).
    #[serde(skip_serializing_if = "Option::is_none")]
    target_accuracy: Option<f64>,
    /// Achieved accuracy − `target_accuracy` (absent with it).
    #[serde(skip_serializing_if = "Option::is_none")]
    control_error: Option<f64>,
    #[serde(flatten)]
    outcome: &'a Outcome,
}

/// Runs `pcee evaluate`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let policy_file = PolicyFile::read(&args.policy)?;
    let delta = match args.delta {
        Some(d) => inputs::delta("--delta", d)?,
        None => policy_file.delta,
    };
    let test = inputs::read_logits(&args.test)?;
    policy_file
        .check_logits(&test)
        .map_err(|err| anyhow!("{}: {err} ({})", args.test.display(), args.policy.display()))?;
    warn_if_calibration_data(&policy_file, &args);
    let cost = policy_file.cost_on(&test);
    let target = policy_file.target_accuracy(delta, args.delta.is_some());
    let policy = policy_file.policy(delta);
    let outcome = evaluate(policy.as_ref(), &policy_file.scores(&test), &cost);
    let report = Report {
        method: policy_file.method.name(),
        delta,
        samples: test.samples(),
        full_flops: cost[cost.len() - 1],
        target_accuracy: target,
        control_error: target.map(|t| outcome.accuracy - t),
        outcome: &outcome,
    };
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print_report(&report, &cost);
    }
    Ok(())
}

/// One line on stderr when the test file is the policy's calibration data (docs/methods.md §6).
fn warn_if_calibration_data(policy: &PolicyFile, args: &Args) {
    let how = match policy.calibrated_on(&args.test) {
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

fn print_report(report: &Report<'_>, cost: &[f64]) {
    let o = report.outcome;
    if report.method == pcee::Method::MsdnetBudget.name() {
        println!(
            "method {} (per-exit thresholds fitted for a budget; δ = {} is not used), {} test samples",
            report.method, report.delta, report.samples
        );
    } else {
        println!(
            "method {}, δ = {}, {} test samples",
            report.method, report.delta, report.samples
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
