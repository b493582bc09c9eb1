//! End to end: `--binning mass`, the version 3 policy file (edges, classes, content hash), the
//! class-mismatch refusal and the warnings for evaluating on calibration data.

use crate::common;

use common::{assert_error, example, pcee};
use serde_json::Value;
use std::path::Path;

/// The `warning:` lines of a run's stderr (`note:` lines, such as an unreachable δ, aside).
fn warnings(stderr: &str) -> usize {
    stderr.lines().filter(|l| l.starts_with("warning:")).count()
}

fn calibrate(dir: &Path, name: &str, extra: &[&str]) -> (String, Value) {
    let policy = dir.join(format!("{name}.json")).display().to_string();
    let val = example("val.npz");
    let mut args = vec![
        "calibrate",
        "--val",
        &val,
        "--method",
        "pcee",
        "--output",
        &policy,
    ];
    args.extend_from_slice(extra);
    let run = pcee(&args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let json = serde_json::from_str(&std::fs::read_to_string(&policy).unwrap()).unwrap();
    (policy, json)
}

#[test]
fn mass_binning_writes_each_exits_edges_and_evaluates() {
    let dir = tempfile::tempdir().unwrap();
    let (policy, json) = calibrate(dir.path(), "mass", &["--binning", "mass"]);
    assert_eq!(json["version"], 3);
    assert_eq!(json["binning"], "mass");
    assert_eq!(json["calibration"]["classes"], 10);
    let hash = json["calibration"]["content_hash"].as_str().unwrap();
    assert!(
        hash.starts_with("sha256:") && hash.len() == 7 + 64,
        "{hash}"
    );
    for exit in json["exits"].as_array().unwrap() {
        let edges: Vec<f64> = exit["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e.as_f64().unwrap())
            .collect();
        let counts = exit["counts"].as_array().unwrap();
        assert_eq!(edges.len(), counts.len() + 1);
        assert_eq!((edges[0], edges[edges.len() - 1]), (0.0, 1.0));
        assert!(edges.windows(2).all(|w| w[0] < w[1]));
        assert!(
            counts.iter().all(|n| n.as_u64().unwrap() > 0),
            "no empty bin"
        );
    }
    let run = pcee(&[
        "evaluate",
        "--policy",
        &policy,
        "--test",
        &example("test.npz"),
        "--json",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // (δ = 0.9 is above this network's last-exit accuracy, so a `note:` line may be there.)
    assert_eq!(
        warnings(&run.stderr),
        0,
        "no warning on held-out data: {}",
        run.stderr
    );
    let out: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(out["method"], "pcee");
    // The width policy has no edges and says so.
    let (_, width) = calibrate(dir.path(), "width", &["--binning", "width"]);
    assert_eq!(width["binning"], "width");
    assert!(width["exits"][0].get("edges").is_none());
}

#[test]
fn a_policy_refuses_logits_with_other_classes() {
    let dir = tempfile::tempdir().unwrap();
    let (policy, _) = calibrate(dir.path(), "pcee", &[]);
    // The example network's exits and FLOPs, but 3 classes instead of 10.
    let val = pcee::ExitLogits::read(Path::new(&example("val.npz"))).unwrap();
    let (l, n) = (val.exits(), 4);
    let three = pcee::ExitLogits::from_f32(
        [l, n, 3],
        (0..l * n * 3).map(|i| (i % 5) as f32).collect(),
        vec![0, 1, 2, 1],
        Some(val.flops().to_vec()),
    )
    .unwrap();
    let test = dir.path().join("three.npz");
    three.write_npz(&test).unwrap();
    let test = test.display().to_string();
    let run = pcee(&["evaluate", "--policy", &policy, "--test", &test]);
    assert_error(
        &run,
        &format!("{test}: has 3 classes but the policy was calibrated on 10"),
    );
    // sweep has no policy: its --test must have the classes of its --val.
    let out = dir.path().join("sweep").display().to_string();
    let run = pcee(&[
        "sweep",
        "--val",
        &example("val.npz"),
        "--test",
        &test,
        "--out",
        &out,
    ]);
    assert_error(&run, &format!("{test}: has {l} exits and 3 classes but"));
    assert!(!Path::new(&out).exists(), "no output written");
}

#[test]
fn evaluating_on_the_calibration_data_warns_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let (policy, _) = calibrate(dir.path(), "pcee", &[]);
    // The calibration file itself, a copy of it under another name, and the same values saved
    // again in other forms (issue 33, item 4): without `flops`, as float64, and with the logits
    // of one exit changed (the same images through another model: the same labels).
    let copy = dir.path().join("renamed.npz");
    std::fs::copy(example("val.npz"), &copy).unwrap();
    let val = pcee::ExitLogits::read(Path::new(&example("val.npz"))).unwrap();
    let [l, n, c] = [val.exits(), val.samples(), val.classes()];
    let values: Vec<f64> = match val.values() {
        pcee::LogitValues::F32(v) => v.iter().map(|&x| f64::from(x)).collect(),
        pcee::LogitValues::F64(v) => v.clone(),
    };
    let labels: Vec<i64> = val.labels().iter().map(|&y| i64::from(y)).collect();
    let save = |name: &str, values: Vec<f64>, flops: Option<Vec<f64>>| {
        let path = dir.path().join(name);
        pcee::ExitLogits::from_f64([l, n, c], values, labels.clone(), flops)
            .unwrap()
            .write_npz(&path)
            .unwrap();
        path.display().to_string()
    };
    let no_flops = save("no-flops.npz", values.clone(), None);
    let wide = save("float64.npz", values.clone(), Some(val.flops().to_vec()));
    let mut other = values;
    other[0] += 1.0;
    let other_model = save("other-model.npz", other, Some(val.flops().to_vec()));
    for (test, how) in [
        (example("val.npz"), "holds the labels and logits of"),
        (copy.display().to_string(), "holds the labels and logits of"),
        (no_flops, "holds the labels and logits of"),
        (wide, "holds the labels and logits of"),
        (other_model, "has the labels (in order) of"),
    ] {
        let run = pcee(&["evaluate", "--policy", &policy, "--test", &test, "--json"]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert_eq!(warnings(&run.stderr), 1, "{:?}", run.stderr);
        assert!(
            run.stderr
                .starts_with(&format!("warning: {test}: {how} the calibration data")),
            "{:?}",
            run.stderr
        );
        assert!(run.stderr.contains("optimistic"));
        serde_json::from_str::<Value>(&run.stdout).expect("the result is still printed");
    }
}

#[test]
fn a_version_1_policy_without_a_hash_warns_on_the_file_name() {
    let dir = tempfile::tempdir().unwrap();
    let (policy, mut json) = calibrate(dir.path(), "pcee", &["--binning", "width"]);
    json["version"] = 1.into();
    json.as_object_mut().unwrap().remove("binning");
    let calibration = json["calibration"].as_object_mut().unwrap();
    calibration.remove("classes");
    calibration.remove("content_hash");
    calibration.remove("data_hash");
    calibration.remove("labels_hash");
    std::fs::write(&policy, json.to_string()).unwrap();
    let run = pcee(&[
        "evaluate",
        "--policy",
        &policy,
        "--test",
        &example("val.npz"),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(warnings(&run.stderr), 1, "{:?}", run.stderr);
    assert!(run
        .stderr
        .contains("has the file name of the calibration data"));
    let run = pcee(&[
        "evaluate",
        "--policy",
        &policy,
        "--test",
        &example("test.npz"),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(warnings(&run.stderr), 0, "{}", run.stderr);
}

#[test]
fn sweep_warns_when_val_and_test_are_one_file() {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("copy.npz");
    std::fs::copy(example("val.npz"), &copy).unwrap();
    for (test, binning) in [
        (example("val.npz"), "width"),
        (copy.display().to_string(), "mass"),
    ] {
        let out = dir.path().join(binning);
        let run = pcee(&[
            "sweep",
            "--val",
            &example("val.npz"),
            "--test",
            &test,
            "--binning",
            binning,
            "--deltas",
            "0.8,0.9",
            "--out",
            &out.display().to_string(),
        ]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert_eq!(run.stderr.lines().count(), 1, "{:?}", run.stderr);
        assert!(
            run.stderr
                .starts_with(&format!("warning: --test: {test} is the same data as")),
            "{:?}",
            run.stderr
        );
    }
    let run = pcee(&[
        "sweep",
        "--val",
        &example("val.npz"),
        "--test",
        &example("test.npz"),
        "--deltas",
        "0.9",
        "--out",
        &dir.path().join("held-out").display().to_string(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.is_empty(), "{}", run.stderr);
}

#[test]
fn diagram_prints_the_ece_of_both_binnings_and_trials_take_mass() {
    let dir = tempfile::tempdir().unwrap();
    let run = pcee(&[
        "diagram",
        "--logits",
        &example("val.npz"),
        "--binning",
        "mass",
        "--out",
        &dir.path().join("d").display().to_string(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("ECE width") && run.stdout.contains("ECE mass"));
    let svg = std::fs::read_to_string(dir.path().join("d/reliability-exit-0.svg")).unwrap();
    assert!(svg.contains("mass bins"));
    let run = pcee(&[
        "trials",
        "--logits",
        &example("test.npz"),
        "--splits",
        "3",
        "--methods",
        "pcee,pcee-ws",
        "--deltas",
        "0.85,0.9",
        "--binning",
        "mass",
        "--out",
        &dir.path().join("t").display().to_string(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("10 bins (mass)"), "{}", run.stdout);
    let bad = pcee(&[
        "diagram",
        "--logits",
        "x.npz",
        "--binning",
        "quantile",
        "--out",
        "d",
    ]);
    assert_eq!(bad.code, 2, "a usage error: {}", bad.stderr);
}

#[test]
fn calibrate_says_how_many_equal_mass_bins_each_exit_got() {
    // 2 000 validation samples cannot fill 5 000 equal-mass bins: each exit gets at most 2 000
    // (one per distinct confidence), and the summary says so instead of "5000 bins".
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("p.json").display().to_string();
    let run = pcee(&[
        "calibrate",
        "--val",
        &example("val.npz"),
        "--method",
        "pcee",
        "--bins",
        "5000",
        "--output",
        &out,
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let line = run.stdout.lines().next().unwrap();
    assert!(line.contains("5000 bins asked (mass), per exit "), "{line}");
    let per_exit: Vec<usize> = line
        .split("per exit ")
        .nth(1)
        .unwrap()
        .split(", ")
        .take(3)
        .map(|n| n.parse().unwrap())
        .collect();
    assert!(
        per_exit.iter().all(|&b| (1..=2000).contains(&b)),
        "{per_exit:?}"
    );
}
