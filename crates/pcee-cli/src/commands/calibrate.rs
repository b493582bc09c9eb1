//! `pcee calibrate`: per-exit reliability diagrams on validation logits → a policy file; δ may be
//! given, chosen for a FLOPs budget, or chosen by risk control (docs/methods.md).

use crate::inputs;
use crate::output::{flops, percent, Table};
use anyhow::anyhow;
use pcee::budget::{best_delta_for_budget, msdnet_thresholds};
use pcee::policy::MethodParams;
use pcee::policy_file::{CalibrateError, PolicyFile, Selection};
use pcee::risk::{choose_delta, Guarantee, Loss, RiskTarget};
use pcee::temperature::fit_temperatures;
use pcee::{reliability_diagrams, Method, ReliabilityDiagram, ScoreTable};
use std::path::PathBuf;

/// Build the reliability diagram of every exit on validation logits and save a policy file
/// (diagrams, not thresholds: δ can be changed later without recalibrating).
#[derive(clap::Args)]
pub struct Args {
    /// Validation logits (.npz from numpy.savez, or .safetensors): logits [exits, samples, classes], labels [samples], optional flops [exits]
    #[arg(long, value_name = "FILE")]
    val: PathBuf,
    /// Exit method: confidence, pcee, pcee-ws, pcee-lcb or msdnet-budget (needs --budget-flops)
    #[arg(long, value_name = "METHOD")]
    method: String,
    /// Number of equal-width confidence bins on [0, 1]
    #[arg(long, default_value_t = 10)]
    bins: usize,
    /// PCEE-WS smoothing window w: bins b−w..b+w are pooled
    #[arg(long, default_value_t = 1)]
    window: usize,
    /// Default target accuracy δ in [0, 1] stored in the policy (replaced by the chosen δ with --budget-flops or --target-accuracy)
    #[arg(long, default_value_t = 0.9, allow_negative_numbers = true)]
    delta: f64,
    /// Level α in (0, 1): of pcee-lcb's Clopper–Pearson lower bound, and of the ucb guarantee
    #[arg(long, default_value_t = 0.05, allow_negative_numbers = true)]
    alpha: f64,
    /// Fit a temperature per exit on the validation logits (minimum NLL) and score with it
    #[arg(long)]
    temperature: bool,
    /// Budget mode: the mean FLOPs per sample allowed; picks the δ with the best validation accuracy within it (msdnet-budget: MSDNet's thresholds for it)
    #[arg(
        long,
        value_name = "FLOPS",
        allow_negative_numbers = true,
        conflicts_with = "target_accuracy"
    )]
    budget_flops: Option<f64>,
    /// Risk control: the accuracy to guarantee, in (0, 1); δ is chosen with --guarantee
    #[arg(
        long,
        value_name = "A",
        allow_negative_numbers = true,
        requires = "guarantee"
    )]
    target_accuracy: Option<f64>,
    /// Risk control: crc (in expectation) or ucb (with probability 1 − α)
    #[arg(long, value_parser = ["crc", "ucb"], requires = "target_accuracy")]
    guarantee: Option<String>,
    /// Risk control: the loss, wrong (wrong at the exit) or gap (wrong at the exit, right at the last exit)
    #[arg(long, default_value = "wrong", value_parser = ["wrong", "gap"])]
    loss: String,
    /// Policy file to write (JSON)
    #[arg(long, value_name = "FILE")]
    output: PathBuf,
}

/// Runs `pcee calibrate`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let offered = [
        Method::Confidence,
        Method::Pcee,
        Method::PceeWs,
        Method::PceeLcb,
        Method::MsdnetBudget,
    ];
    let method = inputs::method("--method", &args.method, &offered)?;
    let bins = inputs::bins(args.bins)?;
    inputs::output_file("--output", &args.output, "json", &[&args.val])?;
    let delta = inputs::delta("--delta", args.delta)?;
    let alpha = inputs::alpha("--alpha", args.alpha)?;
    if method == Method::MsdnetBudget && args.budget_flops.is_none() {
        return Err(anyhow!("--method: msdnet-budget needs --budget-flops; expected a budget in mean FLOPs per sample"));
    }
    let val = inputs::read_logits(&args.val)?;
    let temperatures = args.temperature.then(|| fit_temperatures(&val, None));
    let scores = match &temperatures {
        Some(t) => ScoreTable::from_logits_scaled(&val, t),
        None => ScoreTable::from_logits(&val),
    };
    let diagrams = reliability_diagrams(&scores, bins);
    let mut params = MethodParams {
        window: args.window,
        alpha,
        thresholds: Vec::new(),
    };
    let validation = Validation {
        method,
        diagrams: &diagrams,
        scores: &scores,
        flops: val.flops(),
    };
    let (delta, selection) = choose(&args, &validation, &mut params, delta)?;
    let source = inputs::file_name(&args.val);
    let mut policy =
        PolicyFile::calibrate(method, diagrams, val.flops(), delta, args.window, &source).map_err(
            |err| match err {
                CalibrateError::Oracle => anyhow!("--method: {err}"),
                CalibrateError::Bins => anyhow!("--bins: {err}"),
                CalibrateError::Delta(_) => anyhow!("--delta: {err}"),
            },
        )?;
    policy.alpha = (method == Method::PceeLcb).then_some(alpha);
    policy.temperatures = temperatures;
    policy.thresholds = params.thresholds;
    policy.selection = selection;
    policy.write(&args.output)?;
    print_summary(&args, &policy);
    Ok(())
}

/// What the choice of δ works on: the validation scores and diagrams of one method.
struct Validation<'a> {
    method: Method,
    diagrams: &'a [ReliabilityDiagram],
    scores: &'a ScoreTable,
    flops: &'a [f64],
}

/// The δ to store and how it was chosen: as given (`delta`), for the budget, or by risk
/// control; fills `params.thresholds` for msdnet-budget.
fn choose(
    args: &Args,
    v: &Validation<'_>,
    params: &mut MethodParams,
    delta: f64,
) -> anyhow::Result<(f64, Option<Selection>)> {
    if let Some(budget) = args.budget_flops {
        return for_budget(v, params, budget, delta);
    }
    match (args.target_accuracy, args.guarantee.as_deref()) {
        (Some(target), Some(guarantee)) => by_risk(args, v, params, target, guarantee),
        _ => Ok((delta, None)),
    }
}

/// Budget mode, or MSDNet's thresholds for msdnet-budget (which keeps `delta`).
fn for_budget(
    v: &Validation<'_>,
    params: &mut MethodParams,
    budget: f64,
    delta: f64,
) -> anyhow::Result<(f64, Option<Selection>)> {
    let budget_error = |err| anyhow!("--budget-flops: {err}");
    if v.method == Method::MsdnetBudget {
        let fit = msdnet_thresholds(v.scores, v.flops, budget).map_err(budget_error)?;
        params.thresholds = fit.thresholds;
        let o = &fit.calibration;
        return Ok((
            delta,
            Some(Selection {
                budget_flops: Some(budget),
                ..Selection::new("msdnet-budget", o.accuracy, o.mean_flops)
            }),
        ));
    }
    let choice = best_delta_for_budget(v.method, params, v.diagrams, v.scores, v.flops, budget)
        .map_err(budget_error)?;
    let o = &choice.calibration;
    Ok((
        choice.delta,
        Some(Selection {
            budget_flops: Some(budget),
            candidates: Some(choice.candidates),
            ..Selection::new("budget", o.accuracy, o.mean_flops)
        }),
    ))
}

/// Risk control: the δ certified for `target` accuracy with `guarantee` (`crc` or `ucb`).
fn by_risk(
    args: &Args,
    v: &Validation<'_>,
    params: &MethodParams,
    target: f64,
    guarantee: &str,
) -> anyhow::Result<(f64, Option<Selection>)> {
    if !(target > 0.0 && target < 1.0) {
        return Err(anyhow!("--target-accuracy: {target} is not a valid target; expected a number strictly between 0 and 1"));
    }
    if v.method == Method::MsdnetBudget {
        return Err(anyhow!("--target-accuracy: msdnet-budget is set by a budget; expected confidence, pcee, pcee-ws or pcee-lcb"));
    }
    let risk_target = RiskTarget {
        loss: if args.loss == "gap" {
            Loss::Gap
        } else {
            Loss::Wrong
        },
        guarantee: if guarantee == "crc" {
            Guarantee::Crc
        } else {
            Guarantee::Ucb
        },
        epsilon: 1.0 - target,
        alpha: params.alpha,
    };
    let choice = choose_delta(v.method, params, v.diagrams, v.scores, &risk_target)
        .map_err(|err| anyhow!("--target-accuracy: {err}"))?;
    let policy = v.method.policy_with(v.diagrams, choice.delta, params);
    let o = pcee::evaluate(policy.as_ref(), v.scores, v.flops);
    Ok((
        choice.delta,
        Some(Selection {
            loss: Some(risk_target.loss.name().to_string()),
            target_accuracy: Some(target),
            alpha: (risk_target.guarantee == Guarantee::Ucb).then_some(risk_target.alpha),
            risk: Some(choice.risk),
            certificate: Some(choice.certificate),
            candidates: Some(choice.candidates),
            ..Selection::new(guarantee, o.accuracy, o.mean_flops)
        }),
    ))
}

fn print_summary(args: &Args, policy: &PolicyFile) {
    println!(
        "wrote {}: method {}, δ = {}, {} bins, {} exits, calibrated on {} samples of {}",
        args.output.display(),
        policy.method,
        policy.delta,
        policy.bins(),
        policy.exit_count(),
        policy.samples,
        policy.source
    );
    if let Some(s) = &policy.selection {
        let how = match s.rule.as_str() {
            "budget" | "msdnet-budget" => format!(
                "{} for a budget of {} FLOPs",
                s.rule,
                flops(s.budget_flops.unwrap_or(0.0))
            ),
            rule => format!(
                "{rule} for a target accuracy of {} (loss {}, calibration risk {:.4}, certificate {:.4})",
                percent(s.target_accuracy.unwrap_or(0.0)),
                s.loss.as_deref().unwrap_or("-"),
                s.risk.unwrap_or(0.0),
                s.certificate.unwrap_or(0.0)
            ),
        };
        println!(
            "chosen by {how}: validation accuracy {}, mean FLOPs {}",
            percent(s.calibration_accuracy),
            flops(s.calibration_mean_flops)
        );
    }
    if !policy.thresholds.is_empty() {
        let t: Vec<String> = policy
            .thresholds
            .iter()
            .map(|t| format!("{t:.4}"))
            .collect();
        println!(
            "msdnet-budget confidence thresholds per exit: {}",
            t.join(", ")
        );
    }
    let mut table = Table::new(&["exit", "accuracy", "confidence", "ECE", "temperature"]);
    for (l, (_, d)) in policy.exits.iter().enumerate() {
        let or_dash = |x: Option<f64>| x.map_or("-".into(), percent);
        let t = policy
            .temperatures
            .as_ref()
            .map_or("-".into(), |t| format!("{:.3}", t[l]));
        table.row(vec![
            l.to_string(),
            or_dash(d.overall_accuracy()),
            or_dash(d.overall_confidence()),
            format!("{:.4}", d.ece()),
            t,
        ]);
    }
    println!("{}", table.render());
}
