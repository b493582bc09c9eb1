//! What a training run is asked to do.

use super::optimizer::Optimizer;
use crate::arch::ArchConfig;
use crate::error::{NnError, Result};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The recipe and I/O of a training run (`pcee train`). The recipe fields are stored in the
/// checkpoint so that `--resume` continues exactly the same run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainOptions {
    /// Architecture to train.
    pub arch: ArchConfig,
    /// Preset name, recorded in the model card.
    pub preset: Option<String>,
    /// Number of epochs over the training split.
    pub epochs: usize,
    /// Mini-batch size.
    pub batch: usize,
    /// Peak learning rate of the warm-up + cosine schedule.
    pub lr: f64,
    /// Weight decay: decoupled for AdamW, an L2 penalty for SGD ([`Optimizer`]).
    pub weight_decay: f64,
    /// The optimiser (absent in runs of earlier versions: AdamW).
    #[serde(default)]
    pub optimizer: Optimizer,
    /// Random crop + horizontal flip of the training images (absent in runs of earlier
    /// versions: on). `false` trains on the images as they are.
    #[serde(default = "augment_default")]
    pub augment: bool,
    /// Seed of the weight initialisation, shuffling and augmentation.
    pub seed: u64,
    /// Use only the first `limit` training images (quick runs and tests).
    pub limit: Option<usize>,
    /// Directory of the Fashion-MNIST files (default: the Debian package's).
    #[serde(skip)]
    pub data_dir: Option<PathBuf>,
    /// Output weights file (`.safetensors`); the card, checkpoint and log sit beside it.
    #[serde(skip)]
    pub out: PathBuf,
}

fn augment_default() -> bool {
    true
}

impl TrainOptions {
    /// Default peak learning rate of an architecture: 2·10⁻³ for MSDNet, 10⁻³ for the ViT.
    pub fn default_lr(arch: &ArchConfig) -> f64 {
        match arch {
            ArchConfig::Msdnet(_) => 2e-3,
            ArchConfig::Vit(_) => 1e-3,
        }
    }

    /// Check the options.
    ///
    /// # Errors
    /// [`NnError::Invalid`] naming the field (`epochs`, `batch`, `lr`, `limit`,
    /// `weight_decay`, `momentum`, `nesterov`, `out` when it is a directory or its directory cannot be created — a
    /// missing one is created) or the configuration field.
    pub fn validate(&self) -> Result<()> {
        self.arch.validate()?;
        self.optimizer.validate()?;
        let bad = |flag: &str, why: String| Err(NnError::invalid(flag, why));
        if self.epochs == 0 {
            return bad("epochs", "0; expected at least 1".into());
        }
        if self.batch == 0 || self.batch > crate::MAX_BATCH {
            return bad(
                "batch",
                format!("{}; expected 1 to {}", self.batch, crate::MAX_BATCH),
            );
        }
        if !(self.lr > 0.0 && self.lr <= 1.0) {
            return bad("lr", format!("{}; expected a value in (0, 1]", self.lr));
        }
        if !(self.weight_decay >= 0.0 && self.weight_decay.is_finite()) {
            return bad(
                "weight_decay",
                format!("{}; expected a finite value ≥ 0", self.weight_decay),
            );
        }
        let ext = self.out.extension().and_then(|e| e.to_str()).unwrap_or("");
        if !ext.eq_ignore_ascii_case("safetensors") {
            return bad(
                "out",
                format!(
                    "{}; expected a .safetensors path (the .json card and .ckpt go beside it)",
                    self.out.display()
                ),
            );
        }
        if self.limit == Some(0) {
            return bad("limit", "0; expected at least 1 image".into());
        }
        let dir = self
            .out
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(std::path::Path::new("."));
        if self.out.is_dir() {
            return bad(
                "out",
                format!(
                    "{} is a directory; expected a .safetensors file path",
                    self.out.display()
                ),
            );
        }
        if !dir.is_dir() {
            std::fs::create_dir_all(dir).map_err(|e| {
                NnError::invalid(
                    "out",
                    format!("cannot create directory {} ({e})", dir.display()),
                )
            })?;
        }
        Ok(())
    }
}
