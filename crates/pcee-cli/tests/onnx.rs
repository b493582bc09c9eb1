//! `pcee export` and `pcee infer --stages` (feature `onnx`; ORT_DYLIB_PATH must name
//! libonnxruntime) on a tiny MSDNet trained here on a few hundred real Fashion-MNIST images,
//! against the burn path: `pcee logits`' logits, `pcee infer --model`'s decisions and
//! `pcee evaluate`'s exit fractions are the references. Without the feature, only the one-line
//! error of `--stages` is checked.

use crate::common;

use common::{assert_error, example, ok, pcee, s};
use std::path::{Path, PathBuf};

fn temp_dir(name: &str) -> PathBuf {
    common::temp_dir("pcee-cli-onnx", name)
}

#[cfg(not(feature = "onnx"))]
#[test]
fn stages_need_the_onnx_feature() {
    let dir = temp_dir("nofeature");
    let policy = dir.join("policy.json");
    ok(&[
        "calibrate",
        "--val",
        &example("val.npz"),
        "--method",
        "pcee",
        "--output",
        s(&policy),
    ]);
    let run = pcee(&["infer", "--stages", s(&dir), "--policy", s(&policy)]);
    assert_error(
        &run,
        "--stages: this pcee was built without ONNX Runtime support",
    );
}

#[cfg(feature = "onnx")]
mod with_ort {
    use super::*;
    use pcee::{ExitLogits, LogitsRow};
    use serde_json::Value;

    const TINY: &str = r#"{"arch": "msdnet", "stem_channels": [2, 4, 4], "growth": [2, 2, 2], "bottleneck": [1, 1, 1],
      "block_layers": [1, 1], "block_first_scale": [0, 1], "reduction": 0.5, "head_channels": 4, "classes": 10}"#;
    const IMAGES: usize = 300;

    /// Trains the tiny network (1 epoch, 600 images), exports it; returns (model, stages).
    fn trained(dir: &Path) -> (PathBuf, PathBuf) {
        let config = dir.join("tiny-config.json");
        std::fs::write(&config, TINY).unwrap();
        let model = dir.join("tiny.safetensors");
        ok(&[
            "train",
            "--arch-config",
            s(&config),
            "--epochs",
            "1",
            "--batch",
            "32",
            "--limit",
            "600",
            "--out",
            s(&model),
        ]);
        let stages = dir.join("stages");
        let out = ok(&["export", "--model", s(&model), "--out", s(&stages)]);
        assert!(
            out.contains("wrote 2 stage graph(s) and 2 head graph(s), 10 classes"),
            "{out}"
        );
        (model, stages)
    }

    fn row(l: &ExitLogits, e: usize, i: usize) -> Vec<f32> {
        match l.logits_of(e, i) {
            LogitsRow::F32(z) => z.to_vec(),
            LogitsRow::F64(z) => z.iter().map(|&v| v as f32).collect(),
        }
    }

    fn infer(args: &[&str]) -> Value {
        let mut all = vec![
            "infer",
            "--limit",
            "300",
            "--repeat",
            "1",
            "--json",
            "--decisions",
        ];
        all.extend_from_slice(args);
        serde_json::from_str(&ok(&all)).unwrap()
    }

    #[test]
    fn exported_graphs_agree_with_burn() {
        let dir = temp_dir("agree");
        let (model, stages) = trained(&dir);
        let npz = dir.join("test.npz");
        ok(&[
            "logits",
            "--model",
            s(&model),
            "--split",
            "test",
            "--limit",
            "300",
            "--out",
            s(&npz),
        ]);
        let burn = ExitLogits::read(&npz).unwrap();

        // Every exit's logits through ONNX Runtime (`pcee logits --stages`), on the same 300
        // test images, normalised with the manifest's preprocessing.
        let ort_npz = dir.join("test-ort.npz");
        ok(&[
            "logits",
            "--stages",
            s(&stages),
            "--split",
            "test",
            "--limit",
            "300",
            "--out",
            s(&ort_npz),
        ]);
        let ort = ExitLogits::read(&ort_npz).unwrap();
        assert_eq!(ort.labels(), burn.labels());
        assert_eq!(ort.flops(), burn.flops());
        let mut worst = 0.0f32;
        for e in 0..burn.exits() {
            for i in 0..IMAGES {
                for (a, b) in row(&ort, e, i).iter().zip(&row(&burn, e, i)) {
                    worst = worst.max((a - b).abs());
                }
            }
        }
        assert!(worst <= 1e-4, "largest logit difference {worst}");

        // Decisions: confidence thresholding with δ in the widest gap between neighbouring
        // exit-0 confidences of the middle half (no image within float noise of δ), and PCEE.
        let score = |z: &[f32]| pcee::ExitScore::from_logits(z).confidence;
        let mut conf: Vec<f64> = (0..IMAGES).map(|i| score(&row(&burn, 0, i))).collect();
        conf.sort_by(f64::total_cmp);
        let i = (IMAGES / 4..3 * IMAGES / 4)
            .max_by(|&i, &j| (conf[i] - conf[i - 1]).total_cmp(&(conf[j] - conf[j - 1])))
            .unwrap();
        assert!(
            conf[i] - conf[i - 1] > 1e-5,
            "gap {}",
            conf[i] - conf[i - 1]
        );
        let delta = format!("{}", 0.5 * (conf[i - 1] + conf[i]));
        for (method, delta) in [("confidence", delta.as_str()), ("pcee", "0.15")] {
            let policy = dir.join(format!("{method}.json"));
            ok(&[
                "calibrate",
                "--val",
                s(&npz),
                "--method",
                method,
                "--delta",
                delta,
                "--output",
                s(&policy),
            ]);
            let by_burn = infer(&["--model", s(&model), "--policy", s(&policy)]);
            let by_ort = infer(&["--stages", s(&stages), "--policy", s(&policy)]);
            let (b, o) = (
                by_burn["decisions"].as_array().unwrap(),
                by_ort["decisions"].as_array().unwrap(),
            );
            assert_eq!(b.len(), IMAGES);
            // A row may differ only at a bin edge: the earlier exit's confidence within 1e-4
            // of one of that exit's bin edges in the policy (logits agree within 1e-4).
            let file: Value =
                serde_json::from_str(&std::fs::read_to_string(&policy).unwrap()).unwrap();
            let at_edge = |d: &Value| {
                let (e, c) = (
                    d["exit"].as_u64().unwrap() as usize,
                    d["confidence"].as_f64().unwrap(),
                );
                file["exits"][e]["edges"].as_array().is_some_and(|edges| {
                    edges.iter().any(|x| (x.as_f64().unwrap() - c).abs() < 1e-4)
                })
            };
            let differ: Vec<_> = b
                .iter()
                .zip(o)
                .filter(|(b, o)| b["exit"] != o["exit"] || b["prediction"] != o["prediction"])
                .collect();
            for (b, o) in &differ {
                let early = if b["exit"].as_u64() <= o["exit"].as_u64() {
                    b
                } else {
                    o
                };
                assert!(at_edge(early), "{method}: {b} vs {o}, not at a bin edge");
            }
            assert!(
                differ.len() <= 2,
                "{method}: {} decisions differ",
                differ.len()
            );
            for (b, o) in b.iter().zip(o).filter(|(b, o)| b["exit"] == o["exit"]) {
                let (cb, co) = (
                    b["confidence"].as_f64().unwrap(),
                    o["confidence"].as_f64().unwrap(),
                );
                assert!((cb - co).abs() < 1e-5, "{method}: confidence {cb} vs {co}");
            }
            let keys: &[&str] = if differ.is_empty() {
                &["accuracy", "exit_fractions", "mean_flops", "full_flops"]
            } else {
                &["full_flops"] // a bin-edge row moves the others
            };
            for key in keys {
                assert_eq!(by_burn[key], by_ort[key], "{method}: {key}");
            }
            // And the offline evaluation of the same logits.
            let eval: Value = serde_json::from_str(&ok(&[
                "evaluate",
                "--policy",
                s(&policy),
                "--test",
                s(&npz),
                "--json",
            ]))
            .unwrap();
            let runtime = if differ.is_empty() { &by_ort } else { &by_burn };
            assert_eq!(
                eval["exit_fractions"], runtime["exit_fractions"],
                "{method}: evaluate"
            );
            if method == "confidence" {
                let at_0 = o.iter().filter(|d| d["exit"] == 0).count();
                assert_eq!(at_0, IMAGES - i, "the images above δ leave at exit 0");
            }
        }
    }

    #[test]
    fn bad_stage_directories_are_one_line_errors() {
        let dir = temp_dir("bad");
        let (_model, stages) = trained(&dir);
        let policy = dir.join("other.json");
        // A policy of another model: the FLOPs disagree.
        ok(&[
            "calibrate",
            "--val",
            &example("val.npz"),
            "--method",
            "pcee",
            "--output",
            s(&policy),
        ]);
        let run = pcee(&[
            "infer",
            "--stages",
            s(&stages),
            "--policy",
            s(&policy),
            "--limit",
            "10",
        ]);
        assert_error(&run, &format!("{}: ", policy.display()));
        assert!(
            run.stderr.contains("the stage-graph directory has"),
            "{}",
            run.stderr
        );

        std::fs::remove_file(stages.join("head-1.onnx")).unwrap();
        let run = pcee(&["infer", "--stages", s(&stages), "--policy", s(&policy)]);
        assert_error(
            &run,
            &format!(
                "{}: heads[1].graph: cannot be read",
                stages.join("head-1.onnx").display()
            ),
        );

        let run = pcee(&[
            "export",
            "--model",
            s(&dir.join("missing.safetensors")),
            "--out",
            s(&dir.join("x")),
        ]);
        assert_error(&run, "");
        assert!(run.stderr.contains("missing.safetensors"), "{}", run.stderr);
    }

    #[test]
    fn without_ort_dylib_path_the_error_says_what_to_set() {
        let dir = temp_dir("nolib");
        let (_model, stages) = trained(&dir);
        let policy = dir.join("p.json");
        let npz = dir.join("v.npz");
        ok(&[
            "logits",
            "--model",
            s(&dir.join("tiny.safetensors")),
            "--split",
            "val",
            "--limit",
            "50",
            "--out",
            s(&npz),
        ]);
        ok(&[
            "calibrate",
            "--val",
            s(&npz),
            "--method",
            "pcee",
            "--output",
            s(&policy),
        ]);
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_pcee"))
            .args([
                "infer",
                "--stages",
                s(&stages),
                "--policy",
                s(&policy),
                "--limit",
                "10",
            ])
            .env_remove("ORT_DYLIB_PATH")
            .output()
            .unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.starts_with(
                "error: ORT_DYLIB_PATH: not set; expected the path of libonnxruntime.so"
            ),
            "{stderr}"
        );
    }
}
