//! `pcee compare` on hand-made logits: the 2×2 table is counted by hand, McNemar's p summed by
//! hand, and bad input gets one line.

use crate::common;
use common::{assert_error, pcee};
use std::path::Path;

/// Writes 2-exit logits over 2 classes with these `labels`, where `predict[i]` (0 or 1) is the
/// predicted class of sample i at the last exit; exit 0 predicts class 0 everywhere.
fn write(dir: &Path, name: &str, predict: &[u32], labels: &[i64]) -> String {
    let first = predict.iter().flat_map(|_| [1.0f32, 0.0]);
    let last = predict
        .iter()
        .flat_map(|&p| if p == 0 { [1.0, 0.0] } else { [0.0, 1.0] });
    let logits: Vec<f32> = first.chain(last).collect();
    let file =
        pcee::ExitLogits::from_f32([2, labels.len(), 2], logits, labels.to_vec(), None).unwrap();
    let path = dir.join(name);
    file.write_npz(&path).unwrap();
    path.display().to_string()
}

#[test]
fn the_table_and_p_by_hand() {
    let dir = tempfile::tempdir().unwrap();
    // 12 samples, all of label 0. A is right on 0..10, B on 0..2 and 10..12:
    // both right 2, only A 8, only B 2, both wrong 0.
    let labels = vec![0i64; 12];
    let a: Vec<u32> = (0..12).map(|i| u32::from(i >= 10)).collect();
    let b: Vec<u32> = (0..12).map(|i| u32::from((2..10).contains(&i))).collect();
    let a = write(dir.path(), "a.npz", &a, &labels);
    let b = write(dir.path(), "b.npz", &b, &labels);
    let run = pcee(&["compare", "--a", &a, "--b", &b, "--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let json: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(json["both_correct"], 2);
    assert_eq!(json["only_a"], 8);
    assert_eq!(json["only_b"], 2);
    assert_eq!(json["both_wrong"], 0);
    // error A = 2/12, error B = 8/12, difference +6/12.
    assert!((json["difference"].as_f64().unwrap() - 0.5).abs() < 1e-12);
    // McNemar exact: 2·P(Bin(10, ½) ≤ 2) = 2·56/1024 = 0.109375.
    assert!((json["mcnemar_p"].as_f64().unwrap() - 0.109375).abs() < 1e-12);
    // Exit 0 of A (class 0 everywhere) is right on all 12, B on 4: only A 8, only B 0, and
    // p = 2·P(Bin(8, ½) ≤ 0) = 2/256.
    let first = pcee(&["compare", "--a", &a, "--b", &b, "--exit-a", "0", "--json"]);
    let json: serde_json::Value = serde_json::from_str(&first.stdout).unwrap();
    assert_eq!(
        (json["only_a"].as_u64(), json["only_b"].as_u64()),
        (Some(8), Some(0))
    );
    assert!((json["mcnemar_p"].as_f64().unwrap() - 2.0 / 256.0).abs() < 1e-12);
    let text = pcee(&["compare", "--a", &a, "--b", &b]);
    assert!(
        text.stdout.contains("McNemar exact p = 1.094e-1"),
        "{}",
        text.stdout
    );
}

#[test]
fn different_images_and_missing_exits_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), "a.npz", &[0, 1], &[0, 1]);
    let b = write(dir.path(), "b.npz", &[0, 1], &[1, 1]);
    assert_error(
        &pcee(&["compare", "--a", &a, "--b", &b]),
        &format!("{b}: its labels differ"),
    );
    assert_error(
        &pcee(&["compare", "--a", &a, "--b", &a, "--exit-a", "3"]),
        "--exit-a: exit 3 does not exist",
    );
}
