//! `pcee logits`: every exit's logits of a trained model (or a stage-graph directory) on a
//! Fashion-MNIST split or on the user's own data (`--input`, `--labels`), as a logits file
//! (docs/design.md §4) for `pcee calibrate`, `evaluate`, `sweep` and `diagram`.

use crate::inputs;
use crate::output::{flops, Table};
use crate::own_data::{self, OwnData};
use anyhow::Result;
use pcee::ExitLogits;
use pcee_nn::data::{load_split, Split};
use pcee_nn::runtime::BurnStages;
use pcee_nn::{default_device, exit_logits, store};
use std::path::PathBuf;

/// Write every exit's logits, the labels and the cumulative FLOPs of a model on a split (.npz).
#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("network").required(true).args(["model", "stages"])))]
#[command(group(clap::ArgGroup::new("data").required(true).args(["split", "input"])))]
pub struct Args {
    /// Model weights (.safetensors) written by `pcee train`; its .json card must sit beside it.
    #[arg(long, value_name = "FILE")]
    model: Option<PathBuf>,
    /// Instead of --model: a stage-graph directory, run with ONNX Runtime (needs a pcee built
    /// with `--features onnx` and ORT_DYLIB_PATH naming libonnxruntime).
    #[arg(long, value_name = "DIR")]
    stages: Option<PathBuf>,
    /// Split: val (5 000 held-out training images) or test (10 000 test images).
    #[arg(long, value_parser = inputs::eval_split)]
    split: Option<Split>,
    /// Instead of --split, your own data: a .npy array for a network of one input, or a .npz
    /// with one array per input name (e.g. input_ids, attention_mask); first axis = samples,
    /// each in its input's dtype and per-sample shape, fed as is (no preprocessing). Needs
    /// --labels.
    #[arg(long, value_name = "FILE", requires = "labels", conflicts_with_all = ["limit", "corruption", "severity", "corruption_seed", "data_dir"])]
    input: Option<PathBuf>,
    /// With --input: the true class of every sample, a .npy of integers `[samples]`.
    #[arg(long, value_name = "FILE", requires = "input")]
    labels: Option<PathBuf>,
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
    #[arg(long, visible_alias = "output", value_name = "FILE")]
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
    let network = args
        .model
        .as_ref()
        .or(args.stages.as_ref())
        .expect("clap: --model or --stages");
    let card = args.model.as_ref().map(|m| pcee_nn::store::card_path(m));
    let mut sources: Vec<&std::path::Path> = vec![network];
    sources.extend(card.as_deref());
    sources.extend(args.input.as_deref());
    sources.extend(args.labels.as_deref());
    crate::inputs::output_file("--out", &args.out, "npz", &sources)?;
    let own = OwnData::from_flags(args.input.as_ref(), args.labels.as_ref())?;
    let logits = match (&args.model, &own) {
        (Some(path), own) => {
            let device = default_device();
            let (model, _card) = store::load(path, &device)?;
            match own {
                Some(own) => own_data::logits(&mut BurnStages::new(&model, &device), own, batch)?,
                None => {
                    let split = args.split.expect("clap: --split or --input");
                    let data = load_split(args.data_dir.as_deref(), split)?;
                    let data = crate::inputs::take_limit(data, limit, split)?;
                    let data = args.shift.apply(data)?;
                    let outputs = exit_logits(&model, &data, batch, &device);
                    ExitLogits::from_f32(
                        outputs.shape,
                        outputs.logits,
                        outputs.labels,
                        Some(outputs.flops),
                    )?
                }
            }
        }
        (None, own) => {
            let dir = args.stages.as_deref().expect("clap: --model or --stages");
            stages::logits(
                dir,
                own.as_ref(),
                &|| {
                    let split = args.split.expect("clap: --split or --input");
                    let data = load_split(args.data_dir.as_deref(), split)?;
                    let data = crate::inputs::take_limit(data, limit, split)?;
                    Ok(args.shift.apply(data)?)
                },
                batch,
            )?
        }
    };
    logits.write_npz(&args.out)?;
    print_summary(&logits, &args.out);
    Ok(())
}

/// Each exit's cost and accuracy, then the file written.
fn print_summary(logits: &ExitLogits, out: &std::path::Path) {
    let scores = pcee::ScoreTable::from_logits(logits);
    let mut table = Table::new(&["exit", "flops", "accuracy"]);
    for (e, f) in logits.flops().iter().enumerate() {
        let correct = (0..logits.samples())
            .filter(|&i| scores.sample(i)[e].correct == Some(true))
            .count();
        let accuracy = correct as f64 / logits.samples() as f64;
        table.row(vec![
            e.to_string(),
            flops(*f),
            format!("{:.2}%", 100.0 * accuracy),
        ]);
    }
    println!("{}", table.render());
    println!(
        "wrote {} ({} exits × {} samples)",
        out.display(),
        logits.exits(),
        logits.samples()
    );
}

/// `--stages DIR`: the ONNX Runtime backend (crate `pcee-onnx`, feature `onnx`).
mod stages {
    use crate::own_data::OwnData;
    use pcee::ExitLogits;
    use pcee_nn::data::Dataset;
    use std::path::Path;

    /// Every exit's logits through the graphs of `dir`: of `own`, or of the images `data`
    /// loads, normalised with the manifest's preprocessing.
    #[cfg(feature = "onnx")]
    pub fn logits(
        dir: &Path,
        own: Option<&OwnData>,
        data: &dyn Fn() -> anyhow::Result<Dataset>,
        batch: usize,
    ) -> anyhow::Result<ExitLogits> {
        use pcee_runtime::Stages;
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let mut graphs = pcee_onnx::runtime::OrtStages::load(dir, threads)?;
        if let Some(own) = own {
            return crate::own_data::logits(&mut graphs, own, batch);
        }
        graphs.manifest().check_reads_images(dir)?;
        let data = data()?;
        // The one conversion of raw 28 × 28 pixels into the graphs' input (the manifest's
        // preprocessing), shared with `pcee serve --stages` and `pcee infer --stages`.
        let batches = data
            .images
            .chunks(batch * pcee_serve::body::IMAGE_PIXELS)
            .map(|pixels| graphs.manifest().images(pixels))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| anyhow::anyhow!("{}: {e}", dir.display()))?;
        let per_exit = pcee_runtime::exit_logits_of(&mut graphs, &batches)?;
        let labels = data.labels.iter().map(|&l| u32::from(l)).collect();
        crate::own_data::logits_file(graphs.network(), per_exit, labels)
    }

    /// Without the `onnx` feature: one clear error.
    #[cfg(not(feature = "onnx"))]
    pub fn logits(
        _: &Path,
        _: Option<&OwnData>,
        _: &dyn Fn() -> anyhow::Result<Dataset>,
        _: usize,
    ) -> anyhow::Result<ExitLogits> {
        anyhow::bail!(
            "--stages: this pcee was built without ONNX Runtime support; rebuild it with \
             `--features onnx` (cargo install --locked --path crates/pcee-cli --features onnx)"
        )
    }
}
