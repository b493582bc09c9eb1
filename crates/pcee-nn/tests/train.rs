//! Training on real images: determinism, checkpoint + resume, clean refusals.
use crate::common;

use pcee_nn::train::{train, EpochSummary, Progress, Silent, TrainOptions};
use std::path::PathBuf;

fn options(out: PathBuf, epochs: usize) -> TrainOptions {
    TrainOptions {
        arch: common::tiny_msdnet(),
        preset: None,
        epochs,
        batch: 32,
        lr: 3e-3,
        weight_decay: 0.05,
        optimizer: Default::default(),
        augment: true,
        seed: 11,
        limit: Some(128),
        data_dir: None,
        out,
    }
}

fn out(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pcee-nn-train-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(format!("{name}.safetensors"))
}

/// Stops after the first epoch, as an interrupted session would.
struct StopAfterOne;
impl Progress for StopAfterOne {
    fn epoch_done(&mut self, _: &EpochSummary) {}
    fn keep_going(&mut self) -> bool {
        false
    }
}

#[test]
fn resuming_gives_the_same_weights_as_an_uninterrupted_run() {
    let _turn = common::seeded_turn();
    let straight = out("straight");
    let report = train(&options(straight.clone(), 2), false, &mut Silent).unwrap();
    assert_eq!(report.history.len(), 2);
    assert_eq!(report.val_accuracy.len(), 2);
    assert!(report.val_accuracy.iter().all(|a| (0.0..=1.0).contains(a)));

    let resumed = out("resumed");
    let first = train(&options(resumed.clone(), 2), false, &mut StopAfterOne).unwrap();
    assert_eq!(first.history.len(), 1);
    let second = train(&options(resumed.clone(), 2), true, &mut Silent).unwrap();
    assert_eq!(second.history.len(), 2);
    assert_eq!(report.val_accuracy, second.val_accuracy);
    let same = std::fs::read(&straight).unwrap() == std::fs::read(&resumed).unwrap();
    assert!(same, "resumed weights differ from the uninterrupted run's");
}

#[test]
fn resume_with_other_options_or_without_checkpoint_is_refused() {
    let _turn = common::seeded_turn();
    let path = out("other");
    let msg = train(&options(path.clone(), 1), true, &mut Silent)
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("other.ckpt") && msg.contains("--resume"),
        "{msg}"
    );
    train(&options(path.clone(), 1), false, &mut Silent).unwrap();
    let mut changed = options(path, 1);
    changed.seed = 12;
    let msg = train(&changed, true, &mut Silent).unwrap_err().to_string();
    assert!(msg.contains("seed"), "{msg}");
}

#[test]
fn a_wrong_data_directory_is_one_clear_error() {
    let mut opts = options(out("nodata"), 1);
    opts.data_dir = Some("/nonexistent/fashion".into());
    let err = train(&opts, false, &mut Silent).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.starts_with("/nonexistent/fashion/train-images-idx3-ubyte"),
        "{msg}"
    );
    assert!(
        msg.contains("dataset-fashion-mnist") && std::error::Error::source(&err).is_some(),
        "{msg}"
    );
}
