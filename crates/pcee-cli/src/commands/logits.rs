//! `pcee logits`: every exit's logits of a trained model on a Fashion-MNIST split, as a logits
//! file (docs/design.md §4) for `pcee calibrate`, `evaluate`, `sweep` and `diagram`.

use crate::inputs;
use crate::output::{flops, Table};
use anyhow::Result;
use pcee::ExitLogits;
use pcee_nn::data::{load_split, Split};
use pcee_nn::{default_device, exit_logits, store};
use std::path::PathBuf;

/// Write every exit's logits, the labels and the cumulative FLOPs of a model on a split (.npz).
#[derive(clap::Args)]
pub struct Args {
    /// Model weights (.safetensors) written by `pcee train`; its .json card must sit beside it.
    #[arg(long, value_name = "FILE")]
    model: PathBuf,
    /// Split: val (5 000 held-out training images) or test (10 000 test images).
    #[arg(long, value_parser = inputs::eval_split)]
    split: Split,
    /// Directory with the Fashion-MNIST IDX files [default: /usr/share/datasets/fashion-mnist].
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Images per forward pass.
    #[arg(long, default_value_t = 256)]
    batch: i64,
    /// Only the first N images of the split.
    #[arg(long, value_name = "N")]
    limit: Option<u64>,
    #[command(flatten)]
    shift: crate::shift::ShiftArgs,
    /// Output logits file (.npz).
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
}

/// Runs `pcee logits`.
pub fn run(args: Args) -> Result<()> {
    let batch = crate::inputs::batch("--batch", args.batch)?;
    let limit = args
        .limit
        .map(|n| crate::inputs::at_least_one("--limit", n))
        .transpose()?;
    args.shift.shift()?;
    let card = pcee_nn::store::card_path(&args.model);
    crate::inputs::output_file("--out", &args.out, "npz", &[&args.model, &card])?;
    let device = default_device();
    let (model, _card) = store::load(&args.model, &device)?;
    let data = load_split(args.data_dir.as_deref(), args.split)?;
    let data = crate::inputs::take_limit(data, limit, args.split)?;
    let data = args.shift.apply(data)?;
    let outputs = exit_logits(&model, &data, batch, &device);
    let accuracy = outputs.accuracy();
    let logits = ExitLogits::from_f32(
        outputs.shape,
        outputs.logits,
        outputs.labels,
        Some(outputs.flops.clone()),
    )?;
    logits.write_npz(&args.out)?;
    let mut table = Table::new(&["exit", "flops", "accuracy"]);
    for (e, (f, a)) in outputs.flops.iter().zip(&accuracy).enumerate() {
        table.row(vec![e.to_string(), flops(*f), format!("{:.2}%", 100.0 * a)]);
    }
    println!("{}", table.render());
    println!(
        "wrote {} ({} exits × {} images)",
        args.out.display(),
        outputs.shape[0],
        outputs.shape[1]
    );
    Ok(())
}
