//! `pcee curves` on hand-written histories: the figure pair, the summary worked out by hand,
//! and a malformed file named in one line.

use crate::common;
use common::{assert_error, pcee};

const HISTORY: &str = "epoch,seconds,train_loss,train_acc_0,train_acc_1,val_acc_0,val_acc_1\n\
                       1,100.0,1.000000,0.5000,0.6000,0.7000,0.8000\n\
                       2,300.0,0.500000,0.6000,0.7000,0.7500,0.9000\n\
                       3,200.0,0.400000,0.6500,0.7500,0.7600,0.8900\n";

#[test]
fn curves_plot_and_summarise_a_run() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tiny.history.csv");
    std::fs::write(&file, HISTORY).unwrap();
    let out = dir.path().join("fig");
    let run = pcee(&[
        "curves",
        "--history",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(out.join("training-curves.svg").is_file() && out.join("training-curves.png").is_file());
    // 3 epochs, 600 s = 0.17 h, median 200 s; last exit final 89.0 %, best 90.0 % at epoch 2.
    let row = run.stdout.lines().find(|l| l.starts_with("tiny")).unwrap();
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(cells, ["tiny", "3", "0.17", "200", "89.0%", "90.0%", "2"]);
}

#[test]
fn a_malformed_history_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.history.csv");
    std::fs::write(&file, HISTORY.replace("0.7500", "0.7.5")).unwrap();
    let out = dir.path().join("fig");
    let run = pcee(&[
        "curves",
        "--history",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_error(&run, &format!("{}: line 3, column 6", file.display()));
    assert!(!out.exists());
}
