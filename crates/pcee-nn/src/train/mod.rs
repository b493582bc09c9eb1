//! Training of a multi-exit network (`pcee train`): loss = mean of the exits' cross-entropies
//! (as in MSDNet, Huang et al. 2018, §4, with equal weights), AdamW or SGD with momentum
//! ([`Optimizer`]) on a warm-up + cosine schedule, BatchNorm in training mode while training, validation accuracy of every exit after
//! every epoch, and an atomic checkpoint per epoch so that `--resume` continues the same run.

pub mod checkpoint;
pub mod history;
pub mod optimizer;
pub mod options;
pub mod schedule;
mod trainer;

use serde::{Deserialize, Serialize};

pub use checkpoint::{checkpoint_path, Checkpoint};
pub use history::{history_path, parse_history, write_history};
pub use optimizer::Optimizer;
pub use options::TrainOptions;
pub use trainer::train;

/// Summary of one epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochSummary {
    /// 0-based epoch index.
    pub epoch: usize,
    /// Wall-clock seconds of the epoch's training steps (validation excluded).
    pub seconds: f64,
    /// Mean training loss (mean over exits of the cross-entropy, averaged over batches).
    pub train_loss: f64,
    /// Training accuracy of every exit (on augmented images, BatchNorm in training mode).
    pub train_accuracy: Vec<f64>,
    /// Validation accuracy of every exit.
    pub val_accuracy: Vec<f64>,
}

/// Running statistics of the current epoch, reported after every batch.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchStats {
    /// 0-based epoch index.
    pub epoch: usize,
    /// Batches done in this epoch.
    pub batch: usize,
    /// Batches per epoch.
    pub batches: usize,
    /// Mean loss so far in this epoch.
    pub loss: f64,
    /// Training accuracy of every exit so far in this epoch.
    pub accuracy: Vec<f64>,
    /// Learning rate of the last step.
    pub lr: f64,
}

/// Observer of a training run (the CLI draws a progress bar with it).
pub trait Progress {
    /// Called before the first batch of an epoch.
    fn epoch_start(&mut self, _epoch: usize, _epochs: usize, _batches: usize) {}
    /// Called after every optimiser step.
    fn batch_done(&mut self, _stats: &BatchStats) {}
    /// Called after an epoch's validation and checkpoint.
    fn epoch_done(&mut self, _summary: &EpochSummary) {}
    /// Asked after every epoch's checkpoint; `false` stops the run there (it can be resumed).
    fn keep_going(&mut self) -> bool {
        true
    }
}

/// A [`Progress`] that reports nothing.
pub struct Silent;
impl Progress for Silent {}

/// Result of a training run.
#[derive(Debug, Clone)]
pub struct TrainReport {
    /// One summary per epoch, from the first (including epochs of resumed runs).
    pub history: Vec<EpochSummary>,
    /// Validation accuracy of every exit of the final model.
    pub val_accuracy: Vec<f64>,
    /// Cumulative FLOPs per image of each exit.
    pub flops_per_exit: Vec<f64>,
}
