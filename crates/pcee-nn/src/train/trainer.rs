//! The training loop, generic over the architecture.

use super::checkpoint::{checkpoint_path, Checkpoint, CheckpointState};
use super::options::TrainOptions;
use super::schedule::learning_rate;
use super::{BatchStats, EpochSummary, Progress, TrainReport};
use crate::arch::{ArchConfig, MsdNet, Vit};
use crate::data::{images_tensor, labels_tensor, load_split, Dataset, Split};
use crate::error::{NnError, Result};
use crate::infer::accuracy_of;
use crate::model::{Model, MultiExit, Network};
use crate::rng::SplitMix64;
use crate::store::{save, ModelCard};
use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::store::{BurnpackStore, ModuleSnapshot};
use burn::tensor::{Bytes, Device, Int, Tensor};
use std::time::Instant;

/// Batch size of the validation passes.
const EVAL_BATCH: usize = 256;

/// Train as `opts` says, writing `opts.out` (+ card) and the checkpoint after every epoch;
/// with `resume`, continue from the checkpoint of an earlier run with the same options.
///
/// # Errors
/// Invalid options, unreadable data, an unreadable or mismatched checkpoint, or a failed write;
/// each error names its flag or file.
pub fn train(
    opts: &TrainOptions,
    resume: bool,
    progress: &mut dyn Progress,
) -> Result<TrainReport> {
    opts.validate()?;
    let checkpoint = if resume {
        Some(read_matching_checkpoint(opts)?)
    } else {
        None
    };
    let mut train = load_split(opts.data_dir.as_deref(), Split::Train)?;
    if let Some(limit) = opts.limit {
        train = train.take(limit);
    }
    let val = load_split(opts.data_dir.as_deref(), Split::Val)?;
    let device = crate::default_device();
    let ad = device.clone().autodiff();
    let run = Run {
        opts,
        train: &train,
        val: &val,
        device: &device,
        ad: &ad,
    };
    // Seeding before construction makes the initial weights a function of the seed.
    ad.seed(opts.seed);
    match &opts.arch {
        ArchConfig::Msdnet(c) => run.run(c.init(&ad), checkpoint, progress),
        ArchConfig::Vit(c) => run.run(c.init(&ad), checkpoint, progress),
    }
}

fn read_matching_checkpoint(opts: &TrainOptions) -> Result<Checkpoint> {
    let path = checkpoint_path(&opts.out);
    let checkpoint = Checkpoint::read(&path)?;
    let (theirs, ours) = (
        serde_json::to_value(&checkpoint.state.options),
        serde_json::to_value(opts),
    );
    let (theirs, ours) = (
        theirs.expect("options serialise"),
        ours.expect("options serialise"),
    );
    if theirs != ours {
        let field = ours
            .as_object()
            .unwrap()
            .iter()
            .find(|(k, v)| theirs.get(k.as_str()) != Some(v))
            .map(|(k, v)| {
                format!(
                    "{k} = {} there, {v} now",
                    theirs.get(k.as_str()).unwrap_or(&serde_json::Value::Null)
                )
            })
            .unwrap_or_default();
        return Err(NnError::model(&path, format!(
            "written by a run with other options ({field}); --resume needs the same --arch, --epochs, --batch, --lr, --weight-decay, --optimizer, --momentum, --nesterov, --no-augment, --seed and --limit")));
    }
    Ok(checkpoint)
}

/// Wrap an architecture's module back into a [`Network`].
trait Wrap: MultiExit {
    fn wrap(self) -> Network;
}
impl Wrap for MsdNet {
    fn wrap(self) -> Network {
        Network::MsdNet(self)
    }
}
impl Wrap for Vit {
    fn wrap(self) -> Network {
        Network::Vit(self)
    }
}

struct Run<'a> {
    opts: &'a TrainOptions,
    train: &'a Dataset,
    val: &'a Dataset,
    device: &'a Device,
    ad: &'a Device,
}

impl Run<'_> {
    fn run<M: Wrap>(
        &self,
        mut net: M,
        checkpoint: Option<Checkpoint>,
        progress: &mut dyn Progress,
    ) -> Result<TrainReport> {
        let opts = self.opts;
        let mut optim = opts.optimizer.init(opts.weight_decay);
        let mut history = Vec::new();
        if let Some(c) = checkpoint {
            let path = checkpoint_path(&opts.out);
            net = load_burnpack(net, c.model).map_err(|e| NnError::model(&path, e))?;
            optim = optim
                .from_bytes(Bytes::from_bytes_vec(c.optimizer))
                .map_err(|e| NnError::model(&path, format!("bad optimizer state ({e:?})")))?;
            history = c.state.history;
        }
        for epoch in history.len()..opts.epochs {
            let started = Instant::now();
            let (next, loss, train_accuracy) = self.epoch(net, &mut optim, epoch, progress);
            net = next;
            let seconds = started.elapsed().as_secs_f64();
            let val_accuracy =
                accuracy_of(&net, self.val, EVAL_BATCH, self.device, opts.arch.classes());
            let summary = EpochSummary {
                epoch,
                seconds,
                train_loss: loss,
                train_accuracy,
                val_accuracy,
            };
            history.push(summary.clone());
            self.save(&net, &optim, &history)?;
            progress.epoch_done(&summary);
            if !progress.keep_going() {
                break;
            }
        }
        let val_accuracy = match history.last() {
            Some(last) => last.val_accuracy.clone(),
            None => accuracy_of(&net, self.val, EVAL_BATCH, self.device, opts.arch.classes()),
        };
        Ok(TrainReport {
            history,
            val_accuracy,
            flops_per_exit: opts.arch.flops_per_exit(),
        })
    }

    /// One epoch; returns the updated network, the mean loss and per-exit training accuracy.
    fn epoch<M: Wrap>(
        &self,
        mut net: M,
        optim: &mut ModuleOptimizer,
        epoch: usize,
        progress: &mut dyn Progress,
    ) -> (M, f64, Vec<f64>) {
        let (opts, n) = (self.opts, self.train.len());
        let batches = (n / opts.batch).max(1);
        let mut order: Vec<usize> = (0..n).collect();
        stream(opts.seed, epoch, 1).shuffle(&mut order);
        let mut augment = stream(opts.seed, epoch, 2);
        let exits = net.exits();
        let (mut loss_sum, mut correct, mut seen) = (0.0, vec![0usize; exits], 0usize);
        progress.epoch_start(epoch, opts.epochs, batches);
        for b in 0..batches {
            let rows = &order[b * opts.batch..((b + 1) * opts.batch).min(n)];
            let augment = opts.augment.then_some(&mut augment);
            let images = images_tensor(self.train, rows, augment, self.ad);
            let labels = labels_tensor(self.train, rows, self.ad);
            let lr = learning_rate(epoch * batches + b, opts.epochs * batches, opts.lr);
            let (next, loss, hits) = step(net, optim, images, labels, lr);
            net = next;
            loss_sum += loss;
            seen += rows.len();
            correct.iter_mut().zip(&hits).for_each(|(c, h)| *c += h);
            let accuracy = correct.iter().map(|&c| c as f64 / seen as f64).collect();
            progress.batch_done(&BatchStats {
                epoch,
                batch: b + 1,
                batches,
                loss: loss_sum / (b + 1) as f64,
                accuracy,
                lr,
            });
        }
        let accuracy = correct.iter().map(|&c| c as f64 / seen as f64).collect();
        (net, loss_sum / batches as f64, accuracy)
    }

    fn save<M: Wrap>(
        &self,
        net: &M,
        optim: &ModuleOptimizer,
        history: &[EpochSummary],
    ) -> Result<()> {
        let opts = self.opts;
        let ckpt_path = checkpoint_path(&opts.out);
        let model = save_burnpack(net).map_err(|e| NnError::write(&ckpt_path, e))?;
        let optimizer = optim
            .into_bytes()
            .map_err(|e| NnError::write(&ckpt_path, format!("{e:?}")))?
            .to_vec();
        let state = CheckpointState {
            options: opts.clone(),
            epochs_done: history.len(),
            history: history.to_vec(),
        };
        Checkpoint {
            state,
            model,
            optimizer,
        }
        .write(&ckpt_path)?;
        super::history::write_history(&opts.out, history)?;
        let last = history.last().expect("saved after an epoch");
        let training = serde_json::json!({
            "recipe": opts, "epochs_done": history.len(),
            "seconds_per_epoch": history.iter().map(|h| h.seconds).sum::<f64>() / history.len() as f64,
            "val_accuracy": last.val_accuracy,
        });
        let card = ModelCard::new(opts.arch.clone(), opts.preset.clone(), Some(training));
        let model = Model::from_parts(opts.arch.clone(), net.valid().wrap());
        save(&model, &card, &opts.out)
    }
}

/// One optimiser step on a batch: forward all exits, loss = mean of the exits' cross-entropies,
/// backward, optimiser step. Returns the new network, the loss value and the correct count per exit.
fn step<M: MultiExit>(
    net: M,
    optim: &mut ModuleOptimizer,
    images: Tensor<4>,
    labels: Tensor<1, Int>,
    lr: f64,
) -> (M, f64, Vec<usize>) {
    let logits = net.forward_all(images);
    let exits = logits.len();
    let ce = CrossEntropyLossConfig::new().init(&labels.device());
    let hits = logits.iter().map(|l| correct(l, &labels)).collect();
    let losses: Vec<Tensor<1>> = logits
        .into_iter()
        .map(|l| ce.forward(l, labels.clone()))
        .collect();
    let loss = Tensor::cat(losses, 0).sum().div_scalar(exits as f64);
    let value = loss.clone().inner().into_scalar::<f32>() as f64;
    let grads = GradientsParams::from_grads(loss.backward(), &net);
    (optim.step(lr, net, grads), value, hits)
}

/// Number of rows whose argmax equals the label.
pub(crate) fn correct(logits: &Tensor<2>, labels: &Tensor<1, Int>) -> usize {
    let predicted = logits.clone().inner().argmax(1).flatten::<1>(0, 1);
    predicted
        .equal(labels.clone().inner())
        .float()
        .sum()
        .into_scalar::<f32>() as usize
}

/// The per-epoch random stream `kind` (1 = order, 2 = augmentation) of a run.
fn stream(seed: u64, epoch: usize, kind: u64) -> SplitMix64 {
    let mut root = SplitMix64::new(seed ^ (kind << 56));
    (0..epoch).for_each(|_| {
        root.next_u64();
    });
    SplitMix64::new(root.next_u64())
}

fn save_burnpack<M: Module>(net: &M) -> std::result::Result<Vec<u8>, String> {
    let mut store = BurnpackStore::from_bytes(None);
    net.save_into(&mut store).map_err(|e| e.to_string())?;
    Ok(store.get_bytes().map_err(|e| e.to_string())?.to_vec())
}

fn load_burnpack<M: Module>(mut net: M, bytes: Vec<u8>) -> std::result::Result<M, String> {
    let mut store = BurnpackStore::from_bytes(Some(Bytes::from_bytes_vec(bytes)));
    net.load_from(&mut store)
        .map_err(|e| format!("bad model state ({e})"))?;
    Ok(net)
}
