//! `--input FILE.npy --labels FILE.npy` (issue 29): a network that is not Fashion-MNIST's —
//! input `x` float32 `[3, 4, 4]`, 3 classes, two linear stages — built here as a stage-graph
//! directory, its logits checked against the same arithmetic done by hand in the test, and
//! `pcee logits` → `pcee calibrate` → `pcee infer` run on it end to end, then every malformed
//! file refused in one line.

#![cfg(feature = "onnx")]

use crate::common;

use common::{assert_error, pcee, s};
use pcee_onnx::graph::{int, GraphBuilder};
use pcee_onnx::manifest::{Head, Manifest, Stage, TensorSpec};
use std::path::{Path, PathBuf};

const SAMPLES: usize = 60;
const PER: usize = 48; // 3 × 4 × 4
const HIDDEN: usize = 8;
const CLASSES: usize = 3;

fn temp_dir(name: &str) -> PathBuf {
    common::temp_dir("pcee-own", name)
}

/// Deterministic values in [−1, 1].
fn values(n: usize, seed: u64) -> Vec<f32> {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 33) as f64 / (1u64 << 31) as f64 * 2.0 - 1.0) as f32
        })
        .collect()
}

/// `[rows, k] × [k, n]`.
fn matmul(a: &[f32], w: &[f32], k: usize, n: usize) -> Vec<f32> {
    a.chunks(k)
        .flat_map(|row| (0..n).map(move |j| (0..k).map(|i| row[i] * w[i * n + j]).sum::<f32>()))
        .collect()
}

struct Weights {
    w0: Vec<f32>,
    v0: Vec<f32>,
    w1: Vec<f32>,
    v1: Vec<f32>,
}

fn weights() -> Weights {
    Weights {
        w0: values(PER * HIDDEN, 1),
        v0: values(HIDDEN * CLASSES, 2),
        w1: values(HIDDEN * HIDDEN, 3),
        v1: values(HIDDEN * CLASSES, 4),
    }
}

fn spec(name: &str, shape: &[usize]) -> TensorSpec {
    TensorSpec::f32(name, shape)
}

/// stage 0: h0 = flatten(x) · W0; head 0: h0 · V0; stage 1: h1 = relu(h0 · W1); head 1: h1 · V1.
fn network(dir: &Path, w: &Weights) {
    let mut g = GraphBuilder::new();
    let x = g.input("x", &[3, 4, 4]);
    let flat = g.node("Flatten", &[&x], vec![int("axis", 1)], None);
    let w0 = g.constant(&[PER, HIDDEN], &w.w0);
    g.node("MatMul", &[&flat, &w0], vec![], Some("h0"));
    g.output("h0", &[HIDDEN]);
    g.save("stage-0", &dir.join("stage-0.onnx")).unwrap();
    let mut g = GraphBuilder::new();
    let h0 = g.input("h0", &[HIDDEN]);
    let w1 = g.constant(&[HIDDEN, HIDDEN], &w.w1);
    let z = g.node("MatMul", &[&h0, &w1], vec![], None);
    g.node("Relu", &[&z], vec![], Some("h1"));
    g.output("h1", &[HIDDEN]);
    g.save("stage-1", &dir.join("stage-1.onnx")).unwrap();
    for (e, v) in [&w.v0, &w.v1].into_iter().enumerate() {
        let mut g = GraphBuilder::new();
        let h = g.input(&format!("h{e}"), &[HIDDEN]);
        let v = g.constant(&[HIDDEN, CLASSES], v);
        g.node("MatMul", &[&h, &v], vec![], Some("logits"));
        g.output("logits", &[CLASSES]);
        g.save("head", &dir.join(format!("head-{e}.onnx"))).unwrap();
    }
    let head_flops = (2 * HIDDEN * CLASSES) as f64;
    let stage0 = (2 * PER * HIDDEN) as f64;
    let stage1 = (2 * HIDDEN * HIDDEN) as f64;
    let manifest = Manifest {
        format: pcee_onnx::manifest::FORMAT.into(),
        version: pcee_onnx::manifest::VERSION,
        classes: CLASSES,
        inputs: vec![spec("x", &[3, 4, 4])],
        preprocessing: None,
        stages: vec![
            Stage {
                graph: "stage-0.onnx".into(),
                inputs: vec![spec("x", &[3, 4, 4])],
                outputs: vec![spec("h0", &[HIDDEN])],
            },
            Stage {
                graph: "stage-1.onnx".into(),
                inputs: vec![spec("h0", &[HIDDEN])],
                outputs: vec![spec("h1", &[HIDDEN])],
            },
        ],
        heads: vec![
            Head {
                graph: "head-0.onnx".into(),
                inputs: vec![spec("h0", &[HIDDEN])],
                output: spec("logits", &[CLASSES]),
            },
            Head {
                graph: "head-1.onnx".into(),
                inputs: vec![spec("h1", &[HIDDEN])],
                output: spec("logits", &[CLASSES]),
            },
        ],
        flops: vec![
            stage0 + head_flops,
            stage0 + head_flops + stage1 + head_flops,
        ],
        source: Some("built by the test".into()),
    };
    manifest.write(&dir.join(pcee_onnx::MANIFEST_FILE)).unwrap();
}

/// A `.npy` file (format 1.0) of `descr` values `bytes`, shape `shape`.
fn npy(path: &Path, descr: &str, shape: &[usize], bytes: &[u8]) {
    std::fs::write(path, common::npy_bytes(descr, shape, bytes)).unwrap();
}

fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn i64_bytes(v: &[i64]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// The logits `[samples × classes]` of both exits, by hand.
fn by_hand(w: &Weights, x: &[f32]) -> [Vec<f32>; 2] {
    let h0 = matmul(x, &w.w0, PER, HIDDEN);
    let h1: Vec<f32> = matmul(&h0, &w.w1, HIDDEN, HIDDEN)
        .into_iter()
        .map(|v| v.max(0.0))
        .collect();
    [
        matmul(&h0, &w.v0, HIDDEN, CLASSES),
        matmul(&h1, &w.v1, HIDDEN, CLASSES),
    ]
}

fn read_npz_logits(path: &Path) -> pcee::ExitLogits {
    pcee::ExitLogits::read(path).unwrap()
}

#[test]
fn a_network_of_another_input_runs_from_its_own_files_end_to_end() {
    let dir = temp_dir("e2e");
    let graphs = dir.join("stages");
    std::fs::create_dir_all(&graphs).unwrap();
    let w = weights();
    network(&graphs, &w);
    let x = values(SAMPLES * PER, 7);
    // The true class: the last exit's argmax for most samples, another class for every 4th.
    let [_, last] = by_hand(&w, &x);
    let labels: Vec<i64> = last
        .chunks(CLASSES)
        .enumerate()
        .map(|(i, z)| {
            let best = (0..CLASSES).max_by(|&a, &b| z[a].total_cmp(&z[b])).unwrap();
            (if i % 4 == 0 {
                (best + 1) % CLASSES
            } else {
                best
            }) as i64
        })
        .collect();
    let (xf, yf) = (dir.join("x.npy"), dir.join("y.npy"));
    npy(&xf, "<f4", &[SAMPLES, 3, 4, 4], &f32_bytes(&x));
    npy(&yf, "<i8", &[SAMPLES], &i64_bytes(&labels));

    let logits = dir.join("logits.npz");
    let run = pcee(&[
        "logits",
        "--stages",
        s(&graphs),
        "--input",
        s(&xf),
        "--labels",
        s(&yf),
        "--batch",
        "16",
        "--out",
        s(&logits),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let got = read_npz_logits(&logits);
    assert_eq!(
        (got.exits(), got.samples(), got.classes()),
        (2, SAMPLES, CLASSES)
    );
    assert_eq!(
        got.labels(),
        labels.iter().map(|&l| l as u32).collect::<Vec<_>>()
    );
    let expected = by_hand(&w, &x);
    for (e, want) in expected.iter().enumerate() {
        for i in 0..SAMPLES {
            let pcee::LogitsRow::F32(row) = got.logits_of(e, i) else {
                panic!("float32 logits")
            };
            for (g, b) in row.iter().zip(&want[i * CLASSES..(i + 1) * CLASSES]) {
                assert!((g - b).abs() < 1e-4, "exit {e} sample {i}: {g} vs {b}");
            }
        }
    }

    let policy = dir.join("policy.json");
    let run = pcee(&[
        "calibrate",
        "--val",
        s(&logits),
        "--method",
        "confidence",
        "--delta",
        "0.6",
        "--output",
        s(&policy),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = pcee(&[
        "infer",
        "--stages",
        s(&graphs),
        "--policy",
        s(&policy),
        "--input",
        s(&xf),
        "--labels",
        s(&yf),
        "--batch",
        "16",
        "--repeat",
        "1",
        "--json",
        "--decisions",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // The samples are the calibration data: said on stderr.
    assert!(
        run.stderr
            .contains("have the labels (in order) of the calibration data"),
        "{}",
        run.stderr
    );
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["samples"], SAMPLES);
    // Every decision is confidence thresholding at 0.6 on the hand-computed logits.
    let decisions = report["decisions"].as_array().unwrap();
    for (i, d) in decisions.iter().enumerate() {
        let softmax_max = |z: &[f32]| {
            let m = z.iter().cloned().fold(f32::MIN, f32::max) as f64;
            let sum: f64 = z.iter().map(|&v| (v as f64 - m).exp()).sum();
            1.0 / sum
        };
        let c0 = softmax_max(&expected[0][i * CLASSES..(i + 1) * CLASSES]);
        let exit = if c0 >= 0.6 { 0 } else { 1 };
        if (c0 - 0.6).abs() > 1e-5 {
            assert_eq!(d["exit"], exit, "sample {i}: confidence {c0}");
        }
    }
    let accuracy = report["accuracy"].as_f64().unwrap();
    let right = decisions
        .iter()
        .zip(&labels)
        .filter(|(d, &y)| d["prediction"].as_i64() == Some(y))
        .count();
    assert!((accuracy - right as f64 / SAMPLES as f64).abs() < 1e-12);
}

#[test]
fn malformed_input_files_are_named_in_one_line() {
    let dir = temp_dir("bad");
    let graphs = dir.join("stages");
    std::fs::create_dir_all(&graphs).unwrap();
    network(&graphs, &weights());
    let x = values(10 * PER, 3);
    let good_x = dir.join("x.npy");
    npy(&good_x, "<f4", &[10, 3, 4, 4], &f32_bytes(&x));
    let good_y = dir.join("y.npy");
    npy(&good_y, "<i8", &[10], &i64_bytes(&[0; 10]));
    let out = dir.join("out.npz");
    let logits = |input: &Path, labels: &Path| {
        pcee(&[
            "logits",
            "--stages",
            s(&graphs),
            "--input",
            s(input),
            "--labels",
            s(labels),
            "--out",
            s(&out),
        ])
    };
    let shape = dir.join("shape.npy");
    npy(&shape, "<f4", &[10, 48], &f32_bytes(&x));
    assert_error(
        &logits(&shape, &good_y),
        &format!("{}: float32 [10, 48]; expected float32 [samples, 3, 4, 4] (the input \"x\" of the network)", shape.display()),
    );
    let ints = dir.join("ints.npy");
    npy(&ints, "<i8", &[10, 3, 4, 4], &i64_bytes(&vec![0; 10 * PER]));
    assert_error(
        &logits(&ints, &good_y),
        &format!("{}: int64 [10, 3, 4, 4]; expected float32", ints.display()),
    );
    let short = dir.join("short.npy");
    npy(&short, "<f4", &[10, 3, 4, 4], &f32_bytes(&x[..100]));
    assert_error(
        &logits(&short, &good_y),
        &format!(
            "{}: a header promising shape [10, 3, 4, 4] of float32 in a file of",
            short.display()
        ),
    );
    let f64s = dir.join("f64.npy");
    npy(&f64s, "<f8", &[10, 3, 4, 4], &vec![0u8; 8 * 10 * PER]);
    assert_error(
        &logits(&f64s, &good_y),
        &format!(
            "{}: float64 [10, 3, 4, 4]; expected float32 [samples, 3, 4, 4]",
            f64s.display()
        ),
    );
    let mut bad = x.clone();
    bad[7 * PER + 5] = f32::NAN;
    let nan = dir.join("nan.npy");
    npy(&nan, "<f4", &[10, 3, 4, 4], &f32_bytes(&bad));
    assert_error(
        &logits(&nan, &good_y),
        &format!("{}: sample 7: value NaN is not finite", nan.display()),
    );
    let huge = dir.join("huge.npy");
    npy(&huge, "<f4", &[usize::MAX / 4, 3, 4, 4], &f32_bytes(&x));
    assert_error(
        &logits(&huge, &good_y),
        &format!("{}: a header promising shape", huge.display()),
    );
    let count = dir.join("count.npy");
    npy(&count, "<i8", &[9], &i64_bytes(&[0; 9]));
    assert_error(
        &logits(&good_x, &count),
        &format!(
            "{}: int64 [9]; expected [10] integer classes in 0..3",
            count.display()
        ),
    );
    let range = dir.join("range.npy");
    npy(
        &range,
        "<i8",
        &[10],
        &i64_bytes(&[0, 1, 2, 3, 0, 0, 0, 0, 0, 0]),
    );
    assert_error(
        &logits(&good_x, &range),
        &format!("{}: label 3 at index 3; expected", range.display()),
    );
    let text = dir.join("text.npy");
    std::fs::write(&text, "not numpy").unwrap();
    assert_error(
        &logits(&text, &good_y),
        &format!(
            "{}: not a .npy or .npz file (it starts with \"not \")",
            text.display()
        ),
    );
    assert!(!out.exists(), "nothing written");
    // Labels of any integer width, signedness and byte order.
    for (descr, bytes) in [
        ("|i1", vec![0u8, 1, 2, 0, 1, 2, 0, 1, 2, 0]),
        (
            "<u2",
            [0u16, 1, 2, 0, 1, 2, 0, 1, 2, 0]
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect(),
        ),
        (
            ">i8",
            [0i64, 1, 2, 0, 1, 2, 0, 1, 2, 0]
                .iter()
                .flat_map(|v| v.to_be_bytes())
                .collect(),
        ),
    ] {
        let labels = dir.join("any-int.npy");
        npy(&labels, descr, &[10], &bytes);
        let run = logits(&good_x, &labels);
        assert_eq!(run.code, 0, "{descr}: {}", run.stderr);
        let got = read_npz_logits(&out);
        assert_eq!(got.labels(), [0, 1, 2, 0, 1, 2, 0, 1, 2, 0], "{descr}");
        std::fs::remove_file(&out).unwrap();
    }
    // --labels alone, even beside a flag that conflicts with --input.
    let run = pcee(&[
        "logits",
        "--stages",
        s(&graphs),
        "--split",
        "val",
        "--limit",
        "5",
        "--labels",
        s(&good_y),
        "--out",
        s(&out),
    ]);
    assert_error(
        &run,
        &format!("--labels {}: given without --input", good_y.display()),
    );
    // --input needs --labels, and is not --split.
    let run = pcee(&[
        "logits",
        "--stages",
        s(&graphs),
        "--input",
        s(&good_x),
        "--out",
        s(&out),
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
}
