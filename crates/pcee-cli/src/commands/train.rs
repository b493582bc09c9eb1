//! `pcee train`: train a multi-exit network on Fashion-MNIST (docs/design.md §1, §6).

use crate::output::{flops, Table};
use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use pcee_nn::train::{
    checkpoint_path, train, BatchStats, EpochSummary, Optimizer, Progress, TrainOptions,
};
use pcee_nn::{preset, ArchConfig, NnError};
use std::path::PathBuf;

/// Train a multi-exit network (MSDNet or ViT) on the Fashion-MNIST training split; writes the
/// weights (.safetensors), the model card (.json) and a resumable checkpoint (.ckpt) after every
/// epoch.
#[derive(clap::Args)]
pub struct Args {
    /// Preset: msdnet-small, msdnet-large, vit-small or vit-large.
    #[arg(
        long,
        required_unless_present = "arch_config",
        conflicts_with = "arch_config"
    )]
    arch: Option<String>,
    /// A JSON architecture configuration instead of a preset (as in a model card:
    /// {"arch": "msdnet"|"vit", ...fields}).
    #[arg(long, value_name = "FILE")]
    arch_config: Option<PathBuf>,
    /// Epochs over the 55 000 training images.
    #[arg(long, default_value_t = 10)]
    epochs: usize,
    /// Mini-batch size.
    #[arg(long, default_value_t = 128)]
    batch: i64,
    /// Peak learning rate (warm-up then cosine); default 2e-3 for MSDNet, 1e-3 for ViT.
    #[arg(long)]
    lr: Option<f64>,
    /// Optimiser: adamw (the regularised recipe) or sgd (with --momentum, the common recipe).
    #[arg(long, value_enum, default_value_t = OptimizerName::Adamw)]
    optimizer: OptimizerName,
    /// Momentum factor of SGD (no dampening) [default with --optimizer sgd: 0.9].
    #[arg(long)]
    momentum: Option<f64>,
    /// Nesterov momentum (SGD only).
    #[arg(long)]
    nesterov: bool,
    /// Weight decay: decoupled for AdamW [default 0.05], an L2 penalty for SGD [default 1e-4].
    #[arg(long)]
    weight_decay: Option<f64>,
    /// Train on the images as they are (no random crop and flip).
    #[arg(long)]
    no_augment: bool,
    /// Seed of initialisation, shuffling and augmentation (same seed and threads ⇒ same weights).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Directory with the Fashion-MNIST IDX files [default: /usr/share/datasets/fashion-mnist].
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Train on the first N training images only (quick runs).
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
    /// Continue from the checkpoint (<out>.ckpt) of an interrupted run with the same options.
    #[arg(long)]
    resume: bool,
    /// Output weights file (.safetensors); the .json card and .ckpt go beside it.
    #[arg(long, visible_alias = "output", value_name = "FILE")]
    out: PathBuf,
}

pub fn run(args: Args) -> Result<()> {
    let epochs = crate::inputs::at_least_one("--epochs", args.epochs as u64)? as usize;
    let batch = crate::inputs::batch("--batch", args.batch)?;
    let limit = args
        .limit
        .map(|n| crate::inputs::at_least_one("--limit", n as u64).map(|n| n as usize))
        .transpose()?;
    let (arch, preset_name) = architecture(&args)?;
    let optimizer = optimizer(&args)?;
    let opts = TrainOptions {
        lr: args.lr.unwrap_or_else(|| TrainOptions::default_lr(&arch)),
        arch,
        preset: preset_name,
        epochs,
        batch,
        weight_decay: args
            .weight_decay
            .unwrap_or_else(|| optimizer.default_weight_decay()),
        optimizer,
        augment: !args.no_augment,
        seed: args.seed,
        limit,
        data_dir: args.data_dir,
        out: args.out,
    };
    let report = train(&opts, args.resume, &mut Bar::default())?;
    let mut table = Table::new(&["exit", "flops", "val accuracy"]);
    for (e, (f, a)) in report
        .flops_per_exit
        .iter()
        .zip(&report.val_accuracy)
        .enumerate()
    {
        table.row(vec![e.to_string(), flops(*f), format!("{:.2}%", 100.0 * a)]);
    }
    println!("{}", table.render());
    let done = report.history.len();
    println!(
        "wrote {} ({done}/{} epochs; checkpoint {})",
        opts.out.display(),
        opts.epochs,
        checkpoint_path(&opts.out).display()
    );
    Ok(())
}

/// `--optimizer` as clap reads it.
#[derive(Clone, Copy, clap::ValueEnum)]
enum OptimizerName {
    Adamw,
    Sgd,
}

/// The optimiser of `--optimizer`, `--momentum` and `--nesterov`; the SGD-only flags are
/// refused with AdamW (they would be ignored).
fn optimizer(args: &Args) -> Result<Optimizer> {
    match args.optimizer {
        OptimizerName::Sgd => Ok(Optimizer::Sgd {
            momentum: args.momentum.unwrap_or(0.9),
            nesterov: args.nesterov,
        }),
        OptimizerName::Adamw if args.momentum.is_some() || args.nesterov => anyhow::bail!(
            "--momentum/--nesterov: only for --optimizer sgd; AdamW has its own moment estimates"
        ),
        OptimizerName::Adamw => Ok(Optimizer::AdamW),
    }
}

fn architecture(args: &Args) -> Result<(ArchConfig, Option<String>)> {
    match (&args.arch, &args.arch_config) {
        (Some(name), _) => Ok((preset(name)?, Some(name.clone()))),
        (None, Some(path)) => {
            let text = std::fs::read_to_string(path).with_context(|| {
                format!(
                    "{}: cannot read the architecture configuration",
                    path.display()
                )
            })?;
            let config: ArchConfig = serde_json::from_str(&text).map_err(|e| NnError::invalid(
                path.display().to_string(),
                format!("not an architecture configuration ({e}); expected {{\"arch\": \"msdnet\"|\"vit\", ...}}")))?;
            config.validate()?;
            Ok((config, None))
        }
        (None, None) => unreachable!("clap requires --arch or --arch-config"),
    }
}

fn join(values: &[f64], f: impl Fn(f64) -> String) -> String {
    values.iter().map(|&v| f(v)).collect::<Vec<_>>().join(" ")
}

/// Progress bar on a terminal; on a log file, a line every tenth of an epoch.
#[derive(Default)]
struct Bar {
    bar: Option<ProgressBar>,
}

impl Progress for Bar {
    fn epoch_start(&mut self, epoch: usize, epochs: usize, batches: usize) {
        let bar = ProgressBar::new(batches as u64);
        bar.set_style(
            ProgressStyle::with_template("{prefix} {bar:25} {pos}/{len} {elapsed}<{eta} {msg}")
                .expect("valid template"),
        );
        bar.set_prefix(format!("epoch {}/{epochs}", epoch + 1));
        self.bar = Some(bar);
    }

    fn batch_done(&mut self, s: &BatchStats) {
        let msg = format!(
            "loss {:.4} lr {:.2e} acc {}",
            s.loss,
            s.lr,
            join(&s.accuracy, |a| format!("{:.3}", a))
        );
        let Some(bar) = &self.bar else { return };
        bar.set_position(s.batch as u64);
        bar.set_message(msg.clone());
        if bar.is_hidden() && (s.batch * 10 / s.batches != (s.batch - 1) * 10 / s.batches) {
            eprintln!(
                "epoch {} batch {}/{} {msg} ({:.0} s)",
                s.epoch + 1,
                s.batch,
                s.batches,
                bar.elapsed().as_secs_f64()
            );
        }
    }

    fn epoch_done(&mut self, s: &EpochSummary) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        eprintln!(
            "epoch {} done in {:.1} s: train loss {:.4}, train acc {}, val acc {}",
            s.epoch + 1,
            s.seconds,
            s.train_loss,
            join(&s.train_accuracy, |a| format!("{:.4}", a)),
            join(&s.val_accuracy, |a| format!("{:.4}", a))
        );
    }
}
