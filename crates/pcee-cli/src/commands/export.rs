//! `pcee export`: a model trained by `pcee train` written as ONNX stage graphs — one graph per
//! stage and per exit head, BatchNorm folded — with their `pcee-stages.json` manifest, for
//! `pcee infer --stages` (crate `pcee-onnx`). Built with the cargo feature `onnx`.

use pcee_nn::{default_device, store};
use std::path::PathBuf;

/// Export a trained model as ONNX stage graphs and a manifest.
#[derive(clap::Args)]
pub struct Args {
    /// Model weights (.safetensors) written by `pcee train`; its .json card must sit beside it.
    #[arg(long, value_name = "FILE")]
    model: PathBuf,
    /// The directory to write (created; an earlier export there is replaced).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
}

/// Runs `pcee export`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let device = default_device();
    let (model, _card) = store::load(&args.model, &device)?;
    // The ViT graphs agree with burn on a tiny 2-head ViT (crates/pcee-onnx/tests/vit.rs) but
    // not on the shipped 4-head vit-small (bench/onnx/agree.sh: logits off by up to 12): refused
    // rather than written wrong until that is found.
    anyhow::ensure!(
        matches!(model.network(), pcee_nn::Network::MsdNet(_)),
        "{}: a ViT; its ONNX export disagrees with burn on vit-small (known bug), so only MSDNet \
         models are exported for now",
        args.model.display()
    );
    let source = args.model.display().to_string();
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
