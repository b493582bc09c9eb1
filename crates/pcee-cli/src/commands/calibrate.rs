//! `pcee calibrate`: per-exit reliability diagrams on validation logits → a policy file.

use crate::inputs;
use crate::output::{percent, Table};
use pcee::policy_file::{CalibrateError, PolicyFile};
use pcee::{reliability_diagrams, ScoreTable};
use std::path::PathBuf;

/// Build the reliability diagram of every exit on validation logits and save a policy file
/// (diagrams, not thresholds: δ can be changed later without recalibrating).
#[derive(clap::Args)]
pub struct Args {
    /// Validation logits (.npz from numpy.savez, or .safetensors): logits [exits, samples, classes], labels [samples], optional flops [exits]
    #[arg(long, value_name = "FILE")]
    val: PathBuf,
    /// Exit method: confidence, pcee or pcee-ws
    #[arg(long, value_name = "METHOD")]
    method: String,
    /// Number of equal-width confidence bins on [0, 1]
    #[arg(long, default_value_t = 10)]
    bins: usize,
    /// PCEE-WS smoothing window w: bins b−w..b+w are pooled
    #[arg(long, default_value_t = 1)]
    window: usize,
    /// Default target accuracy δ in [0, 1] stored in the policy
    #[arg(long, default_value_t = 0.9, allow_negative_numbers = true)]
    delta: f64,
    /// Policy file to write (JSON)
    #[arg(long, value_name = "FILE")]
    output: PathBuf,
}

/// Runs `pcee calibrate`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let method = inputs::method("--method", &args.method)?;
    let bins = inputs::bins(args.bins)?;
    let delta = inputs::delta("--delta", args.delta)?;
    let val = inputs::read_logits(&args.val)?;
    let diagrams = reliability_diagrams(&ScoreTable::from_logits(&val), bins);
    let source = inputs::file_name(&args.val);
    let policy = PolicyFile::calibrate(method, diagrams, val.flops(), delta, args.window, &source)
        .map_err(|err| match err {
            CalibrateError::Oracle => anyhow::anyhow!("--method: {err}"),
            CalibrateError::Bins => anyhow::anyhow!("--bins: {err}"),
            CalibrateError::Delta(_) => anyhow::anyhow!("--delta: {err}"),
        })?;
    policy.write(&args.output)?;
    println!(
        "wrote {}: method {method}, δ = {delta}, {bins} bins, {} exits, calibrated on {} samples of {source}",
        args.output.display(),
        policy.exit_count(),
        policy.samples
    );
    let mut table = Table::new(&["exit", "accuracy", "confidence", "ECE"]);
    for (l, (_, d)) in policy.exits.iter().enumerate() {
        let or_dash = |x: Option<f64>| x.map_or("-".into(), percent);
        table.row(vec![
            l.to_string(),
            or_dash(d.overall_accuracy()),
            or_dash(d.overall_confidence()),
            format!("{:.4}", d.ece()),
        ]);
    }
    println!("{}", table.render());
    Ok(())
}
