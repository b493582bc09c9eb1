//! `pcee calibrate`: per-exit reliability diagrams on validation logits → a policy file; δ may be
//! given, chosen for a FLOPs budget, or chosen by risk control (docs/methods.md).

use crate::inputs;
use crate::output::{flops, percent, Table};
use anyhow::anyhow;
use pcee::calibrate::{CalibrateError, CalibrateOptions, Choice};
use pcee::certify::CertifySplit;
use pcee::choose::risk::{Guarantee, Loss};
use pcee::policy::{Correction, MethodParams};
use pcee::policy_file::provenance::content_hash;
use pcee::{Method, PolicyFile};
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
    /// Number of confidence bins M on [0, 1] (with --binning mass, at most M per exit)
    #[arg(long, default_value_t = 10)]
    bins: usize,
    #[arg(long, help = inputs::BINNING_HELP, default_value_t = inputs::default_binning(), value_parser = ["width", "mass"])]
    binning: String,
    /// PCEE-WS smoothing window w: bins b−w..b+w are pooled [default: 1]
    #[arg(long)]
    window: Option<usize>,
    /// Default target accuracy δ in [0, 1] stored in the policy [default: 0.9] (not with --budget-flops or --target-accuracy, which choose δ)
    #[arg(long, allow_negative_numbers = true)]
    delta: Option<f64>,
    /// Level α in (0, 1): of pcee-lcb's Clopper–Pearson lower bound, and of the ucb guarantee [default: 0.05]
    #[arg(long, allow_negative_numbers = true)]
    alpha: Option<f64>,
    /// pcee-lcb: none (each bin's bound at level 1 − α: per bin) or bonferroni (at 1 − α/m over the m non-empty bins of the exits before the last: with probability 1 − α no bin below δ fires) [default: none]
    #[arg(long)]
    correction: Option<Correction>,
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
    /// Target-accuracy mode: the accuracy to reach, in (0, 1); δ is the cheapest whose validation accuracy is ≥ A (no guarantee), or, with --guarantee, the smallest certified for A
    #[arg(long, value_name = "A", allow_negative_numbers = true)]
    target_accuracy: Option<f64>,
    /// Risk control: crc (in expectation) or ucb (with probability 1 − α)
    #[arg(long, value_parser = ["crc", "ucb"], requires = "target_accuracy")]
    guarantee: Option<String>,
    /// Risk control: the loss, wrong (wrong at the exit) or gap (wrong at the exit, right at the last exit)
    #[arg(long, default_value = "wrong", value_parser = ["wrong", "gap"], requires = "guarantee")]
    loss: String,
    /// Risk control: share of the validation samples, in (0, 1), held out to certify δ; the rest builds the diagrams and temperatures (plain confidence without --temperature certifies on all)
    #[arg(
        long,
        value_name = "F",
        default_value_t = pcee::certify::DEFAULT_CERTIFY_FRACTION,
        allow_negative_numbers = true,
        requires = "guarantee"
    )]
    certify_fraction: f64,
    /// Risk control: seed of the random fit/certify split
    #[arg(long, default_value_t = 0, requires = "guarantee")]
    seed: u64,
    /// Policy file to write (JSON)
    #[arg(long, visible_alias = "out", value_name = "FILE")]
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
    check_applicable(&args, method)?;
    let delta = inputs::delta("--delta", args.delta.unwrap_or(0.9))?;
    let alpha = inputs::alpha("--alpha", args.alpha.unwrap_or(0.05))?;
    let options = CalibrateOptions {
        method,
        bins,
        binning: inputs::binning(&args.binning)?,
        params: MethodParams {
            window: args.window.unwrap_or(1),
            alpha,
            correction: args.correction.unwrap_or(Correction::None),
            thresholds: Vec::new(),
        },
        temperature: args.temperature,
        delta,
        choice: choice(&args, alpha),
    };
    let val = inputs::read_logits(&args.val)?;
    let mut policy = PolicyFile::calibrate(&val, &inputs::file_name(&args.val), &options)
        .map_err(|err| match err {
            CalibrateError::NeedsBudget => anyhow!("--method: msdnet-budget needs --budget-flops; expected a budget in mean FLOPs per sample"),
            err => anyhow!("{}: {err}", flag(err.option())),
        })?;
    policy.content_hash = Some(content_hash(&args.val).map_err(|err| {
        anyhow!(
            "{}: cannot be read again to hash it: {err}",
            args.val.display()
        )
    })?);
    policy.write(&args.output)?;
    print_summary(&args, &policy);
    if let Some(note) = crate::output::unreachable_delta_note(&args.output, &policy, policy.delta) {
        eprintln!("{note}");
    }
    Ok(())
}

/// Refuses a flag the calibration would not use, rather than ignoring it silently.
fn check_applicable(args: &Args, method: Method) -> anyhow::Result<()> {
    let unused = |flag: &str, why: &str| Err(anyhow!("{flag}: not used {why}; remove it"));
    if args.delta.is_some() && (args.budget_flops.is_some() || args.target_accuracy.is_some()) {
        let mode = if args.budget_flops.is_some() {
            "--budget-flops"
        } else {
            "--target-accuracy"
        };
        return unused("--delta", &format!("with {mode}, which chooses δ"));
    }
    if args.window.is_some() && method != Method::PceeWs {
        return unused("--window", "by this method; it applies to --method pcee-ws");
    }
    if args.correction.is_some() && method != Method::PceeLcb {
        return unused(
            "--correction",
            "by this method; it applies to --method pcee-lcb",
        );
    }
    let ucb = args.guarantee.as_deref() == Some("ucb");
    if args.alpha.is_some() && method != Method::PceeLcb && !ucb {
        return unused(
            "--alpha",
            "here; it applies to --method pcee-lcb and --guarantee ucb",
        );
    }
    Ok(())
}

/// How δ is chosen: for `--budget-flops`, for `--target-accuracy` (certified with
/// `--guarantee`), or given.
fn choice(args: &Args, alpha: f64) -> Choice {
    if let Some(budget) = args.budget_flops {
        return Choice::Budget(budget);
    }
    match (args.target_accuracy, args.guarantee.as_deref()) {
        (Some(target_accuracy), Some(guarantee)) => Choice::Risk {
            target_accuracy,
            guarantee: if guarantee == "crc" {
                Guarantee::Crc
            } else {
                Guarantee::Ucb
            },
            loss: if args.loss == "gap" {
                Loss::Gap
            } else {
                Loss::Wrong
            },
            alpha,
            certify: CertifySplit {
                fraction: args.certify_fraction,
                seed: args.seed,
            },
        },
        (Some(target_accuracy), None) => Choice::Target(target_accuracy),
        (None, _) => Choice::Given,
    }
}

/// The flag of a [`CalibrateOptions`] field named by [`pcee::calibrate::CalibrateError::option`].
fn flag(option: &str) -> &'static str {
    match option {
        "bins" => "--bins",
        "budget_flops" => "--budget-flops",
        "target_accuracy" => "--target-accuracy",
        "certify_fraction" => "--certify-fraction",
        _ => "--method",
    }
}

/// `10 bins (width)`, or with equal-mass bins the bins each exit got, e.g.
/// `10 bins asked (mass), per exit 10, 10, 7` when ties merged some.
fn bins_line(policy: &PolicyFile) -> String {
    let per_exit: Vec<usize> = policy.diagrams().iter().map(|d| d.bins()).collect();
    if per_exit.iter().all(|&b| b == policy.bins()) {
        return format!("{} bins ({})", policy.bins(), policy.binning);
    }
    let list: Vec<String> = per_exit.iter().map(usize::to_string).collect();
    format!(
        "{} bins asked ({}), per exit {}",
        policy.bins(),
        policy.binning,
        list.join(", ")
    )
}

fn print_summary(args: &Args, policy: &PolicyFile) {
    // msdnet-budget's thresholds do not read δ: no δ is printed for it.
    let delta = if policy.method.uses_delta() {
        format!(", δ = {}", policy.delta)
    } else {
        String::new()
    };
    println!(
        "wrote {}: method {}{delta}, {}, {} exits, calibrated on {} sample{} of {}",
        args.output.display(),
        policy.method,
        bins_line(policy),
        policy.exit_count(),
        policy.samples,
        if policy.samples == 1 { "" } else { "s" },
        policy.source
    );
    if let Some(alpha) = policy.alpha {
        let cells = pcee::policy::cells_that_can_fire(&policy.diagrams());
        let level = match policy.correction {
            Correction::None => format!("1 − α = {} per bin", 1.0 - alpha),
            Correction::Bonferroni => format!(
                "1 − α/{cells} per bin (bonferroni: no bin below δ fires with probability ≥ {})",
                1.0 - alpha
            ),
        };
        println!("pcee-lcb bounds each bin's accuracy at level {level}");
    }
    if let Some(s) = &policy.selection {
        let how = match s.rule.as_str() {
            "budget" | "msdnet-budget" => format!(
                "{} for a budget of {} FLOPs",
                s.rule,
                flops(s.budget_flops.unwrap_or(0.0))
            ),
            "target" => format!(
                "the least validation FLOPs reaching a target accuracy of {} (no guarantee)",
                percent(s.target_accuracy.unwrap_or(0.0))
            ),
            rule => format!(
                "{rule} for a target accuracy of {} (loss {}, certify risk {:.4}, certificate {:.4})",
                percent(s.target_accuracy.unwrap_or(0.0)),
                s.loss.as_deref().unwrap_or("-"),
                s.risk.unwrap_or(0.0),
                s.certificate.unwrap_or(0.0)
            ),
        };
        let on = match (s.certify.as_deref(), s.certify_samples, s.fit_samples) {
            (Some("held-out"), Some(c), Some(f)) => format!(
                "on {c} held-out certify samples (diagrams on the other {f}, seed {})",
                s.certify_seed.unwrap_or(0)
            ),
            (Some("all"), Some(c), _) => {
                format!("on all {c} samples (confidence thresholds are fixed in advance)")
            }
            _ => "on the validation set".to_string(),
        };
        println!(
            "chosen by {how}: accuracy {}, mean FLOPs {} {on}",
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
    let mut table = Table::new(&[
        "exit",
        "bins",
        "accuracy",
        "confidence",
        "ECE",
        "temperature",
    ]);
    for (l, (_, d)) in policy.exits.iter().enumerate() {
        let or_dash = |x: Option<f64>| x.map_or("-".into(), percent);
        let t = policy
            .temperatures
            .as_ref()
            .map_or("-".into(), |t| format!("{:.3}", t[l]));
        table.row(vec![
            l.to_string(),
            d.bins().to_string(),
            or_dash(d.overall_accuracy()),
            or_dash(d.overall_confidence()),
            format!("{:.4}", d.ece()),
            t,
        ]);
    }
    println!("{}", table.render());
    warn_at_temperature_bound(policy);
}

/// A warning per exit whose fitted temperature stopped at the search bound (issue 33).
fn warn_at_temperature_bound(policy: &PolicyFile) {
    let Some(temperatures) = &policy.temperatures else {
        return;
    };
    for (l, &t) in temperatures.iter().enumerate() {
        if pcee::temperature::at_search_bound(t) {
            eprintln!(
                "warning: --temperature: exit {l}'s temperature stopped at the search bound {t}; \
                 its NLL keeps falling beyond it (predictions no better than chance, or logits \
                 scaled by more than 10^4), so this exit is not calibrated"
            );
        }
    }
}
