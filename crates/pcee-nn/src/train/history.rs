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

/// Parses the text of a `<out>.history.csv` ([`history_csv`]) back into its epochs.
///
/// # Errors
/// The reason, as one line naming the line and column: a header that is not
/// `epoch,seconds,train_loss,train_acc_0..,val_acc_0..` with as many training as validation
/// columns, a row with another number of cells, or a cell that is not a number (accuracies must
/// lie in [0, 1]).
pub fn parse_history(text: &str) -> std::result::Result<Vec<EpochSummary>, String> {
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or("").split(',').collect();
    let exits = header.len().saturating_sub(3) / 2;
    let expected = history_csv(&[EpochSummary {
        epoch: 0,
        seconds: 0.0,
        train_loss: 0.0,
        train_accuracy: vec![0.0; exits],
        val_accuracy: vec![0.0; exits],
    }]);
    if exits == 0 || expected.lines().next() != Some(&header.join(",")) {
        return Err(format!(
            "line 1: header {:?}; expected epoch,seconds,train_loss,train_acc_0..,val_acc_0..",
            header.join(",")
        ));
    }
    lines
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, line)| parse_row(line, i + 2, exits))
        .collect()
}

/// One row of [`parse_history`], on line `number`.
fn parse_row(line: &str, number: usize, exits: usize) -> std::result::Result<EpochSummary, String> {
    let cells: Vec<&str> = line.split(',').collect();
    if cells.len() != 3 + 2 * exits {
        return Err(format!(
            "line {number}: {} cells; expected {}",
            cells.len(),
            3 + 2 * exits
        ));
    }
    let number_at = |c: usize| -> std::result::Result<f64, String> {
        let v: f64 = cells[c].trim().parse().map_err(|_| {
            format!(
                "line {number}, column {}: {:?} is not a number",
                c + 1,
                cells[c]
            )
        })?;
        if c >= 3 && !(0.0..=1.0).contains(&v) {
            return Err(format!(
                "line {number}, column {}: accuracy {v}; expected a fraction in [0, 1]",
                c + 1
            ));
        }
        Ok(v)
    };
    let epoch = number_at(0)?;
    if epoch < 1.0 || epoch.fract() != 0.0 {
        return Err(format!(
            "line {number}, column 1: epoch {epoch}; expected 1, 2, …"
        ));
    }
    let accuracies = (3..3 + 2 * exits)
        .map(number_at)
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(EpochSummary {
        epoch: epoch as usize - 1,
        seconds: number_at(1)?,
        train_loss: number_at(2)?,
        train_accuracy: accuracies[..exits].to_vec(),
        val_accuracy: accuracies[exits..].to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parsing_reads_back_what_was_written_and_names_bad_cells() {
        let text = "epoch,seconds,train_loss,train_acc_0,train_acc_1,val_acc_0,val_acc_1\n\
                    1,12.3,0.500000,0.2500,0.5000,0.7500,1.0000\n\
                    2,10.0,0.250000,0.5000,0.6000,0.8000,0.9000\n";
        let epochs = parse_history(text).unwrap();
        assert_eq!(epochs.len(), 2);
        assert_eq!(epochs[1].epoch, 1);
        assert_eq!(epochs[1].val_accuracy, [0.8, 0.9]);
        assert_eq!(epochs[0].train_accuracy, [0.25, 0.5]);
        assert_eq!(history_csv(&epochs), text);
        assert!(parse_history("epoch,loss\n")
            .unwrap_err()
            .starts_with("line 1: header"));
        let bad = text.replace("0.8000", "x");
        assert_eq!(
            parse_history(&bad).unwrap_err(),
            "line 3, column 6: \"x\" is not a number"
        );
        let over = text.replace("0.8000", "80");
        assert!(parse_history(&over)
            .unwrap_err()
            .contains("expected a fraction in [0, 1]"));
    }

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
