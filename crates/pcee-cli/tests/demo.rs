//! End-to-end test of `pcee demo` through the real binary on the embedded assets (no data set
//! needed), on the first few hundred images and two targets, checked against `pcee evaluate`
//! run on the logits and policy files the demo wrote.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn pcee(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_pcee"))
        .args(args)
        .output()
        .expect("run pcee");
    let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
    (
        out.status.code().expect("exit code"),
        text(out.stdout),
        text(out.stderr),
    )
}

fn large_is_embedded() -> bool {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../assets/models/msdnet-large.safetensors")
        .is_file()
}

fn evaluate(dir: &Path, model: &str, delta: f64) -> Value {
    let policy = dir.join(format!("{model}-pcee-policy.json"));
    let test = dir.join(format!("{model}-test.npz"));
    let (code, stdout, stderr) = pcee(&[
        "evaluate",
        "--policy",
        policy.to_str().unwrap(),
        "--test",
        test.to_str().unwrap(),
        "--delta",
        &delta.to_string(),
        "--json",
    ]);
    assert_eq!(code, 0, "{stderr}");
    serde_json::from_str(&stdout).unwrap()
}

/// `pcee calibrate` on the demo's `<model>-val.npz` with `args`, then `pcee evaluate --json` on
/// its test logits; `None` when calibration finds no δ.
fn calibrated(dir: &Path, model: &str, args: &[&str]) -> Option<Value> {
    let (val, policy) = (
        dir.join(format!("{model}-val.npz")),
        dir.join("check-policy.json"),
    );
    let mut all = vec!["calibrate", "--val", val.to_str().unwrap()];
    all.extend(args);
    all.extend(["--output", policy.to_str().unwrap()]);
    let (code, _, stderr) = pcee(&all);
    if code != 0 {
        assert!(stderr.contains("--target-accuracy"), "{stderr}");
        return None;
    }
    let test = dir.join(format!("{model}-test.npz"));
    let (p, t) = (policy.to_str().unwrap(), test.to_str().unwrap());
    let (code, stdout, stderr) = pcee(&["evaluate", "--policy", p, "--test", t, "--json"]);
    assert_eq!(code, 0, "{stderr}");
    Some(serde_json::from_str(&stdout).unwrap())
}

#[test]
#[ignore = "slow by nature (the whole demo, ~20 s): scripts/test runs it in its `slow tests` step"]
fn demo_writes_a_report_consistent_with_evaluate() {
    assert!(
        large_is_embedded(),
        "assets/models/msdnet-large.safetensors is not in this checkout; the demo embeds it"
    );
    let dir: PathBuf = std::env::temp_dir().join(format!("pcee-demo-e2e-{}", std::process::id()));
    let (code, stdout, stderr) = pcee(&[
        "demo",
        "--out",
        dir.to_str().unwrap(),
        "--limit",
        "300",
        "--deltas",
        "0.8,0.9",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("msdnet-large PCEE"), "{stdout}");
    for name in [
        "report.md",
        "results.json",
        "accuracy-vs-flops.svg",
        "accuracy-vs-flops.png",
        "msdnet-large-accuracy-vs-delta.svg",
        "msdnet-large-accuracy-vs-delta.png",
        "msdnet-small-reliability-exit-0.svg",
        "msdnet-small-reliability-exit-0.png",
    ] {
        assert!(dir.join(name).is_file(), "{name} missing");
    }
    let png = std::fs::read(dir.join("accuracy-vs-flops.png")).unwrap();
    assert_eq!(&png[1..4], b"PNG");
    let report = std::fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(report.contains("![accuracy vs FLOPs](accuracy-vs-flops.png)"));

    let results: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap();
    assert_eq!(results["data"]["test"], 300);
    let large = results["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "msdnet-large")
        .unwrap();
    let rows = large["control"].as_array().unwrap();
    assert_eq!(rows.len(), 3 * 2, "3 methods × 2 δ");
    for row in rows.iter().filter(|r| r["method"] == "pcee") {
        let delta = row["delta"].as_f64().unwrap();
        let expected = evaluate(&dir, "msdnet-large", delta);
        for field in ["accuracy", "mean_flops", "flops_fraction"] {
            let (a, b) = (
                row["outcome"][field].as_f64().unwrap(),
                expected[field].as_f64().unwrap(),
            );
            assert!(
                (a - b).abs() < 1e-9,
                "δ {delta} {field}: demo {a} vs evaluate {b}"
            );
        }
        // The real runtime: the same exits but for float rounding at a bin edge, counted.
        let measured = &row["measured"];
        let mismatches = measured["exit_mismatches"].as_f64().unwrap();
        assert!(
            mismatches <= 3.0,
            "δ {delta}: {mismatches} exits differ from the simulation"
        );
        let gap =
            (measured["accuracy"].as_f64().unwrap() - expected["accuracy"].as_f64().unwrap()).abs();
        assert!(
            gap <= mismatches / 300.0 + 1e-12,
            "δ {delta}: runtime accuracy differs by {gap}"
        );
        assert!(measured["images_per_second"].as_f64().unwrap() > 0.0);
        assert!(measured["full_images_per_second"].as_f64().unwrap() > 0.0);
    }
    // The cost match: the large model's test outcome at the chosen δ, again through evaluate.
    let cost = &results["cost_match"];
    let expected = evaluate(&dir, "msdnet-large", cost["delta"].as_f64().unwrap());
    assert_eq!(cost["large_outcome"]["accuracy"], expected["accuracy"]);
    assert_eq!(cost["large_outcome"]["mean_flops"], expected["mean_flops"]);
    // The paired table covers the 300 test images and gives the two errors.
    let c = &cost["comparison"];
    let cell = |k: &str| c[k].as_u64().unwrap();
    let cells = cell("both_correct") + cell("only_a") + cell("only_b") + cell("both_wrong");
    assert_eq!(cells, 300);
    let large_error = (cell("only_a") + cell("both_wrong")) as f64 / 300.0;
    assert!((large_error - (1.0 - expected["accuracy"].as_f64().unwrap())).abs() < 1e-12);
    // Both verdicts are computed, and the first follows its rule on these numbers.
    let shown = c["difference"].as_f64().unwrap() < 0.0
        && c["mcnemar_p"].as_f64().unwrap() < 0.05
        && expected["mean_flops"].as_f64().unwrap() <= cost["small_flops"].as_f64().unwrap();
    let verdict = &results["verdicts"]["cost_match"]["verdict"];
    assert_eq!(verdict, if shown { "shown" } else { "not shown" });
    let targets = results["verdicts"]["targets"]["verdict"].as_str().unwrap();
    assert!(["shown", "not shown"].contains(&targets), "{targets}");
    assert!(stdout.contains("verdict (claim 1): "), "{stdout}");
    // Claim 1 on every embedded pair of one recipe: the first is `cost_match`; each large
    // model's outcome is what `pcee evaluate` gives at its δ; each pair's verdict is printed, and
    // the overall verdict is shown exactly when it is shown on some pair.
    let pairs = results["cost_matches"].as_array().unwrap();
    let per_pair = results["verdicts"]["cost_match_per_pair"]
        .as_array()
        .unwrap();
    assert_eq!(&pairs[0], cost);
    assert_eq!(pairs.len(), per_pair.len());
    for (c, v) in pairs.iter().zip(per_pair) {
        let large = c["large_model"].as_str().unwrap();
        let expected = evaluate(&dir, large, c["delta"].as_f64().unwrap());
        assert_eq!(
            c["large_outcome"]["accuracy"], expected["accuracy"],
            "{large}"
        );
        assert!(c["small_measured"]["rounds"].as_u64().unwrap() >= 3, "{c}");
        assert!(c["large_images_per_second"].as_f64().unwrap() > 0.0, "{c}");
        let line = format!(
            "verdict (claim 1, {} → {large}): {}",
            c["small_model"].as_str().unwrap(),
            v["verdict"]["verdict"].as_str().unwrap()
        );
        assert!(stdout.contains(&line), "{line} in {stdout}");
    }
    let any = per_pair.iter().any(|v| v["verdict"]["verdict"] == "shown");
    assert_eq!(verdict == "shown", any, "{per_pair:?}");
    assert!(stdout.contains("verdict (claim 2): "), "{stdout}");
    // Claim 2 per model: one verdict per model with its regime (printed), and the overall
    // verdict is shown exactly when it is shown on some model.
    let per_model = results["verdicts"]["targets_per_model"].as_array().unwrap();
    let models = results["models"].as_array().unwrap();
    assert_eq!(per_model.len(), models.len());
    for (v, m) in per_model.iter().zip(models) {
        assert_eq!(v["model"], m["name"]);
        assert_eq!(v["regime"], m["regime"]);
        let line = format!(
            "verdict (claim 2, {}, {}): {}",
            m["name"].as_str().unwrap(),
            m["regime"].as_str().unwrap(),
            v["verdict"]["verdict"].as_str().unwrap()
        );
        assert!(stdout.contains(&line), "{line} in {stdout}");
    }
    let any = per_model.iter().any(|v| v["verdict"]["verdict"] == "shown");
    assert_eq!(targets == "shown", any, "{per_model:?}");
    // Target-accuracy mode: each row is what `pcee calibrate` (with the same choice of δ) and
    // `pcee evaluate` give on the demo's own logits files.
    let mode = large["target_mode"]["rows"].as_array().unwrap();
    assert!(!mode.is_empty());
    for row in mode.iter().filter(|r| r["method"] != "pcee+ucb") {
        let target = row["target"].as_f64().unwrap().to_string();
        let mut args = vec![];
        match row["method"].as_str().unwrap() {
            "confidence" => args = vec!["--method", "confidence", "--delta", &target],
            "pcee" => args = vec!["--method", "pcee", "--delta", &target],
            "pcee+target" => args.extend(["--method", "pcee", "--target-accuracy", &target]),
            "pcee+crc" => args.extend([
                "--method",
                "pcee",
                "--target-accuracy",
                &target,
                "--guarantee",
                "crc",
            ]),
            other => panic!("unexpected method {other}"),
        }
        let expected = calibrated(&dir, "msdnet-large", &args);
        match expected {
            Some(e) => {
                assert_eq!(row["accuracy"], e["accuracy"], "{row}");
                assert_eq!(row["mean_flops"], e["mean_flops"], "{row}");
            }
            None => assert!(row["delta"].is_null(), "{row}"),
        }
        let met = row["accuracy"].as_f64().unwrap() >= row["target"].as_f64().unwrap();
        assert_eq!(row["met"], met, "{row}");
        assert!((0.0..=1.0).contains(&row["violation_rate"].as_f64().unwrap()));
    }
    assert!(dir.join("msdnet-large-target-accuracy.png").is_file());
    assert!(stdout.contains("Target-accuracy mode"), "{stdout}");
    // Runtime: one measurement per distinct exit assignment, each of at least 3 rounds.
    for row in large["runtime"].as_array().unwrap() {
        assert!(row["measured"]["rounds"].as_u64().unwrap() >= 3);
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bad_deltas_are_one_line_errors_and_write_nothing() {
    let dir = std::env::temp_dir().join(format!("pcee-demo-bad-{}", std::process::id()));
    let (code, stdout, stderr) = pcee(&[
        "demo",
        "--out",
        dir.to_str().unwrap(),
        "--deltas",
        "0.8,1.5",
    ]);
    assert_eq!(code, 1);
    assert!(stdout.is_empty());
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("error: --deltas: "), "{stderr}");
    assert!(!dir.exists());
}
