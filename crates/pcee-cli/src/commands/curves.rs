//! `pcee curves`: the training curves of one or more runs (`<out>.history.csv` of `pcee train`)
//! as a figure and a table: has the last exit stopped rising?

use crate::output::{percent, Table};
use crate::plot::{history::training_curves, png::figure_files};
use crate::staging::Staging;
use anyhow::anyhow;
use pcee_nn::train::{parse_history, EpochSummary};
use std::path::{Path, PathBuf};

/// Plot training curves (every exit's validation accuracy per epoch) and summarise each run:
/// epochs, seconds per epoch, final and best validation accuracy of the last exit.
#[derive(clap::Args)]
pub struct Args {
    /// `<out>.history.csv` files written by `pcee train` (one panel each)
    #[arg(long, value_name = "FILE", num_args = 1.., required = true)]
    history: Vec<PathBuf>,
    /// Output directory for training-curves.svg and .png
    #[arg(long, visible_alias = "output", value_name = "DIR")]
    out: PathBuf,
}

/// Runs `pcee curves`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let runs = args
        .history
        .iter()
        .map(|path| Ok((run_name(path), read(path)?)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let files = figure_files("training-curves", training_curves(&runs)?)?;
    let mut staging = Staging::new(&args.out)?;
    for (name, content) in &files {
        staging.write(name, content)?;
    }
    staging.commit()?;
    println!("{}", summary(&runs).render());
    println!(
        "wrote training-curves.svg, training-curves.png to {}",
        args.out.display()
    );
    Ok(())
}

/// The epochs of one history file; errors name the file.
fn read(path: &Path) -> anyhow::Result<Vec<EpochSummary>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow!("{}: cannot read the file ({e})", path.display()))?;
    let epochs = parse_history(&text).map_err(|e| anyhow!("{}: {e}", path.display()))?;
    if epochs.is_empty() {
        return Err(anyhow!(
            "{}: no epoch; expected at least one row after the header",
            path.display()
        ));
    }
    Ok(epochs)
}

/// `runs/msdnet-large.history.csv` → `msdnet-large`.
fn run_name(path: &Path) -> String {
    let name = crate::inputs::file_name(path);
    name.strip_suffix(".history.csv")
        .unwrap_or(&name)
        .to_string()
}

/// One row per run: epochs, total and median seconds per epoch, the last exit's final and best
/// validation accuracy and the epoch of the best.
fn summary(runs: &[(String, Vec<EpochSummary>)]) -> Table {
    let mut table = Table::new(&[
        "run",
        "epochs",
        "hours",
        "median s/epoch",
        "final val (last exit)",
        "best val (last exit)",
        "best at epoch",
    ]);
    for (name, epochs) in runs {
        let seconds: Vec<f64> = epochs.iter().map(|e| e.seconds).collect();
        let last = |e: &EpochSummary| *e.val_accuracy.last().expect("at least one exit");
        let best = epochs
            .iter()
            .max_by(|a, b| last(a).total_cmp(&last(b)))
            .expect("at least one epoch");
        table.row(vec![
            name.clone(),
            epochs.len().to_string(),
            format!("{:.2}", seconds.iter().sum::<f64>() / 3600.0),
            format!("{:.0}", pcee::stats::percentile(&seconds, 0.5)),
            percent(last(epochs.last().expect("at least one epoch"))),
            percent(last(best)),
            (best.epoch + 1).to_string(),
        ]);
    }
    table
}
