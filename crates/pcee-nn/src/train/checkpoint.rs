//! The training checkpoint `<out>.ckpt`, written atomically after every epoch: the run's
//! options and history (JSON), the weights with their parameter ids (burnpack) and the AdamW
//! state (burnpack), in one file so that they can never disagree.
//!
//! Layout: the 10 bytes `PCEECKPT1\n`, then three sections, each a little-endian `u64` length
//! followed by that many bytes: JSON state, model burnpack, optimizer burnpack.

use super::options::TrainOptions;
use super::EpochSummary;
use crate::atomic::write_atomic;
use crate::error::{NnError, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

const MAGIC: &[u8; 10] = b"PCEECKPT1\n";

/// What the JSON section holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckpointState {
    /// The run's recipe (must match on `--resume`).
    pub options: TrainOptions,
    /// Number of completed epochs.
    pub epochs_done: usize,
    /// One summary per completed epoch.
    pub history: Vec<EpochSummary>,
}

/// A decoded checkpoint.
#[derive(Debug, Clone)]
pub struct Checkpoint {
    /// Options, progress and history.
    pub state: CheckpointState,
    /// Model weights in burnpack format (with parameter ids, which the optimizer state uses).
    pub model: Vec<u8>,
    /// Optimizer state in burnpack format.
    pub optimizer: Vec<u8>,
}

/// The checkpoint path of an output weights path: extension replaced by `.ckpt`.
pub fn checkpoint_path(out: &Path) -> PathBuf {
    out.with_extension("ckpt")
}

impl Checkpoint {
    /// Write atomically to `path`.
    ///
    /// # Errors
    /// [`NnError::Write`] naming `path`.
    pub fn write(&self, path: &Path) -> Result<()> {
        let json = serde_json::to_vec(&self.state).expect("checkpoint state always serialises");
        let mut bytes = MAGIC.to_vec();
        for section in [&json[..], &self.model, &self.optimizer] {
            bytes.extend_from_slice(&(section.len() as u64).to_le_bytes());
            bytes.extend_from_slice(section);
        }
        write_atomic(path, &bytes)
    }

    /// Read from `path`.
    ///
    /// # Errors
    /// [`NnError::Model`] naming `path` when it is missing, truncated or not a checkpoint.
    pub fn read(path: &Path) -> Result<Checkpoint> {
        let bytes = std::fs::read(path).map_err(|e| NnError::model(path, format!(
            "cannot read the checkpoint ({e}); --resume needs the .ckpt of an earlier run with the same --out")))?;
        let bad = |why: &str| {
            NnError::model(
                path,
                format!("{why}; expected a checkpoint written by `pcee train`"),
            )
        };
        let mut rest = bytes
            .strip_prefix(MAGIC)
            .ok_or_else(|| bad("not a pcee checkpoint"))?;
        let mut sections = Vec::new();
        for _ in 0..3 {
            let len = rest.get(..8).ok_or_else(|| bad("truncated"))?;
            let len = u64::from_le_bytes(len.try_into().unwrap()) as usize;
            let body = rest.get(8..8 + len).ok_or_else(|| bad("truncated"))?;
            sections.push(body.to_vec());
            rest = &rest[8 + len..];
        }
        let state = serde_json::from_slice(&sections[0])
            .map_err(|e| bad(&format!("malformed state ({e})")))?;
        let optimizer = sections.pop().unwrap();
        let model = sections.pop().unwrap();
        Ok(Checkpoint {
            state,
            model,
            optimizer,
        })
    }
}
