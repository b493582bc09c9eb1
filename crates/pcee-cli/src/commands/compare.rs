//! `pcee compare`: two classifiers on the same test images, paired — the 2×2 table of
//! per-image correctness, the error difference with a bootstrap interval, McNemar's exact p.

use crate::inputs;
use crate::output::{paired_table, percent};
use anyhow::anyhow;
use pcee::compare::{compare_paired, PairedComparison};
use pcee::{ExitLogits, ScoreTable};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// The most bootstrap resamples: ample for a 95 % interval, and about a minute on 10 000
/// images (the work is resamples × images).
const MAX_BOOTSTRAP: u64 = 100_000;

/// Compare one exit of two models on the same test images (paired: McNemar's exact test and
/// a bootstrap interval of the error difference).
#[derive(clap::Args)]
pub struct Args {
    /// Logits of model A (.npz or .safetensors)
    #[arg(long, value_name = "FILE")]
    a: PathBuf,
    /// Logits of model B on the same images in the same order
    #[arg(long, value_name = "FILE")]
    b: PathBuf,
    /// Exit of A to compare, 0-based (default: its last)
    #[arg(long, value_name = "L")]
    exit_a: Option<usize>,
    /// Exit of B to compare, 0-based (default: its last)
    #[arg(long, value_name = "L")]
    exit_b: Option<usize>,
    /// Bootstrap resamples of the interval (1 to 100 000)
    #[arg(long, default_value_t = 2000)]
    bootstrap: u64,
    /// Seed of the bootstrap
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Print one JSON object instead of a table
    #[arg(long)]
    json: bool,
}

/// The `--json` object: the compared exits plus every field of the comparison.
#[derive(Serialize)]
struct Report {
    exit_a: usize,
    exit_b: usize,
    #[serde(flatten)]
    comparison: PairedComparison,
}

/// Runs `pcee compare`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let bootstrap = inputs::count_up_to("--bootstrap", args.bootstrap, MAX_BOOTSTRAP)? as usize;
    let a = inputs::read_logits(&args.a)?;
    let b = inputs::read_logits(&args.b)?;
    if a.samples() != b.samples() {
        return Err(anyhow!(
            "{}: has {} samples but {} has {}; expected logits of the same images in the same order",
            args.b.display(),
            b.samples(),
            args.a.display(),
            a.samples()
        ));
    }
    if a.labels() != b.labels() {
        return Err(anyhow!(
            "{}: its labels differ from those of {}; expected logits of the same images in the same order",
            args.b.display(),
            args.a.display()
        ));
    }
    let exit_a = chosen_exit("--exit-a", &args.a, &a, args.exit_a)?;
    let exit_b = chosen_exit("--exit-b", &args.b, &b, args.exit_b)?;
    let comparison = compare_paired(
        &correct_at(&a, exit_a),
        &correct_at(&b, exit_b),
        bootstrap,
        args.seed,
    );
    if args.json {
        let report = Report {
            exit_a,
            exit_b,
            comparison,
        };
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print!("{}", text(&args, exit_a, exit_b, &comparison));
    }
    Ok(())
}

/// `requested` checked against the exits of `logits`, or its last exit.
fn chosen_exit(
    flag: &str,
    path: &Path,
    logits: &ExitLogits,
    requested: Option<usize>,
) -> anyhow::Result<usize> {
    let last = logits.exits() - 1;
    match requested {
        Some(l) if l > last => Err(anyhow!(
            "{flag}: exit {l} does not exist; {} has exits 0..={last}",
            path.display()
        )),
        Some(l) => Ok(l),
        None => Ok(last),
    }
}

/// `[samples]` whether exit `exit` of `logits` predicts the label.
fn correct_at(logits: &ExitLogits, exit: usize) -> Vec<bool> {
    let scores = ScoreTable::from_logits(logits);
    (0..scores.samples())
        .map(|i| scores.sample(i)[exit].correct == Some(true))
        .collect()
}

/// The 2×2 table and the test, as printed.
fn text(args: &Args, exit_a: usize, exit_b: usize, c: &PairedComparison) -> String {
    let name_a = format!("A = {} exit {exit_a}", args.a.display());
    let name_b = format!("B = {} exit {exit_b}", args.b.display());
    let table = paired_table(c, "A", "B");
    format!(
        "{name_a}: error {}\n{name_b}: error {}\n{}\n\
         error B − A: {:+.2} points, 95 % bootstrap interval [{:+.2}, {:+.2}] ({} resamples)\n\
         McNemar exact p = {:.3e} on {} discordant images ({} samples)\n",
        percent(c.error_a),
        percent(c.error_b),
        table.render(),
        100.0 * c.difference,
        100.0 * c.difference_ci[0],
        100.0 * c.difference_ci[1],
        c.bootstrap,
        c.mcnemar_p,
        c.only_a + c.only_b,
        c.samples
    )
}
