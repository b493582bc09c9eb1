//! `pcee stages` from the command line (feature `onnx`): the token network of
//! `examples/tokens/` as one ONNX file (`model.onnx`, outputs `exit_0..exit_2`, written by
//! `examples/python/token_network.py` the way `torch.onnx.export` writes a multi-exit network)
//! cut into stages, then run by `pcee logits` and `pcee infer` on the example's `.npz`: the
//! logits equal numpy's (`expected-logits.npy`, computed by the script), the decisions equal
//! those of the hand-written stage graphs of `examples/tokens/stages`; and the refusals are one
//! line with a non-zero exit and nothing written.

#![cfg(feature = "onnx")]

use crate::common;

use common::{assert_error, ok, pcee, root, s};
use std::path::{Path, PathBuf};

fn example(file: &str) -> String {
    common::token_example(file)
}

fn temp_dir(name: &str) -> PathBuf {
    common::temp_dir("pcee-stages", name)
}

/// The example's FLOPs (its manifest's): the naive-Bayes reader has no MatMul to count.
const FLOPS: &str = "68,140,212";

fn infer(stages: &str, policy: &Path) -> serde_json::Value {
    let out = ok(&[
        "infer",
        "--stages",
        stages,
        "--policy",
        s(policy),
        "--input",
        &example("test.npz"),
        "--labels",
        &example("test-labels.npy"),
        "--batch",
        "64",
        "--repeat",
        "1",
        "--json",
        "--decisions",
    ]);
    serde_json::from_str(&out).unwrap()
}

#[test]
fn one_file_cut_runs_like_the_hand_written_stages() {
    let dir = temp_dir("tokens");
    let cut = dir.join("cut");
    let printed = ok(&[
        "stages",
        &example("model.onnx"),
        "--out",
        s(&cut),
        "--flops",
        FLOPS,
    ]);
    assert!(
        printed.contains("wrote 3 stages and 3 heads, 4 classes, reading input_ids int64 [24] and attention_mask int64 [24]"),
        "{printed}"
    );
    let logits = dir.join("test.npz");
    ok(&[
        "logits",
        "--stages",
        s(&cut),
        "--input",
        &example("test.npz"),
        "--labels",
        &example("test-labels.npy"),
        "--out",
        s(&logits),
    ]);
    let got = pcee::ExitLogits::read(&logits).unwrap();
    assert_eq!((got.exits(), got.samples(), got.classes()), (3, 2000, 4));
    assert_eq!(got.flops(), &[68.0, 140.0, 212.0]);
    let expected = npyz::NpyFile::new(std::fs::File::open(example("expected-logits.npy")).unwrap())
        .unwrap()
        .into_vec::<f32>()
        .unwrap();
    for e in 0..3 {
        for i in 0..20 {
            let pcee::LogitsRow::F32(row) = got.logits_of(e, i) else {
                panic!("float32")
            };
            for (g, w) in row
                .iter()
                .zip(&expected[(e * 20 + i) * 4..(e * 20 + i + 1) * 4])
            {
                assert!(
                    (g - w).abs() < 1e-4,
                    "exit {e} sample {i}: {g} vs numpy's {w}"
                );
            }
        }
    }
    let policy = dir.join("policy.json");
    ok(&[
        "calibrate",
        "--val",
        s(&logits),
        "--method",
        "pcee",
        "--delta",
        "0.85",
        "--output",
        s(&policy),
    ]);
    let (a, b) = (infer(s(&cut), &policy), infer(&example("stages"), &policy));
    assert_eq!(a["decisions"], b["decisions"]);
    assert!(a["exit_fractions"][0].as_f64().unwrap() > 0.1, "{a}");
}

#[test]
fn refusals_are_one_line_and_write_nothing() {
    let dir = temp_dir("refusals");
    let cut = dir.join("cut");
    // No MatMul or Conv to count FLOPs from.
    let run = pcee(&["stages", &example("model.onnx"), "--out", s(&cut)]);
    assert_error(
        &run,
        &format!(
            "{}: exit \"exit_0\": 0 FLOPs per sample counted",
            example("model.onnx")
        ),
    );
    assert!(run.stderr.contains("--flops F1,F2,…"), "{}", run.stderr);
    // FLOPs not increasing.
    let run = pcee(&[
        "stages",
        &example("model.onnx"),
        "--out",
        s(&cut),
        "--flops",
        "68,68,212",
    ]);
    assert_error(&run, &format!("{}: flops", example("model.onnx")));
    // An exit that is not an output of a node.
    let run = pcee(&[
        "stages",
        &example("model.onnx"),
        "--out",
        s(&cut),
        "--exits",
        "exit_0,exit_9",
        "--flops",
        "1,2",
    ]);
    assert_error(
        &run,
        &format!(
            "{}: exit \"exit_9\": no node of the graph writes it",
            example("model.onnx")
        ),
    );
    // A directory of the user's is not replaced.
    std::fs::create_dir_all(&cut).unwrap();
    std::fs::write(cut.join("notes.txt"), "mine").unwrap();
    let run = pcee(&[
        "stages",
        &example("model.onnx"),
        "--out",
        s(&cut),
        "--flops",
        FLOPS,
    ]);
    assert_error(
        &run,
        &format!(
            "{}: --out: exists and is not a stage-graph directory",
            s(&cut)
        ),
    );
    assert_eq!(std::fs::read_dir(&cut).unwrap().count(), 1);
    std::fs::remove_dir_all(&cut).unwrap();
    // Not a file.
    let run = pcee(&["stages", s(&dir.join("absent.onnx")), "--out", s(&cut)]);
    assert_error(&run, &format!("{}:", s(&dir.join("absent.onnx"))));
    assert!(!cut.exists());
}

/// `pcee export --single-file` replaces an earlier ONNX file but never another file (the
/// model's own weights or card, which a fresh user overwrote by a slip of `--out`).
#[test]
fn single_file_export_never_overwrites_a_file_of_another_kind() {
    let dir = temp_dir("clobber");
    let weights = dir.join("msdnet-small.safetensors");
    let card = dir.join("msdnet-small.json");
    let models = root().join("assets/models");
    std::fs::copy(models.join("msdnet-small.safetensors"), &weights).unwrap();
    std::fs::copy(models.join("msdnet-small.json"), &card).unwrap();
    let before = std::fs::read(&weights).unwrap();
    for target in [&weights, &card] {
        let run = pcee(&[
            "export",
            "--model",
            s(&weights),
            "--single-file",
            "--out",
            s(target),
        ]);
        assert_error(
            &run,
            &format!("{}: --out: exists and is not named *.onnx", s(target)),
        );
    }
    assert_eq!(std::fs::read(&weights).unwrap(), before);
    let onnx = dir.join("small.onnx");
    std::fs::write(&onnx, b"not a model").unwrap();
    let run = pcee(&[
        "export",
        "--model",
        s(&weights),
        "--single-file",
        "--out",
        s(&onnx),
    ]);
    assert_error(
        &run,
        &format!("{}: --out: exists and is not an ONNX model", s(&onnx)),
    );
    std::fs::remove_file(&onnx).unwrap();
    // Written, then (an earlier export) replaced.
    for _ in 0..2 {
        ok(&[
            "export",
            "--model",
            s(&weights),
            "--single-file",
            "--out",
            s(&onnx),
        ]);
    }
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 3, "no temporary left: {names:?}");
}
