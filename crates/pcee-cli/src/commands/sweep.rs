//! `pcee sweep`: several methods at several target accuracies δ — the paper's curves.

use crate::output::{percent, Table};
use crate::{inputs, plot};
use pcee::{reliability_diagrams_binned, sweep, Method, ScoreTable, SweepRow};
use std::path::PathBuf;

/// Calibrate on validation logits and evaluate on test logits for each method and δ; write
/// sweep.csv, accuracy-vs-delta.svg and accuracy-vs-flops.svg, and print a table.
#[derive(clap::Args)]
pub struct Args {
    /// Validation logits (.npz or .safetensors), used to build the reliability diagrams
    #[arg(long, value_name = "FILE")]
    val: PathBuf,
    /// Test logits (.npz or .safetensors) of the same network
    #[arg(long, value_name = "FILE")]
    test: PathBuf,
    /// Comma-separated methods: confidence, pcee, pcee-ws, pcee-lcb (α = 0.05), oracle
    #[arg(long, default_value = "confidence,pcee,pcee-ws,oracle")]
    methods: String,
    /// Target accuracies δ as START:STOP:STEP (STOP included), each in [0, 1]
    #[arg(long, default_value = "0.5:1:0.025", value_name = "START:STOP:STEP")]
    deltas: String,
    /// Number of confidence bins M on [0, 1] (with --binning mass, at most M per exit)
    #[arg(long, default_value_t = 10)]
    bins: usize,
    #[arg(long, help = inputs::BINNING_HELP, default_value_t = inputs::default_binning(), value_parser = ["width", "mass"])]
    binning: String,
    /// PCEE-WS smoothing window w
    #[arg(long, default_value_t = 1)]
    window: usize,
    /// Output directory (created if needed)
    #[arg(long, visible_alias = "output", value_name = "DIR")]
    out: PathBuf,
}

/// Runs `pcee sweep`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let offered = [
        Method::Confidence,
        Method::Pcee,
        Method::PceeWs,
        Method::PceeLcb,
        Method::Oracle,
    ];
    let methods = inputs::methods("--methods", &args.methods, &offered)?;
    if methods.contains(&Method::MsdnetBudget) {
        return Err(anyhow::anyhow!("--methods: msdnet-budget is set by a FLOPs budget, not by δ; expected δ-driven methods (calibrate it with pcee calibrate --budget-flops)"));
    }
    let deltas: Vec<f64> = inputs::deltas("--deltas", &args.deltas)?
        .into_iter()
        .map(pcee::Delta::get)
        .collect();
    let bins = inputs::bins(args.bins)?;
    let binning = inputs::binning(&args.binning)?;
    let val = inputs::read_logits(&args.val)?;
    let test = inputs::read_logits(&args.test)?;
    inputs::same_network((&args.val, &val), (&args.test, &test))?;
    inputs::warn_if_same_file(&args.val, &args.test, "--test");
    let diagrams = reliability_diagrams_binned(&ScoreTable::from_logits(&val), bins, binning);
    let rows = sweep(
        &diagrams,
        &ScoreTable::from_logits(&test),
        test.flops(),
        &methods,
        &deltas,
        args.window,
    );
    // Everything is rendered before the first file is written.
    let cost_label = if test.has_flops() {
        "mean FLOPs per sample"
    } else {
        "mean exits computed per sample"
    };
    let mut files = vec![(
        "sweep.csv".to_string(),
        csv(&rows, test.exits()).into_bytes(),
    )];
    let points: Vec<_> = rows
        .iter()
        .map(|r| (r.method, r.delta, r.outcome.accuracy))
        .collect();
    let delta_figure = plot::sweep::accuracy_vs_delta(&points, &methods, None)?;
    files.extend(plot::png::figure_files("accuracy-vs-delta", delta_figure)?);
    let cost_figure = plot::sweep::accuracy_vs_flops(&rows, &methods, cost_label)?;
    files.extend(plot::png::figure_files("accuracy-vs-flops", cost_figure)?);
    let mut staging = crate::staging::Staging::new(&args.out)?;
    for (name, content) in &files {
        staging.write(name, content)?;
    }
    staging.commit()?;
    println!("{}", table(&rows, &methods, &deltas));
    println!(
        "wrote sweep.csv, accuracy-vs-delta.{{svg,png}}, accuracy-vs-flops.{{svg,png}} to {}",
        args.out.display()
    );
    Ok(())
}

/// One line per (method, δ): the outcome fields, then the fraction of samples at each exit.
fn csv(rows: &[SweepRow], exits: usize) -> String {
    let mut out =
        String::from("method,delta,accuracy,control_error,mean_flops,flops_fraction,mean_exit");
    for l in 0..exits {
        out += &format!(",exit_fraction_{l}");
    }
    out.push('\n');
    for row in rows {
        let o = &row.outcome;
        out += &format!(
            "{},{},{},{},{},{},{}",
            row.method,
            row.delta,
            o.accuracy,
            o.control_error(row.delta),
            o.mean_flops,
            o.flops_fraction,
            o.mean_exit
        );
        for f in &o.exit_fractions {
            out += &format!(",{f}");
        }
        out.push('\n');
    }
    out
}

/// One line per δ, two columns per method (accuracy, % of full FLOPs); the oracle, which does
/// not depend on δ, on a line of its own.
fn table(rows: &[SweepRow], methods: &[Method], deltas: &[f64]) -> String {
    let policies: Vec<Method> = methods
        .iter()
        .copied()
        .filter(|&m| m != Method::Oracle)
        .collect();
    let mut header = vec!["delta".to_string()];
    for m in &policies {
        header.push(format!("{m} acc"));
        header.push(format!("{m} FLOPs"));
    }
    let mut table = Table::new(&header);
    let find = |m: Method, d: f64| rows.iter().find(|r| r.method == m && r.delta == d);
    for &delta in deltas {
        let mut cells = vec![pcee::delta::Shortest(delta).to_string()];
        for &m in &policies {
            let o = &find(m, delta).expect("a row per method and δ").outcome;
            cells.push(percent(o.accuracy));
            cells.push(percent(o.flops_fraction));
        }
        table.row(cells);
    }
    let mut text = table.render();
    if let Some(o) = methods
        .contains(&Method::Oracle)
        .then(|| &find(Method::Oracle, deltas[0]).expect("oracle row").outcome)
    {
        text += &format!(
            "\noracle (a bound, the same at every δ): accuracy {} at {} of the full FLOPs",
            percent(o.accuracy),
            percent(o.flops_fraction)
        );
    }
    text
}
