//! `pcee stages`: one multi-exit ONNX file (the exits' logits as its outputs) cut into a
//! stage-graph directory for `pcee infer|logits|serve --stages` (crate `pcee-onnx`, module
//! `cut`; design in docs/stages.md). Needs the cargo feature `onnx`.

use std::path::PathBuf;

/// Cut one multi-exit ONNX file into stage graphs and exit heads, for real early exit.
#[derive(clap::Args)]
pub struct Args {
    /// The ONNX model: one graph whose outputs are the exits' logits `[batch, classes]`, in
    /// network order (e.g. `torch.onnx.export(…, output_names=["exit_1", …],
    /// dynamic_axes={name: {0: "batch"} …})`); external-data files beside it are read too.
    #[arg(value_name = "MODEL.onnx")]
    model: PathBuf,
    /// The directory to write (created; an earlier stage-graph directory there is replaced).
    #[arg(long, visible_alias = "output", value_name = "DIR")]
    out: PathBuf,
    /// The exits' output names in network order [default: the graph's outputs].
    #[arg(long, value_name = "NAME,…", value_delimiter = ',')]
    exits: Option<Vec<String>>,
    /// Cumulative FLOPs per sample up to each exit, in the exits' order [default: counted from
    /// the graph: 2 per multiply-add of Conv, ConvTranspose, Gemm and MatMul].
    #[arg(
        long,
        value_name = "F1,F2,…",
        value_delimiter = ',',
        allow_hyphen_values = true
    )]
    flops: Option<Vec<f64>>,
}

/// Runs `pcee stages`.
#[cfg(feature = "onnx")]
pub fn run(args: Args) -> anyhow::Result<()> {
    use pcee_onnx::cut;
    let options = cut::Options {
        exits: args.exits,
        flops: args.flops,
    };
    let summary = cut::cut(&args.model, &args.out, &options)?;
    print!("{}", table(&summary));
    for note in &summary.notes {
        eprintln!("note: {note}");
    }
    let m = &summary.manifest;
    let inputs: Vec<String> = m.inputs.iter().map(pcee_onnx::manifest::spec).collect();
    println!(
        "wrote {} stages and {} heads, {} classes, reading {}, to {}{}",
        m.stages.len(),
        m.heads.len(),
        m.classes,
        inputs.join(" and "),
        args.out.display(),
        match summary.dead.iter().map(|(_, c)| c).sum::<usize>() {
            0 => String::new(),
            n => format!(
                " ({n} nodes no exit needs were left out: {})",
                summary
                    .dead
                    .iter()
                    .map(|(op, c)| format!("{op} × {c}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    );
    Ok(())
}

/// The per-exit table: nodes, the state after the stage, and FLOPs with each part's share of
/// the full network's.
#[cfg(feature = "onnx")]
fn table(summary: &pcee_onnx::cut::Summary) -> String {
    use std::fmt::Write;
    let flops = &summary.manifest.flops;
    let total = flops.last().copied().unwrap_or(1.0);
    let mut out = String::from(
        "exit             stage nodes  head nodes  state after stage    FLOPs to exit  stage share  head share\n",
    );
    for (k, e) in summary.exits.iter().enumerate() {
        let share =
            |f: Option<f64>| f.map_or("-".to_string(), |f| format!("{:.1} %", 100.0 * f / total));
        let state = if k + 1 == summary.exits.len() {
            "-".to_string()
        } else {
            format!(
                "{} × {:.1} KiB",
                e.state_tensors,
                e.state_bytes as f64 / 1024.0
            )
        };
        let _ = writeln!(
            out,
            "{:<16} {:>11}  {:>10}  {:>17}  {:>15.4e}  {:>11}  {:>10}",
            e.exit,
            e.stage_nodes,
            e.head_nodes,
            state,
            flops[k],
            share(e.stage_flops),
            share(e.head_flops)
        );
    }
    out
}

/// Without the feature `onnx`: one line saying how to get the command.
#[cfg(not(feature = "onnx"))]
pub fn run(_: Args) -> anyhow::Result<()> {
    anyhow::bail!(
        "stages: this pcee was built without ONNX support; rebuild it with `--features onnx` \
         (cargo install --locked --path crates/pcee-cli --features onnx)"
    )
}
