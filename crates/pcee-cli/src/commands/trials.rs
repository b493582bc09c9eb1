//! `pcee trials`: repeated random calibration/test splits of one logits file — per method and
//! δ, the mean and 5th percentile of the achieved accuracy, the violation rate and mean FLOPs.

use crate::output::{flops, percent, Table};
use crate::plot::png::figure_files;
use crate::{inputs, plot};
use anyhow::anyhow;
use pcee::choose::risk::Loss;
use pcee::policy::MethodParams;
use pcee::trials::{run_trials, TrialConfig, TrialMethod, TrialRow};
use std::path::PathBuf;

/// Compare methods honestly: calibrate on a random part of one logits file, test on the rest,
/// many times; write trials.csv, trials.md, trials.svg and trials.png, and print the table.
#[derive(clap::Args)]
pub struct Args {
    /// Labelled logits (.npz or .safetensors) to split again and again
    #[arg(long, value_name = "FILE")]
    logits: PathBuf,
    /// Number of random splits
    #[arg(long, default_value_t = 100)]
    splits: usize,
    /// Fraction of the samples used for calibration in each split, in (0, 1)
    #[arg(long, default_value_t = 0.5, allow_negative_numbers = true)]
    cal_fraction: f64,
    /// Comma-separated methods METHOD[+ts][+crc|+ucb]: +ts fits per-exit temperatures on the calibration part, +crc/+ucb choose the method's δ by risk control for the target accuracy δ
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
    /// Loss of +crc/+ucb: wrong or gap
    #[arg(long, default_value = "wrong", value_parser = ["wrong", "gap"])]
    loss: String,
    /// Seed of the splits (split s shuffles with seed + s)
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Output directory (created if needed)
    #[arg(long, value_name = "DIR")]
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
    if args.splits == 0 {
        return Err(anyhow!("--splits: 0 splits; expected at least 1"));
    }
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
            thresholds: Vec::new(),
        },
        loss: if args.loss == "gap" {
            Loss::Gap
        } else {
            Loss::Wrong
        },
    };
    let rows = run_trials(&logits, &methods, &deltas, &config)
        .map_err(|err| anyhow!("--cal-fraction: {err}"))?;
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
        ]);
    }
    table
}

/// One line per (method, δ), then one column per split's accuracy is left out: the summary only.
fn csv(rows: &[TrialRow]) -> String {
    let mut out = String::from("method,delta,splits,mean_accuracy,p5_accuracy,violation_rate,mean_flops,flops_fraction,mean_policy_delta,infeasible_splits\n");
    for r in rows {
        out += &format!(
            "{},{},{},{},{},{},{},{},{},{}\n",
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
actually used (equal to the target except under risk control, which chooses it). Definitions: docs/methods.md.";
