//! `pcee evaluate`: the outcome of a policy file on test logits.

use crate::inputs;
use crate::output::{exit_table, flops, percent};
use anyhow::anyhow;
use pcee::{evaluate, Outcome, PolicyFile};
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

/// The `--json` object: the outcome fields of DESIGN.md §3 plus method, δ, samples, full FLOPs.
#[derive(Serialize)]
struct Report<'a> {
    method: &'a str,
    delta: f64,
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
    let delta = inputs::delta("--delta", args.delta.unwrap_or(policy_file.delta))?;
    let test = inputs::read_logits(&args.test)?;
    if test.exits() != policy_file.exit_count() {
        return Err(anyhow!(
            "{}: has {} exits but the policy {} has {}; expected logits of the network the policy was calibrated for",
            args.test.display(),
            test.exits(),
            args.policy.display(),
            policy_file.exit_count()
        ));
    }
    same_flops(&args.test, &test, &args.policy, &policy_file)?;
    // The test file's FLOPs when it has them, else the policy's (from the validation file).
    let cost = if test.has_flops() {
        test.flops().to_vec()
    } else {
        policy_file.flops()
    };
    let target = target_accuracy(&policy_file, args.delta, delta);
    let policy = policy_file.policy(delta)?;
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
    match (report.target_accuracy, report.control_error) {
        (Some(t), Some(err)) if t != report.delta => println!(
            "accuracy    {} (target accuracy {t}, chosen δ {}; control error {:+.2} points)",
            percent(o.accuracy),
            report.delta,
            100.0 * err
        ),
        (Some(_), Some(err)) => println!(
            "accuracy    {} (control error {:+.2} points)",
            percent(o.accuracy),
            100.0 * err
        ),
        _ => println!(
            "accuracy    {} (a budget policy: no target accuracy)",
            percent(o.accuracy)
        ),
    }
    println!(
        "mean FLOPs  {} ({} of the full network's {})",
        flops(o.mean_flops),
        percent(o.flops_fraction),
        flops(report.full_flops)
    );
    println!("mean exit   {:.3}", o.mean_exit);
    println!("{}", exit_table(cost, o));
}

/// What the control error is measured against (see `Report::target_accuracy`).
fn target_accuracy(policy: &PolicyFile, flag: Option<f64>, delta: f64) -> Option<f64> {
    let selection = policy.selection.as_ref();
    let budget = policy.method == pcee::Method::MsdnetBudget
        || selection.is_some_and(|s| s.budget_flops.is_some() && s.target_accuracy.is_none());
    match (flag, selection.and_then(|s| s.target_accuracy)) {
        (Some(d), _) => Some(d),
        (None, Some(t)) => Some(t),
        (None, None) if budget => None,
        (None, None) => Some(delta),
    }
}

/// Refuses test logits whose FLOPs per exit differ from those the policy was calibrated with
/// (another network); a policy calibrated without FLOPs (cost 1, 2, …, L in exits) or a test
/// file without them is not checked.
fn same_flops(
    test_path: &std::path::Path,
    test: &pcee::ExitLogits,
    policy_path: &std::path::Path,
    policy: &PolicyFile,
) -> anyhow::Result<()> {
    let calibrated = policy.flops();
    let in_exits = calibrated
        .iter()
        .enumerate()
        .all(|(l, &f)| f == (l + 1) as f64);
    let differs = pcee::policy_file::first_flops_difference(test.flops(), &calibrated).is_some();
    if test.has_flops() && !in_exits && differs {
        return Err(anyhow!(
            "{}: array 'flops' is {:?} but the policy {} was calibrated with {:?}; expected logits of the network the policy was calibrated for",
            test_path.display(),
            test.flops(),
            policy_path.display(),
            calibrated
        ));
    }
    Ok(())
}
