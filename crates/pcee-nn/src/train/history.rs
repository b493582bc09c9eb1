//! The training curve `<out>.history.csv`, rewritten after every epoch: one row per epoch with
//! its seconds, mean training loss and every exit's training and validation accuracy, so a
//! run's convergence can be read or plotted without opening the checkpoint.

use super::EpochSummary;
use crate::atomic::write_atomic;
use crate::error::Result;
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// The history path of an output weights path: `<stem>.history.csv` beside it.
pub fn history_path(out: &Path) -> PathBuf {
    out.with_extension("history.csv")
}

/// The CSV text of `history`: header `epoch,seconds,train_loss,train_acc_0..,val_acc_0..`
/// (epochs 1-based, accuracies as fractions in [0, 1]).
pub fn history_csv(history: &[EpochSummary]) -> String {
    let exits = history.first().map_or(0, |h| h.val_accuracy.len());
    let mut text = String::from("epoch,seconds,train_loss");
    for kind in ["train_acc", "val_acc"] {
        (0..exits).for_each(|e| write!(text, ",{kind}_{e}").expect("writing to a String"));
    }
    text.push('\n');
    for h in history {
        write!(text, "{},{:.1},{:.6}", h.epoch + 1, h.seconds, h.train_loss).expect("String");
        for a in h.train_accuracy.iter().chain(&h.val_accuracy) {
            write!(text, ",{a:.4}").expect("writing to a String");
        }
        text.push('\n');
    }
    text
}

/// Write [`history_csv`] atomically to [`history_path`]`(out)`.
///
/// # Errors
/// [`crate::NnError::Write`] naming the CSV file.
pub fn write_history(out: &Path, history: &[EpochSummary]) -> Result<()> {
    write_atomic(&history_path(out), history_csv(history).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_row_per_epoch_with_every_exit() {
        let h = EpochSummary {
            epoch: 0,
            seconds: 12.34,
            train_loss: 0.5,
            train_accuracy: vec![0.25, 0.5],
            val_accuracy: vec![0.75, 1.0],
        };
        assert_eq!(
            history_csv(&[h]),
            "epoch,seconds,train_loss,train_acc_0,train_acc_1,val_acc_0,val_acc_1\n\
             1,12.3,0.500000,0.2500,0.5000,0.7500,1.0000\n"
        );
        assert_eq!(
            history_path(Path::new("runs/m.safetensors")),
            Path::new("runs/m.history.csv")
        );
    }
}
