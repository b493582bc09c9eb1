//! A network of two int64 inputs through the whole offline path (issue 29): the naive-Bayes
//! token reader of `examples/tokens/` (`input_ids` and `attention_mask` `[24]`, stages 1 and 2
//! reading the network inputs again; made by `examples/python/token_network.py`). Its logits
//! are checked against the same arithmetic done in numpy by that script
//! (`expected-logits.npy`); `pcee infer` through ONNX Runtime gives the decisions
//! `pcee evaluate` gives on the logits; every malformed `.npz` is refused in one line.

#![cfg(feature = "onnx")]

use crate::common;

use common::{assert_error, pcee, s};
use std::path::{Path, PathBuf};

fn example(file: &str) -> String {
    common::token_example(file)
}

fn temp_dir(name: &str) -> PathBuf {
    common::temp_dir("pcee-tokens", name)
}

/// `pcee logits` of a split of the example into `out`.
fn logits(split: &str, out: &Path) {
    let run = pcee(&[
        "logits",
        "--stages",
        &example("stages"),
        "--input",
        &example(&format!("{split}.npz")),
        "--labels",
        &example(&format!("{split}-labels.npy")),
        "--batch",
        "300",
        "--out",
        s(out),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[test]
fn two_int64_inputs_give_numpys_logits_and_the_same_decisions_as_evaluate() {
    let dir = temp_dir("e2e");
    let (val, test) = (dir.join("val.npz"), dir.join("test.npz"));
    logits("val", &val);
    logits("test", &test);
    let got = pcee::ExitLogits::read(&test).unwrap();
    assert_eq!((got.exits(), got.samples(), got.classes()), (3, 2000, 4));
    let expected = npyz::NpyFile::new(std::fs::File::open(example("expected-logits.npy")).unwrap())
        .unwrap()
        .into_vec::<f32>()
        .unwrap();
    for e in 0..3 {
        for i in 0..20 {
            let pcee::LogitsRow::F32(row) = got.logits_of(e, i) else {
                panic!("float32")
            };
            let want = &expected[(e * 20 + i) * 4..(e * 20 + i + 1) * 4];
            for (g, w) in row.iter().zip(want) {
                assert!(
                    (g - w).abs() < 1e-4,
                    "exit {e} sample {i}: {g} vs numpy's {w}"
                );
            }
        }
    }
    let policy = dir.join("policy.json");
    let run = pcee(&[
        "calibrate",
        "--val",
        s(&val),
        "--method",
        "pcee",
        "--delta",
        "0.85",
        "--output",
        s(&policy),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let evaluate = pcee(&[
        "evaluate",
        "--policy",
        s(&policy),
        "--test",
        s(&test),
        "--json",
    ]);
    assert_eq!(evaluate.code, 0, "{}", evaluate.stderr);
    let infer = pcee(&[
        "infer",
        "--stages",
        &example("stages"),
        "--policy",
        s(&policy),
        "--input",
        &example("test.npz"),
        "--labels",
        &example("test-labels.npy"),
        "--batch",
        "64",
        "--repeat",
        "1",
        "--json",
    ]);
    assert_eq!(infer.code, 0, "{}", infer.stderr);
    let (a, b): (serde_json::Value, serde_json::Value) = (
        serde_json::from_str(&evaluate.stdout).unwrap(),
        serde_json::from_str(&infer.stdout).unwrap(),
    );
    for key in [
        "samples",
        "accuracy",
        "mean_flops",
        "exit_fractions",
        "exit_accuracy",
    ] {
        assert_eq!(a[key], b[key], "{key}");
    }
    // Early exit happens: some samples stop before the last exit.
    assert!(b["exit_fractions"][0].as_f64().unwrap() > 0.1, "{b}");
}

/// A stored `.npz` of `(name, npy bytes)` entries.
fn npz(path: &Path, arrays: &[(&str, Vec<u8>)]) {
    common::npz(path, arrays, false);
}

fn npy(descr: &str, shape: &[usize], data: &[u8]) -> Vec<u8> {
    common::npy_bytes(descr, shape, data)
}

#[test]
fn malformed_npz_inputs_are_named_in_one_line() {
    let dir = temp_dir("bad");
    let ids = npy("<i8", &[5, 24], &vec![0u8; 5 * 24 * 8]);
    let mask = npy("<i8", &[5, 24], &vec![0u8; 5 * 24 * 8]);
    let labels = dir.join("labels.npy");
    std::fs::write(&labels, npy("<i8", &[5], &[0u8; 40])).unwrap();
    let out = dir.join("out.npz");
    let run = |input: &Path| {
        pcee(&[
            "logits",
            "--stages",
            &example("stages"),
            "--input",
            s(input),
            "--labels",
            s(&labels),
            "--out",
            s(&out),
        ])
    };
    let missing = dir.join("missing.npz");
    npz(&missing, &[("input_ids", ids.clone())]);
    assert_error(
        &run(&missing),
        &format!(
        "{}: no array \"attention_mask\" (it holds [\"input_ids\"]); expected one array per input \
         [input_ids int64 [24], attention_mask int64 [24]]", missing.display()),
    );
    let extra = dir.join("extra.npz");
    npz(
        &extra,
        &[
            ("input_ids", ids.clone()),
            ("attention_mask", mask.clone()),
            ("token_type_ids", mask.clone()),
        ],
    );
    assert_error(
        &run(&extra),
        &format!(
            "{}: array \"token_type_ids\" is not an input of the network",
            extra.display()
        ),
    );
    let int32 = dir.join("int32.npz");
    npz(
        &int32,
        &[
            ("input_ids", npy("<i4", &[5, 24], &vec![0u8; 5 * 24 * 4])),
            ("attention_mask", mask.clone()),
        ],
    );
    assert_error(&run(&int32), &format!(
        "{}: array \"input_ids\": int32 [5, 24]; expected int64 [samples, 24] (the input \"input_ids\" of the network)",
        int32.display()));
    let counts = dir.join("counts.npz");
    npz(
        &counts,
        &[
            ("input_ids", ids.clone()),
            (
                "attention_mask",
                npy("<i8", &[4, 24], &vec![0u8; 4 * 24 * 8]),
            ),
        ],
    );
    assert_error(
        &run(&counts),
        &format!(
        "{}: array \"attention_mask\" has 4 samples and \"input_ids\" 5; expected the same count",
        counts.display()),
    );
    let one = dir.join("one.npy");
    std::fs::write(&one, &ids).unwrap();
    assert_error(
        &run(&one),
        &format!(
        "{}: one .npy array; this network reads [input_ids int64 [24], attention_mask int64 [24]], \
         expected a .npz with one array per input name", one.display()),
    );
    let short = dir.join("short.npz");
    npz(
        &short,
        &[("input_ids", ids[..200].to_vec()), ("attention_mask", mask)],
    );
    assert_error(
        &run(&short),
        &format!(
            "{}: array \"input_ids\": a header promising shape [5, 24] of int64 in an entry of",
            short.display()
        ),
    );
    // A token id beyond the vocabulary: ONNX Runtime's Gather fails; one line naming the file,
    // the samples and the graph (ONNX Runtime's own log is silenced).
    let mut big = vec![0u8; 5 * 24 * 8];
    big[3 * 24 * 8..3 * 24 * 8 + 8].copy_from_slice(&1000i64.to_le_bytes());
    let oov = dir.join("oov.npz");
    npz(
        &oov,
        &[
            ("input_ids", npy("<i8", &[5, 24], &big)),
            (
                "attention_mask",
                npy("<i8", &[5, 24], &vec![0u8; 5 * 24 * 8]),
            ),
        ],
    );
    let run_oov = run(&oov);
    assert_error(
        &run_oov,
        &format!("--input {}: samples 0 to 4: stage-0.onnx: ", oov.display()),
    );
    let garbage = dir.join("garbage.npz");
    std::fs::write(&garbage, "hello").unwrap();
    assert_error(
        &run(&garbage),
        &format!(
            "{}: not a .npy or .npz file (it starts with \"hell\"); expected numpy.save's .npy",
            garbage.display()
        ),
    );
    let empty = dir.join("empty.npy");
    std::fs::write(&empty, "").unwrap();
    assert_error(
        &run(&empty),
        &format!("{}: empty; expected", empty.display()),
    );
    // The split is for networks that read images.
    let split = pcee(&[
        "logits",
        "--stages",
        &example("stages"),
        "--split",
        "val",
        "--out",
        s(&out),
    ]);
    assert_error(
        &split,
        &format!(
        "--stages {}: the network reads [input_ids int64 [24], attention_mask int64 [24]], not \
         8-bit images", example("stages")),
    );
    assert!(!out.exists(), "nothing written");
}
