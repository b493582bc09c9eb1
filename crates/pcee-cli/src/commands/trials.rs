//! `pcee trials`: repeated random calibration/test splits of one logits file — per method and
//! δ, the mean and 5th percentile of the achieved accuracy, the violation rate and mean FLOPs.

use crate::output::{flops, percent, Table};
use crate::plot::png::figure_files;
use crate::{inputs, plot};
use anyhow::anyhow;
use pcee::choose::risk::Loss;
use pcee::policy::{Correction, MethodParams};
use pcee::trials::{run_trials, GuaranteeCheck, TrialConfig, TrialError, TrialMethod, TrialRow};
use std::path::PathBuf;

/// Compare methods honestly: calibrate on a random part of one logits file, test on the rest,
/// many times; write trials.csv, trials.md, trials.svg and trials.png, and print the table.
#[derive(clap::Args)]
pub struct Args {
    /// Labelled logits (.npz or .safetensors) to split again and again
    #[arg(long, value_name = "FILE")]
    logits: PathBuf,
    /// Number of random splits, 1 to 100 000
    #[arg(long, default_value_t = 100)]
    splits: usize,
    /// Fraction of the samples used for calibration in each split, in (0, 1)
    #[arg(long, default_value_t = 0.5, allow_negative_numbers = true)]
    cal_fraction: f64,
    /// Comma-separated methods METHOD[+ts][+target|+crc|+ucb]: +ts fits per-exit temperatures on the calibration part; +target chooses the method's δ as the cheapest reaching the target accuracy δ on the calibration part (no guarantee), +crc/+ucb by risk control
    #[arg(
        long,
        default_value = "confidence,confidence+ts,pcee,pcee-ws,pcee-lcb,pcee+crc,pcee+ucb"
    )]
    methods: String,
    /// Target accuracies δ as START:STOP:STEP (STOP included), each in [0, 1]
    #[arg(long, default_value = "0.85:0.95:0.05", value_name = "START:STOP:STEP")]
    deltas: String,
    /// Number of confidence bins M on [0, 1] (with --binning mass, at most M per exit)
    #[arg(long, default_value_t = 10)]
    bins: usize,
    #[arg(long, help = inputs::BINNING_HELP, default_value_t = inputs::default_binning(), value_parser = ["width", "mass"])]
    binning: String,
    /// PCEE-WS smoothing window w
    #[arg(long, default_value_t = 1)]
    window: usize,
    /// Level α in (0, 1) of pcee-lcb and of +ucb
    #[arg(long, default_value_t = 0.05, allow_negative_numbers = true)]
    alpha: f64,
    /// pcee-lcb: none (each bin's bound at level 1 − α: per bin) or bonferroni (at 1 − α/m over the m non-empty bins of the exits before the last: with probability 1 − α no bin below δ fires)
    #[arg(long, default_value = "none")]
    correction: Correction,
    /// Loss of +crc/+ucb: wrong or gap
    #[arg(long, default_value = "wrong", value_parser = ["wrong", "gap"])]
    loss: String,
    /// Share in (0, 1) of each calibration part held out to certify δ for +crc/+ucb (the rest builds the diagrams and temperatures; plain confidence+crc|ucb certifies on all)
    #[arg(
        long,
        value_name = "F",
        default_value_t = pcee::certify::DEFAULT_CERTIFY_FRACTION,
        allow_negative_numbers = true
    )]
    certify_fraction: f64,
    /// Seed of the splits (split s shuffles with seed + s, and splits its calibration part with seed + s)
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Output directory (created if needed)
    #[arg(long, visible_alias = "output", value_name = "DIR")]
    out: PathBuf,
}

/// Runs `pcee trials`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let methods = parse_methods(&args.methods)?;
    let deltas: Vec<f64> = inputs::deltas("--deltas", &args.deltas)?
        .into_iter()
        .map(pcee::Delta::get)
        .collect();
    let bins = inputs::bins(args.bins)?;
    let alpha = inputs::alpha("--alpha", args.alpha)?;
    inputs::count_up_to("--splits", args.splits as u64, 100_000)?;
    let logits = inputs::read_logits(&args.logits)?;
    let config = TrialConfig {
        splits: args.splits,
        cal_fraction: args.cal_fraction,
        seed: args.seed,
        bins,
        binning: inputs::binning(&args.binning)?,
        params: MethodParams {
            window: args.window,
            alpha,
            correction: args.correction,
            thresholds: Vec::new(),
        },
        loss: if args.loss == "gap" {
            Loss::Gap
        } else {
            Loss::Wrong
        },
        certify_fraction: args.certify_fraction,
    };
    let rows = run_trials(&logits, &methods, &deltas, &config).map_err(|err| match err {
        TrialError::CertifyFraction(e) if e.fraction > 0.0 && e.fraction < 1.0 => anyhow!(
            "{}: {} samples give {} calibration samples per split (--cal-fraction {}), too few \
             for the +crc/+ucb methods, which split them into {} to fit and {} to certify \
             (--certify-fraction {}); expected a file with more samples, or --methods without \
             +crc/+ucb",
            args.logits.display(),
            logits.samples(),
            e.samples,
            args.cal_fraction,
            e.fit,
            e.certify,
            e.fraction
        ),
        TrialError::CertifyFraction(_) => anyhow!("--certify-fraction: {err}"),
        err => anyhow!("--cal-fraction: {err}"),
    })?;
    let table = table(&rows);
    let svg = plot::trials::accuracy_vs_delta(&rows, &methods, args.splits)?;
    let mut files = vec![
        ("trials.csv".to_string(), csv(&rows).into_bytes()),
        (
            "trials.md".to_string(),
            (table.markdown() + "\n\n" + LEGEND + "\n").into_bytes(),
        ),
    ];
    files.extend(figure_files("trials", svg)?);
    let mut staging = crate::staging::Staging::new(&args.out)?;
    for (name, content) in &files {
        staging.write(name, content)?;
    }
    staging.commit()?;
    println!(
        "{} splits of {} ({} samples, {:.0}% for calibration), seed {}, {} bins ({})",
        args.splits,
        inputs::file_name(&args.logits),
        logits.samples(),
        100.0 * args.cal_fraction,
        args.seed,
        config.bins,
        config.binning
    );
    println!("{}", table.render());
    println!(
        "wrote trials.csv, trials.md, trials.svg, trials.png to {}",
        args.out.display()
    );
    Ok(())
}

/// Parses `--methods`: at least one trial method, no repeats.
fn parse_methods(list: &str) -> anyhow::Result<Vec<TrialMethod>> {
    let mut methods: Vec<TrialMethod> = Vec::new();
    for spec in list.split(',') {
        let m: TrialMethod = spec.parse().map_err(|err| anyhow!("--methods: {err}"))?;
        if methods.contains(&m) {
            return Err(anyhow!(
                "--methods: '{m}' is listed twice; expected each method once"
            ));
        }
        methods.push(m);
    }
    Ok(methods)
}

/// One row per (method, δ).
fn table(rows: &[TrialRow]) -> Table {
    let mut table = Table::new(&[
        "method",
        "δ",
        "mean acc",
        "5th pct acc",
        "violation rate",
        "mean FLOPs",
        "% of full",
        "policy δ",
        "guarantee",
    ]);
    for r in rows {
        let infeasible = if r.infeasible > 0 {
            format!(" ({} infeasible)", r.infeasible)
        } else {
            String::new()
        };
        table.row(vec![
            r.method.to_string(),
            format!("{:.3}", r.delta),
            percent(r.mean_accuracy),
            percent(r.p5_accuracy),
            format!("{}{infeasible}", percent(r.violation_rate)),
            flops(r.mean_flops),
            percent(r.flops_fraction),
            format!("{:.3}", r.mean_policy_delta),
            r.guarantee.as_ref().map_or(String::new(), verdict),
        ]);
    }
    table
}

/// `held` or `FAILED`, with what was measured against the noise limit: for ucb the certified
/// violation rate, for crc the mean test risk.
fn verdict(c: &GuaranteeCheck) -> String {
    let what = match c.guarantee {
        pcee::choose::risk::Guarantee::Ucb => "violations",
        pcee::choose::risk::Guarantee::Crc => "mean risk",
    };
    let (word, sign) = if c.held {
        ("held", "≤")
    } else {
        ("FAILED", ">")
    };
    format!(
        "{word}: {what} {} {sign} {}",
        percent(c.measured),
        percent(c.limit)
    )
}

/// One line per (method, δ), then one column per split's accuracy is left out: the summary only.
fn csv(rows: &[TrialRow]) -> String {
    let mut out = String::from("method,delta,splits,mean_accuracy,p5_accuracy,violation_rate,mean_flops,flops_fraction,mean_policy_delta,infeasible_splits,guarantee,guarantee_measured,guarantee_limit\n");
    for r in rows {
        let (verdict, measured, limit) = match &r.guarantee {
            Some(c) => (
                if c.held { "held" } else { "failed" },
                c.measured.to_string(),
                c.limit.to_string(),
            ),
            None => ("", String::new(), String::new()),
        };
        out += &format!(
            "{},{},{},{},{},{},{},{},{},{},{verdict},{measured},{limit}\n",
            r.method,
            r.delta,
            r.accuracies.len(),
            r.mean_accuracy,
            r.p5_accuracy,
            r.violation_rate,
            r.mean_flops,
            r.flops_fraction,
            r.mean_policy_delta,
            r.infeasible
        );
    }
    out
}

/// What the columns of trials.md mean (written under the table).
const LEGEND: &str = "Per method and target δ, over the random calibration/test splits: *mean acc* and *5th pct acc* \
of the achieved test accuracy; *violation rate*: the fraction of splits whose test accuracy is below δ; \
*infeasible*: splits where risk control (`+crc`, `+ucb`) could certify no δ on the calibration half, so every \
sample went to the last exit; *mean FLOPs* per sample and *% of full*; *policy δ*: the mean δ the policy \
actually used (equal to the target except under risk control, which chooses it); *guarantee* (`+crc`, `+ucb`): \
`+ucb` promises a violation rate ≤ α, so it FAILED when the splits that certified a δ and missed the target \
exceed α + 3 binomial standard errors; `+crc` promises a mean test risk ≤ 1 − δ, so it FAILED when the mean \
over certified splits exceeds that by 3 standard errors. Risk control certifies δ on a held-out part of each \
calibration part (--certify-fraction). Definitions: docs/methods.md.";
