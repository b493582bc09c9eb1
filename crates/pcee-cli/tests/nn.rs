//! End-to-end tests of `pcee train` and `pcee logits` through the real binary, on a tiny
//! network and a few hundred real Fashion-MNIST images (Debian package `dataset-fashion-mnist`).

use std::path::{Path, PathBuf};
use std::process::Command;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn pcee(args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_pcee")).args(args).output().expect("run pcee");
    Run {
        code: out.status.code().expect("exit code"),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pcee-cli-nn-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Exit code 1 and exactly one stderr line starting with `error: <prefix>`.
fn assert_error(run: &Run, prefix: &str) {
    assert_eq!(run.code, 1, "stderr: {}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "one line: {:?}", run.stderr);
    assert!(run.stderr.starts_with(&format!("error: {prefix}")), "{:?}", run.stderr);
    assert!(run.stdout.is_empty(), "stdout: {}", run.stdout);
}

const TINY: &str = r#"{"arch": "msdnet", "stem_channels": [2, 4], "growth": [2, 2], "bottleneck": [1, 1],
  "block_layers": [1, 1], "block_first_scale": [0, 1], "reduction": 0.5, "head_channels": 4, "classes": 10}"#;

#[test]
fn train_then_logits_then_calibrate() {
    let dir = temp_dir("e2e");
    let config = dir.join("tiny.json");
    std::fs::write(&config, TINY).unwrap();
    let model = dir.join("tiny.safetensors");
    let run = pcee(&["train", "--arch-config", s(&config), "--epochs", "1", "--batch", "32", "--limit", "128",
        "--out", s(&model)]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("val accuracy"), "{}", run.stdout);
    assert!(model.exists() && dir.join("tiny.json").exists() && dir.join("tiny.ckpt").exists());

    let npz = dir.join("val.npz");
    let run = pcee(&["logits", "--model", s(&model), "--split", "val", "--limit", "300", "--out", s(&npz)]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("2 exits × 300 images"), "{}", run.stdout);

    let policy = dir.join("policy.json");
    let run = pcee(&["calibrate", "--val", s(&npz), "--method", "pcee", "--output", s(&policy)]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let text = std::fs::read_to_string(&policy).unwrap();
    // The cumulative FLOPs of the tiny network (hand count in pcee-nn/tests/flops.rs).
    assert!(text.contains("156784") && text.contains("210080"), "{text}");
}

#[test]
fn logits_refuses_a_truncated_model_and_leaves_no_output() {
    let dir = temp_dir("trunc");
    let config = dir.join("tiny.json");
    std::fs::write(&config, TINY).unwrap();
    let model = dir.join("m.safetensors");
    // A model card that is fine, weights that are garbage.
    let run = pcee(&["train", "--arch-config", s(&config), "--epochs", "1", "--limit", "32", "--batch", "32",
        "--out", s(&model)]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let bytes = std::fs::read(&model).unwrap();
    std::fs::write(&model, &bytes[..bytes.len() / 3]).unwrap();
    let out = dir.join("x.npz");
    let run = pcee(&["logits", "--model", s(&model), "--split", "test", "--out", s(&out)]);
    assert_error(&run, &format!("{}: not a valid safetensors", model.display()));
    assert!(!out.exists());
}

#[test]
fn bad_flags_and_data_directories_are_one_line_errors() {
    let dir = temp_dir("flags");
    let out = dir.join("m.safetensors");
    assert_error(&pcee(&["train", "--arch", "resnet", "--out", s(&out)]), "--arch: unknown architecture `resnet`");
    assert_error(&pcee(&["train", "--arch", "msdnet-small", "--data-dir", "/nonexistent", "--out", s(&out)]),
        "/nonexistent/train-images-idx3-ubyte");
    assert_error(&pcee(&["train", "--arch", "msdnet-small", "--out", "/nonexistent/m.safetensors"]),
        "--out: directory /nonexistent does not exist");
    assert_error(&pcee(&["logits", "--model", s(&out), "--split", "val", "--out", s(&dir.join("v.npz"))]),
        &format!("{}: cannot read the model card", dir.join("m.json").display()));
    assert!(!out.exists());
}
