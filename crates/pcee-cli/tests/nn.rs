//! End-to-end tests of `pcee train` and `pcee logits` through the real binary, on a tiny
//! network and a few hundred real Fashion-MNIST images (Debian package `dataset-fashion-mnist`).

use crate::common;

use common::{assert_error, pcee, s, Run};
use std::path::{Path, PathBuf};

fn temp_dir(name: &str) -> PathBuf {
    common::temp_dir("pcee-cli-nn", name)
}

const TINY: &str = r#"{"arch": "msdnet", "stem_channels": [2, 4], "growth": [2, 2], "bottleneck": [1, 1],
  "block_layers": [1, 1], "block_first_scale": [0, 1], "reduction": 0.5, "head_channels": 4, "classes": 10}"#;

/// Trains the tiny network for one epoch on the first `limit` training images into
/// `dir/<name>.safetensors`; returns the weights path and the run.
fn train_tiny(dir: &Path, name: &str, limit: &str) -> (PathBuf, Run) {
    train_tiny_with(dir, name, limit, &[])
}

/// [`train_tiny`] with `extra` flags (optimiser, augmentation).
fn train_tiny_with(dir: &Path, name: &str, limit: &str, extra: &[&str]) -> (PathBuf, Run) {
    let config = dir.join("tiny-config.json");
    std::fs::write(&config, TINY).unwrap();
    let model = dir.join(format!("{name}.safetensors"));
    let mut args = vec![
        "train",
        "--arch-config",
        s(&config),
        "--epochs",
        "1",
        "--batch",
        "32",
        "--limit",
        limit,
        "--out",
        s(&model),
    ];
    args.extend_from_slice(extra);
    let run = pcee(&args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    (model, run)
}

#[test]
fn train_then_logits_then_calibrate() {
    let dir = temp_dir("e2e");
    let (model, run) = train_tiny(&dir, "tiny", "128");
    assert!(run.stdout.contains("val accuracy"), "{}", run.stdout);
    assert!(model.exists() && dir.join("tiny.json").exists() && dir.join("tiny.ckpt").exists());

    let npz = dir.join("val.npz");
    let run = pcee(&[
        "logits",
        "--model",
        s(&model),
        "--split",
        "val",
        "--limit",
        "300",
        "--out",
        s(&npz),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("2 exits × 300 samples"),
        "{}",
        run.stdout
    );

    let policy = dir.join("policy.json");
    let run = pcee(&[
        "calibrate",
        "--val",
        s(&npz),
        "--method",
        "pcee",
        "--output",
        s(&policy),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let text = std::fs::read_to_string(&policy).unwrap();
    // The cumulative FLOPs of the tiny network (hand count in pcee-nn/tests/flops.rs).
    assert!(text.contains("156784") && text.contains("210080"), "{text}");

    // Real early exit agrees with the offline evaluation of the same policy on the same images.
    let test = dir.join("test.npz");
    let run = pcee(&[
        "logits",
        "--model",
        s(&model),
        "--split",
        "test",
        "--limit",
        "300",
        "--out",
        s(&test),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    for delta in ["0.3", "0.5", "0.8"] {
        let run = pcee(&[
            "evaluate",
            "--policy",
            s(&policy),
            "--test",
            s(&test),
            "--delta",
            delta,
            "--json",
        ]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        let offline: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
        let run = pcee(&[
            "infer",
            "--model",
            s(&model),
            "--policy",
            s(&policy),
            "--delta",
            delta,
            "--limit",
            "300",
            "--batch",
            "64",
            "--repeat",
            "2",
            "--json",
        ]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        let online: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
        // At most one sample of 300 may move, and only through rounding at a bin edge.
        let close = |key: &str| {
            (online[key].as_f64().unwrap() - offline[key].as_f64().unwrap()).abs()
                <= 1.0 / 300.0 + 1e-12
        };
        assert!(
            close("accuracy") && close("mean_exit"),
            "δ {delta}: {online} vs {offline}"
        );
        for key in [
            "images_per_second",
            "full_images_per_second",
            "speedup",
            "ideal_speedup",
            "efficiency",
        ] {
            assert!(online[key].as_f64().unwrap() > 0.0, "{key}: {online}");
        }
        assert_eq!(online["samples"], 300);
        assert!(online.get("decisions").is_none());
        // The noise rule is unit-tested in pcee-nn (runtime::noise); here: the flag and its
        // reason come together, and two rounds report both spreads.
        let unreliable = online["timing_unreliable"].as_bool().unwrap();
        assert_eq!(unreliable, online.get("timing_unreliable_reason").is_some());
        assert!(online["spread"].as_f64().unwrap() >= 0.0, "{online}");
        assert!(online["full_spread"].as_f64().unwrap() >= 0.0, "{online}");
    }
    // The calibration images themselves (issue 33, item 4): the first 300 of --split val have
    // the policy's calibration labels in order, and infer says its figures are optimistic.
    let on_val = |limit: &str| {
        pcee(&[
            "infer",
            "--model",
            s(&model),
            "--policy",
            s(&policy),
            "--split",
            "val",
            "--limit",
            limit,
            "--repeat",
            "1",
            "--json",
        ])
    };
    let run = on_val("300");
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.starts_with(
            "warning: --split val: its images have the labels (in order) of the calibration data"
        ) && run.stderr.lines().count() == 1,
        "{}",
        run.stderr
    );
    let run = on_val("299");
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!run.stderr.contains("warning"), "{}", run.stderr);
    // The human table, batch 1 with latency percentiles.
    let run = pcee(&[
        "infer",
        "--model",
        s(&model),
        "--policy",
        s(&policy),
        "--limit",
        "20",
        "--batch",
        "1",
        "--repeat",
        "1",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        (run.stdout.contains("efficiency") || run.stdout.contains("timing unreliable"))
            && run.stdout.contains("p95"),
        "{}",
        run.stdout
    );
}

#[test]
fn infer_refuses_bad_input_in_one_line() {
    let dir = temp_dir("infer");
    let (model, _) = train_tiny(&dir, "m", "32");
    let npz = dir.join("val.npz");
    assert_eq!(
        pcee(&[
            "logits",
            "--model",
            s(&model),
            "--split",
            "val",
            "--limit",
            "50",
            "--out",
            s(&npz)
        ])
        .code,
        0
    );
    let policy = dir.join("policy.json");
    assert_eq!(
        pcee(&[
            "calibrate",
            "--val",
            s(&npz),
            "--method",
            "pcee",
            "--output",
            s(&policy)
        ])
        .code,
        0
    );
    let (m, p) = (s(&model).to_string(), s(&policy).to_string());
    let infer = |extra: &[&str]| {
        let mut args = vec![
            "infer", "--model", &m, "--policy", &p, "--limit", "8", "--repeat", "1",
        ];
        args.extend_from_slice(extra);
        pcee(&args)
    };
    assert_eq!(infer(&[]).code, 0);
    assert_error(
        &infer(&["--batch", "0"]),
        "--batch: 0 images per batch; expected 1 to 4096",
    );
    assert_error(
        &infer(&["--delta", "1.5"]),
        "--delta: 1.5 is not a valid target accuracy",
    );
    assert_error(
        &infer(&["--data-dir", "/nonexistent"]),
        "/nonexistent/t10k-images-idx3-ubyte",
    );

    // A policy of another network: one exit more, or other FLOPs.
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&policy).unwrap()).unwrap();
    let other = dir.join("other.json");
    let refused = |policy: serde_json::Value, what: &str| {
        std::fs::write(&other, policy.to_string()).unwrap();
        let run = pcee(&[
            "infer",
            "--model",
            &m,
            "--policy",
            s(&other),
            "--limit",
            "8",
        ]);
        assert_error(&run, &format!("{}: {what}", other.display()));
    };
    let mut three = json.clone();
    let last = three["exits"][1].clone();
    three["exits"].as_array_mut().unwrap().push(last);
    refused(three, "has 3 exits but the model has 2");
    let mut costly = json.clone();
    costly["exits"][1]["flops"] = serde_json::json!(250000.0);
    refused(
        costly,
        "exit 1 costs 250000 FLOPs in the policy but 210080 in the model",
    );

    // Weights that do not match their model card (the card describes a wider network).
    let wrong = dir.join("wrong.safetensors");
    std::fs::copy(&model, &wrong).unwrap();
    let mut card: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("m.json")).unwrap()).unwrap();
    card["head_channels"] = serde_json::json!(6);
    let config: pcee_nn::ArchConfig = serde_json::from_value(card.clone()).unwrap();
    card["flops_per_exit"] = serde_json::json!(config.flops_per_exit());
    std::fs::write(dir.join("wrong.json"), card.to_string()).unwrap();
    let run = pcee(&[
        "infer",
        "--model",
        s(&wrong),
        "--policy",
        &p,
        "--limit",
        "8",
    ]);
    assert_error(&run, &format!("{}: ", wrong.display()));
    assert!(
        run.stderr.contains("disagrees with the weights"),
        "{}",
        run.stderr
    );
}

#[test]
fn logits_refuses_a_truncated_model_and_leaves_no_output() {
    let dir = temp_dir("trunc");
    // A model card that is fine, weights that are garbage.
    let (model, _) = train_tiny(&dir, "m", "32");
    let bytes = std::fs::read(&model).unwrap();
    std::fs::write(&model, &bytes[..bytes.len() / 3]).unwrap();
    let out = dir.join("x.npz");
    let run = pcee(&[
        "logits",
        "--model",
        s(&model),
        "--split",
        "test",
        "--out",
        s(&out),
    ]);
    assert_error(
        &run,
        &format!("{}: not a valid safetensors", model.display()),
    );
    assert!(!out.exists());
}

#[test]
fn bad_flags_and_data_directories_are_one_line_errors() {
    let dir = temp_dir("flags");
    let out = dir.join("m.safetensors");
    assert_error(
        &pcee(&["train", "--arch", "resnet", "--out", s(&out)]),
        "--arch: unknown architecture `resnet`",
    );
    assert_error(
        &pcee(&[
            "train",
            "--arch",
            "msdnet-small",
            "--data-dir",
            "/nonexistent",
            "--out",
            s(&out),
        ]),
        "/nonexistent/train-images-idx3-ubyte",
    );
    // A missing directory is created, but not under a plain file; a directory is not a file.
    let plain = dir.join("plain");
    std::fs::write(&plain, b"x").unwrap();
    assert_error(
        &pcee(&[
            "train",
            "--arch",
            "msdnet-small",
            "--out",
            s(&plain.join("m.safetensors")),
        ]),
        "--out: cannot create directory",
    );
    assert_error(
        &pcee(&["train", "--arch", "msdnet-small", "--out", s(&dir)]),
        "--out: ",
    );
    assert_error(
        &pcee(&[
            "train",
            "--arch",
            "msdnet-small",
            "--batch",
            "5000",
            "--out",
            s(&out),
        ]),
        "--batch: 5000 images per batch; expected 1 to 4096",
    );
    assert_error(
        &pcee(&[
            "logits",
            "--model",
            s(&out),
            "--split",
            "val",
            "--out",
            s(&dir.join("v.npz")),
        ]),
        &format!(
            "{}: no such file; expected model weights (.safetensors)",
            out.display()
        ),
    );
    assert!(!out.exists());
}

/// `--limit` above the split's size is refused, not silently cut to the split.
#[test]
fn a_limit_above_the_split_is_refused() {
    let dir = temp_dir("limit");
    let model = common::root().join("assets/models/msdnet-small.safetensors");
    let out = dir.join("v.npz");
    let run = pcee(&[
        "logits",
        "--model",
        s(&model),
        "--split",
        "val",
        "--limit",
        "5001",
        "--out",
        s(&out),
    ]);
    assert_error(&run, "--limit: 5001 images; the val split has 5000");
    assert!(!out.exists());
}

/// The common recipe's options (issue 28): SGD with Nesterov momentum, its own default weight
/// decay (1e-4), no augmentation; recorded in the model card; SGD-only flags refused with AdamW.
#[test]
fn train_with_sgd_records_its_recipe_and_refuses_flags_it_would_ignore() {
    let dir = temp_dir("sgd");
    let sgd = [
        "--optimizer",
        "sgd",
        "--nesterov",
        "--lr",
        "0.1",
        "--no-augment",
    ];
    let (model, _) = train_tiny_with(&dir, "sgd", "128", &sgd);
    let config = dir.join("tiny-config.json");
    let card: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("sgd.json")).unwrap()).unwrap();
    let recipe = &card["training"]["recipe"];
    assert_eq!(
        recipe["optimizer"],
        serde_json::json!({"name": "sgd", "momentum": 0.9, "nesterov": true})
    );
    assert_eq!(recipe["weight_decay"], 1e-4);
    assert_eq!(recipe["augment"], false);
    assert_eq!(recipe["lr"], 0.1);

    let out = s(&model);
    assert_error(
        &pcee(&[
            "train",
            "--arch",
            "msdnet-small",
            "--momentum",
            "0.9",
            "--out",
            out,
        ]),
        "--momentum/--nesterov: only for --optimizer sgd",
    );
    assert_error(
        &pcee(&[
            "train",
            "--arch",
            "msdnet-small",
            "--optimizer",
            "sgd",
            "--momentum",
            "1.5",
            "--out",
            out,
        ]),
        "--momentum: 1.5; expected a value in [0, 1)",
    );
    assert_error(
        &pcee(&[
            "train",
            "--arch",
            "msdnet-small",
            "--optimizer",
            "sgd",
            "--momentum",
            "0",
            "--nesterov",
            "--out",
            out,
        ]),
        "--nesterov: Nesterov momentum needs a momentum > 0",
    );
    // A resumed run must use the same optimiser: AdamW on an SGD checkpoint is refused.
    let resumed = pcee(&[
        "train",
        "--arch-config",
        s(&config),
        "--epochs",
        "1",
        "--batch",
        "32",
        "--limit",
        "128",
        "--lr",
        "0.1",
        "--resume",
        "--out",
        out,
    ]);
    assert_eq!(resumed.code, 1, "{}", resumed.stderr);
    assert!(
        resumed
            .stderr
            .contains("sgd.ckpt: written by a run with other options"),
        "{}",
        resumed.stderr
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// A negative batch is named as typed, with exit 1, by every command that takes one (issue 33:
/// `infer --batch=-5` said "0 images per batch", `serve --max-batch=-3` was a usage error).
#[test]
fn negative_batches_are_one_line_errors_naming_the_value() {
    let root = common::root();
    let model = root.join("assets/models/msdnet-small.safetensors");
    let model = s(&model);
    let dir = temp_dir("negative");
    let out = dir.join("x.npz");
    let policy = dir.join("p.json");
    std::fs::write(&policy, b"{}").unwrap();
    let weights = dir.join("m.safetensors");
    let cases: [(&[&str], &str); 4] = [
        (
            &[
                "infer",
                "--model",
                model,
                "--policy",
                s(&policy),
                "--batch=-5",
            ],
            "--batch: -5 images per batch; expected 1 to 4096",
        ),
        (
            &[
                "logits",
                "--model",
                model,
                "--split",
                "val",
                "--batch=-5",
                "--out",
                s(&out),
            ],
            "--batch: -5 images per batch; expected 1 to 4096",
        ),
        (
            &[
                "serve",
                "--model",
                model,
                "--policy",
                s(&policy),
                "--max-batch=-3",
            ],
            "--max-batch: -3 images per batch; expected 1 to 4096",
        ),
        (
            &[
                "train",
                "--arch",
                "msdnet-small",
                "--batch=-2",
                "--out",
                s(&weights),
            ],
            "--batch: -2 images per batch; expected 1 to 4096",
        ),
    ];
    for (args, expected) in cases {
        assert_error(&pcee(args), expected);
    }
    std::fs::remove_dir_all(&dir).ok();
}
