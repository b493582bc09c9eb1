//! `pcee diagram`: the reliability diagram and ECE of every exit.

use crate::output::{flops, percent, Table};
use crate::{inputs, plot};
use pcee::{reliability_diagrams_binned, Binning, ReliabilityDiagram, ScoreTable};
use std::path::PathBuf;

/// Draw one reliability diagram per exit (reliability-exit-<l>.svg) and print the ECE of every
/// exit.
#[derive(clap::Args)]
pub struct Args {
    /// Logits (.npz or .safetensors), usually the validation split
    #[arg(long, value_name = "FILE")]
    logits: PathBuf,
    /// Number of confidence bins M on [0, 1] (with --binning mass, at most M per exit)
    #[arg(long, default_value_t = 10)]
    bins: usize,
    /// How the figures' bins are laid out: width or mass (the ECE table gives both)
    #[arg(long, default_value_t = inputs::default_binning(), value_parser = ["width", "mass"])]
    binning: String,
    /// Output directory (created if needed)
    #[arg(long, visible_alias = "output", value_name = "DIR")]
    out: PathBuf,
}

/// Runs `pcee diagram`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let bins = inputs::bins(args.bins)?;
    let binning = inputs::binning(&args.binning)?;
    let logits = inputs::read_logits(&args.logits)?;
    let scores = ScoreTable::from_logits(&logits);
    let [width, mass] = Binning::ALL.map(|b| reliability_diagrams_binned(&scores, bins, b));
    let diagrams = if binning == Binning::Mass {
        &mass
    } else {
        &width
    };
    let files = diagrams
        .iter()
        .enumerate()
        .map(|(l, d)| {
            let svg = plot::diagram::reliability(d, l)?;
            plot::png::figure_files(&format!("reliability-exit-{l}"), svg)
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut staging = crate::staging::Staging::new(&args.out)?;
    for (name, content) in files.iter().flatten() {
        staging.write(name, content)?;
    }
    staging.commit()?;
    println!("{}", ece_table(&width, &mass, logits.flops()));
    println!(
        "wrote {} reliability diagrams to {}",
        files.len(),
        args.out.display()
    );
    Ok(())
}

/// One line per exit: cost, accuracy, mean confidence, their gap, the ECE with equal-width and
/// with equal-mass bins (and how many equal-mass bins the exit has), and the regime.
fn ece_table(width: &[ReliabilityDiagram], mass: &[ReliabilityDiagram], cost: &[f64]) -> String {
    let mut table = Table::new(&[
        "exit",
        "FLOPs",
        "accuracy",
        "confidence",
        "conf - acc",
        "ECE width",
        "ECE mass",
        "mass bins",
        "regime",
    ]);
    for (l, (d, m)) in width.iter().zip(mass).enumerate() {
        let (acc, conf) = (
            d.overall_accuracy().unwrap_or(0.0),
            d.overall_confidence().unwrap_or(0.0),
        );
        table.row(vec![
            l.to_string(),
            flops(cost[l]),
            percent(acc),
            percent(conf),
            crate::output::signed_points(100.0 * (conf - acc)),
            format!("{:.4}", d.ece()),
            format!("{:.4}", m.ece()),
            m.bins().to_string(),
            pcee::Regime::of(acc, conf).to_string(),
        ]);
    }
    table.render()
}
