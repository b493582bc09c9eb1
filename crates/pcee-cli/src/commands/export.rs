//! `pcee export`: a model trained by `pcee train` written as ONNX stage graphs — one graph per
//! stage and per exit head (MSDNet with BatchNorm folded, or ViT) — with their
//! `pcee-stages.json` manifest, for `pcee infer --stages` and `pcee serve --stages` (crate
//! `pcee-onnx`). Needs the cargo feature `onnx`; without it the command says so and fails.

use std::path::PathBuf;

/// Export a trained model as ONNX stage graphs and a manifest.
#[derive(clap::Args)]
pub struct Args {
    /// Model weights (.safetensors) written by `pcee train`; its .json card must sit beside it.
    #[arg(long, value_name = "FILE")]
    model: PathBuf,
    /// The directory to write (created; an earlier export there is replaced), or with
    /// `--single-file` the ONNX file.
    #[arg(long, visible_alias = "output", value_name = "DIR|FILE")]
    out: PathBuf,
    /// Write one ONNX file whose outputs are the exits' logits (`exit_0`, …), as
    /// `torch.onnx.export` writes a multi-exit network; `pcee stages` cuts it into stages.
    #[arg(long)]
    single_file: bool,
}

/// Runs `pcee export`.
#[cfg(feature = "onnx")]
pub fn run(args: Args) -> anyhow::Result<()> {
    use pcee_nn::{default_device, store};
    let device = default_device();
    let (model, _card) = store::load(&args.model, &device)?;
    let source = args.model.display().to_string();
    if args.single_file {
        let manifest = pcee_onnx::export_single_file(&model, Some(source), &args.out)?;
        println!(
            "wrote one graph with {} exits (outputs exit_0 to exit_{}), {} classes, to {}",
            manifest.exits(),
            manifest.exits() - 1,
            manifest.classes,
            args.out.display()
        );
        return Ok(());
    }
    let manifest = pcee_onnx::export(&model, Some(source), &args.out)?;
    println!(
        "wrote {} stage graph(s) and {} head graph(s), {} classes, to {}",
        manifest.stages.len(),
        manifest.heads.len(),
        manifest.classes,
        args.out.display()
    );
    Ok(())
}

/// Without the feature `onnx`: one line saying how to get the command.
#[cfg(not(feature = "onnx"))]
pub fn run(_: Args) -> anyhow::Result<()> {
    anyhow::bail!(
        "export: this pcee was built without ONNX support; rebuild it with `--features onnx` \
         (cargo install --locked --path crates/pcee-cli --features onnx)"
    )
}
