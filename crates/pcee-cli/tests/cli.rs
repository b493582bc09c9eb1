//! End-to-end tests: run the real `pcee` binary on real files (the committed Fashion-MNIST
//! example logits and the core crate's fixtures) and on bad inputs, checking exit codes, the
//! single `error: …` line, and that no output file is left behind on failure.

use crate::common;

use common::{assert_error, example, pcee, root, Run};
use std::path::Path;

fn fixture(name: &str) -> String {
    root()
        .join("crates/pcee/tests/fixtures")
        .join(name)
        .display()
        .to_string()
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// `pcee sweep --val VAL --test TEST --out OUT` plus `extra` flags.
fn sweep(val: &str, test: &str, out: &Path, extra: &[&str]) -> Run {
    let mut args = vec![
        "sweep",
        "--val",
        val,
        "--test",
        test,
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    pcee(&args)
}

fn calibrate(dir: &Path, method: &str) -> String {
    let policy = dir.join(format!("{method}.json")).display().to_string();
    let run = pcee(&[
        "calibrate",
        "--val",
        &example("val.npz"),
        "--method",
        method,
        "--output",
        &policy,
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    policy
}

#[test]
fn calibrate_then_evaluate_json() {
    let dir = tempfile::tempdir().unwrap();
    for method in ["confidence", "pcee", "pcee-ws"] {
        let policy = calibrate(dir.path(), method);
        let run = pcee(&[
            "evaluate",
            "--policy",
            &policy,
            "--test",
            &example("test.npz"),
            "--delta",
            "0.85",
            "--json",
        ]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert_eq!(run.stdout.lines().count(), 1, "one JSON object");
        let json: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
        assert_eq!(json["method"], method);
        assert_eq!(json["delta"], 0.85);
        assert_eq!(json["samples"], 3000);
        for key in [
            "accuracy",
            "mean_flops",
            "flops_fraction",
            "mean_exit",
            "full_flops",
            "control_error",
        ] {
            assert!(json[key].is_number(), "{key} in {json}");
        }
        let fractions: f64 = json["exit_fractions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f.as_f64().unwrap())
            .sum();
        assert!((fractions - 1.0).abs() < 1e-9);
        // The example logits: the shipped vit-small's 4 exits (examples/fashion-mnist/).
        assert_eq!(json["exit_accuracy"].as_array().unwrap().len(), 4);
    }
    assert_eq!(
        files_in(dir.path()),
        ["confidence.json", "pcee-ws.json", "pcee.json"]
    );
}

#[test]
fn the_policy_file_stores_diagrams_so_delta_changes_without_recalibrating() {
    let dir = tempfile::tempdir().unwrap();
    let policy = calibrate(dir.path(), "pcee");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&policy).unwrap()).unwrap();
    assert_eq!(json["format"], "pcee-policy");
    assert_eq!(json["version"], 3);
    assert_eq!(json["bins"], 10);
    assert_eq!(json["exits"][0]["counts"].as_array().unwrap().len(), 10);
    assert_eq!(json["calibration"]["samples"], 2000);
    assert_eq!(json["calibration"]["source"], "val.npz");
    let cost = |delta: &str| {
        let run = pcee(&[
            "evaluate",
            "--policy",
            &policy,
            "--test",
            &example("test.npz"),
            "--delta",
            delta,
            "--json",
        ]);
        serde_json::from_str::<serde_json::Value>(&run.stdout).unwrap()["mean_flops"]
            .as_f64()
            .unwrap()
    };
    assert!(
        cost("0.6") <= cost("0.95"),
        "a higher target never costs less"
    );
    let table = pcee(&[
        "evaluate",
        "--policy",
        &policy,
        "--test",
        &example("test.npz"),
    ]);
    assert_eq!(table.code, 0);
    assert!(
        table.stdout.contains("method pcee, δ = 0.9"),
        "{}",
        table.stdout
    );
}

/// δ above the last exit's validation accuracy (worked out from the policy file's last-exit
/// counts: Σ correct / Σ counts) gets one note on stderr; δ just below it none.
#[test]
fn evaluate_notes_a_delta_no_policy_can_reach() {
    let dir = tempfile::tempdir().unwrap();
    let policy = calibrate(dir.path(), "pcee");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&policy).unwrap()).unwrap();
    let last = json["exits"].as_array().unwrap().last().unwrap().clone();
    let sum = |field: &str| -> f64 {
        last[field]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .sum()
    };
    let accuracy = sum("correct") / sum("counts");
    let run = |delta: f64| {
        pcee(&[
            "evaluate",
            "--policy",
            &policy,
            "--test",
            &example("test.npz"),
            "--delta",
            &format!("{delta}"),
        ])
    };
    let above = run(accuracy + 0.001);
    assert_eq!(above.code, 0, "{}", above.stderr);
    assert_eq!(
        above
            .stderr
            .lines()
            .filter(|l| l.contains("is above the last exit's validation accuracy"))
            .count(),
        1,
        "{}",
        above.stderr
    );
    let below = run(accuracy - 0.001);
    assert_eq!(below.code, 0, "{}", below.stderr);
    assert!(
        !below.stderr.contains("above the last exit"),
        "{}",
        below.stderr
    );
    // calibrate says it too, at calibration time (issue 33), naming the file it wrote.
    let out = dir.path().join("high.json").display().to_string();
    let calibrate_at = |delta: f64| {
        pcee(&[
            "calibrate",
            "--val",
            &example("val.npz"),
            "--method",
            "pcee",
            "--delta",
            &format!("{delta}"),
            "--output",
            &out,
        ])
    };
    let high = calibrate_at(accuracy + 0.001);
    assert_eq!(high.code, 0, "{}", high.stderr);
    let note = format!("note: {out}: δ = ");
    assert!(
        high.stderr.lines().filter(|l| l.starts_with(&note)).count() == 1
            && high
                .stderr
                .contains("is above the last exit's validation accuracy"),
        "{}",
        high.stderr
    );
    let fine = calibrate_at(accuracy - 0.001);
    assert_eq!(fine.code, 0, "{}", fine.stderr);
    assert!(
        !fine.stderr.contains("above the last exit"),
        "{}",
        fine.stderr
    );
}

#[test]
fn sweep_writes_csv_and_two_figures() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report");
    let run = sweep(
        &example("val.npz"),
        &example("test.npz"),
        &out,
        &["--deltas", "0.8:0.9:0.05"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        files_in(&out),
        [
            "accuracy-vs-delta.png",
            "accuracy-vs-delta.svg",
            "accuracy-vs-flops.png",
            "accuracy-vs-flops.svg",
            "sweep.csv"
        ]
    );
    let csv = std::fs::read_to_string(out.join("sweep.csv")).unwrap();
    assert!(csv.starts_with(
        "method,delta,accuracy,control_error,mean_flops,flops_fraction,mean_exit,exit_fraction_0"
    ));
    assert_eq!(csv.lines().count(), 1 + 4 * 3, "a row per method and δ");
    for svg in ["accuracy-vs-delta.svg", "accuracy-vs-flops.svg"] {
        let text = std::fs::read_to_string(out.join(svg)).unwrap();
        assert!(
            text.contains("<svg") && text.contains("pcee-ws") && text.contains("oracle"),
            "{svg}"
        );
    }
    assert!(
        run.stdout.contains("delta")
            && run.stdout.lines().any(|l| l.starts_with("0.85 "))
            && run.stdout.contains("oracle")
    );
}

/// A figure is written as SVG and PNG together: a PNG left by an earlier command (the demo's
/// report embeds PNGs) is replaced, never left stale beside a new SVG (issue 13).
#[test]
fn sweep_leaves_no_stale_png_beside_its_svg() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("accuracy-vs-flops.png"), "an older figure").unwrap();
    let run = sweep(&example("val.npz"), &example("test.npz"), &out, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let png = std::fs::read(out.join("accuracy-vs-flops.png")).unwrap();
    assert_eq!(&png[1..4], b"PNG");
}

#[test]
fn sweep_reads_safetensors_and_fixtures_without_flops() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r");
    let (val, test) = (
        fixture("good_f64_u8.safetensors"),
        fixture("good_compressed_f64_uint8.npz"),
    );
    let run = sweep(&val, &test, &out, &["--methods", "pcee,oracle"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(files_in(&out).len(), 5);
}

#[test]
fn diagram_writes_one_figure_per_exit_and_an_ece_table() {
    let dir = tempfile::tempdir().unwrap();
    let run = pcee(&[
        "diagram",
        "--logits",
        &example("val.npz"),
        "--bins",
        "15",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        files_in(dir.path()),
        [
            "reliability-exit-0.png",
            "reliability-exit-0.svg",
            "reliability-exit-1.png",
            "reliability-exit-1.svg",
            "reliability-exit-2.png",
            "reliability-exit-2.svg",
            "reliability-exit-3.png",
            "reliability-exit-3.svg"
        ]
    );
    assert!(run.stdout.contains("ECE"));
    let svg = std::fs::read_to_string(dir.path().join("reliability-exit-1.svg")).unwrap();
    assert!(svg.contains("ECE") && svg.contains("perfect calibration"));
}

#[test]
fn malformed_logits_files_fail_with_one_line_naming_the_file() {
    let bad = [
        "bad_logits_nan.npz",
        "bad_logits_inf.npz",
        "bad_labels_negative.npz",
        "bad_labels_too_large.npz",
        "bad_labels_float.npz",
        "bad_labels_length.npz",
        "bad_flops_length.npz",
        "bad_flops_decreasing.npz",
        "bad_logits_2d.npz",
        "bad_one_exit.npz",
        "bad_no_samples.npz",
        "bad_no_labels.npz",
        "bad_no_logits.npz",
        "bad_logits_int.npz",
        "bad_npy_header.npz",
        "bad_npy_short.npz",
        "bad_truncated.npz",
        "bad_empty.npz",
        "bad_not_zip.npz",
        "bad_not_safetensors.safetensors",
        "make_fixtures.py",
        "missing.npz",
    ];
    let dir = tempfile::tempdir().unwrap();
    for name in bad {
        let file = fixture(name);
        let out = dir.path().join("out");
        let policy = dir.path().join("p.json");
        let runs = [
            pcee(&["diagram", "--logits", &file, "--out", out.to_str().unwrap()]),
            pcee(&[
                "calibrate",
                "--val",
                &file,
                "--method",
                "pcee",
                "--output",
                policy.to_str().unwrap(),
            ]),
            sweep(&example("val.npz"), &file, &out, &[]),
        ];
        for run in &runs {
            assert_error(run, &format!("{file}: "));
        }
        assert!(
            files_in(dir.path()).is_empty(),
            "{name}: left {:?}",
            files_in(dir.path())
        );
    }
}

#[test]
fn bad_flags_fail_with_one_line_naming_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out").display().to_string();
    let policy = dir.path().join("p.json").display().to_string();
    let val = example("val.npz");
    let cal = |extra: &[&str]| {
        let mut args = vec![
            "calibrate",
            "--val",
            val.as_str(),
            "--output",
            policy.as_str(),
        ];
        args.extend_from_slice(extra);
        pcee(&args)
    };
    assert_error(
        &cal(&["--method", "pcee", "--delta", "1.5"]),
        "--delta: 1.5 is not a valid target accuracy",
    );
    assert_error(&cal(&["--method", "pcee", "--delta", "-0.1"]), "--delta: ");
    assert_error(
        &cal(&["--method", "pcee", "--delta", "NaN"]),
        "--delta: NaN",
    );
    assert_error(&cal(&["--method", "pcee", "--bins", "0"]), "--bins: 0 bins");
    assert_error(
        &cal(&["--method", "pcee", "--bins", "4294967296"]),
        "--bins: 4294967296 bins; expected 1 to 10000",
    );
    assert_error(
        &cal(&["--method", "fancy"]),
        "--method: unknown method 'fancy'; expected one of confidence, pcee, pcee-ws, pcee-lcb, msdnet-budget",
    );
    assert_error(
        &cal(&["--method", "oracle"]),
        "--method: the oracle is a bound",
    );
    let sweep = |extra: &[&str]| sweep(&val, &val, Path::new(&out), extra);
    assert_error(
        &sweep(&["--methods", "pcee,bogus"]),
        "--methods: unknown method 'bogus'; expected one of confidence, pcee, pcee-ws, pcee-lcb, oracle",
    );
    assert_error(&sweep(&["--deltas", "0.9:0.5:0.1"]), "--deltas: ");
    assert_error(&sweep(&["--deltas", "0.5:1.5:0.1"]), "--deltas: ");
    assert_error(&sweep(&["--bins", "0"]), "--bins: ");
    assert_error(
        &pcee(&["diagram", "--logits", &val, "--bins", "0", "--out", &out]),
        "--bins: ",
    );
    assert!(
        files_in(dir.path()).is_empty(),
        "left {:?}",
        files_in(dir.path())
    );
}

#[test]
fn usage_errors_exit_with_2() {
    assert_eq!(pcee(&["calibrate", "--val", "x.npz"]).code, 2);
    assert_eq!(
        pcee(&["evaluate", "--policy", "p.json", "--test", "t.npz", "--delta", "high"]).code,
        2
    );
    assert_eq!(pcee(&["frobnicate"]).code, 2);
}

#[test]
fn bad_policy_files_fail_with_one_line_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let good = calibrate(dir.path(), "pcee-ws");
    let text = std::fs::read_to_string(&good).unwrap();
    let write = |name: &str, content: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        path.display().to_string()
    };
    let cases = [
        (
            write("other.json", &text.replace("pcee-policy", "other-tool")),
            "field 'format' is 'other-tool'",
        ),
        (
            write(
                "newer.json",
                &text.replace("\"version\": 3", "\"version\": 4"),
            ),
            "field 'version' is 4, newer",
        ),
        (write("notjson.json", "{ not json"), "not valid JSON"),
        (
            write("method.json", &text.replace("\"pcee-ws\"", "\"oracle\"")),
            "field 'method'",
        ),
        (
            write(
                "delta.json",
                &text.replace("\"delta\": 0.9", "\"delta\": 7.0"),
            ),
            "field 'delta'",
        ),
        (write("empty.json", ""), "not valid JSON"),
        (
            dir.path().join("absent.json").display().to_string(),
            "cannot read the file",
        ),
    ];
    for (path, expected) in &cases {
        let run = pcee(&["evaluate", "--policy", path, "--test", &example("test.npz")]);
        assert_error(&run, &format!("{path}: "));
        assert!(run.stderr.contains(expected), "{path}: {}", run.stderr);
    }
    let run = pcee(&[
        "evaluate",
        "--policy",
        &good,
        "--test",
        &example("test.npz"),
        "--delta",
        "NaN",
    ]);
    assert_error(&run, "--delta: ");
}

#[test]
fn a_policy_for_another_network_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let policy = calibrate(dir.path(), "pcee");
    // A 2-exit test file: 2 exits, 2 samples, 3 classes.
    let two = pcee::ExitLogits::from_f32([2, 2, 3], vec![0.0; 12], vec![0, 1], None).unwrap();
    let test = dir.path().join("two.npz");
    two.write_npz(&test).unwrap();
    let test = test.display().to_string();
    let run = pcee(&["evaluate", "--policy", &policy, "--test", &test]);
    assert_error(&run, &format!("{test}: has 2 exits but the policy"));
}

#[test]
fn unwritable_outputs_fail_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, "x").unwrap();
    let inside = blocker.join("p.json").display().to_string();
    let run = pcee(&[
        "calibrate",
        "--val",
        &example("val.npz"),
        "--method",
        "pcee",
        "--output",
        &inside,
    ]);
    assert_error(&run, &format!("{inside}: cannot write the file"));
    let run = pcee(&[
        "diagram",
        "--logits",
        &example("val.npz"),
        "--out",
        &blocker.join("d").display().to_string(),
    ]);
    assert_error(&run, "");
    assert_eq!(files_in(dir.path()), ["file"]);
}

#[test]
fn an_output_never_overwrites_an_input_or_takes_a_foreign_extension() {
    let dir = tempfile::tempdir().unwrap();
    let val = dir.path().join("val.npz");
    std::fs::copy(example("val.npz"), &val).unwrap();
    let before = std::fs::read(&val).unwrap();
    let val = val.display().to_string();
    let calibrate = |output: &str| {
        pcee(&[
            "calibrate",
            "--val",
            &val,
            "--method",
            "pcee",
            "--output",
            output,
        ])
    };
    assert_error(&calibrate(&val), "--output: ");
    assert_eq!(std::fs::read(&val).unwrap(), before, "the input is intact");
    let npz = dir.path().join("policy.npz").display().to_string();
    assert_error(&calibrate(&npz), "--output: ");
    assert!(calibrate(&npz)
        .stderr
        .contains("expected a .json file path"));
    assert!(!Path::new(&npz).exists());
}

#[test]
fn a_multi_file_output_leaves_no_staging_directory_behind() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report");
    let (val, test) = (example("val.npz"), example("test.npz"));
    let run = sweep(&val, &test, &out, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "accuracy-vs-delta.png",
            "accuracy-vs-delta.svg",
            "accuracy-vs-flops.png",
            "accuracy-vs-flops.svg",
            "sweep.csv"
        ]
    );
}

/// A flag the chosen calibration would not use is refused by name, and no policy is written.
#[test]
fn calibrate_refuses_flags_it_would_ignore() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("p.json");
    let val = example("val.npz");
    let run = |extra: &[&str]| {
        let mut args = vec![
            "calibrate",
            "--val",
            &val,
            "--output",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        pcee(&args)
    };
    let cases: [(&[&str], &str); 6] = [
        (
            &["--method", "pcee", "--delta", "0.8", "--target-accuracy", "0.9"],
            "error: --delta: not used with --target-accuracy, which chooses δ; remove it",
        ),
        (
            &["--method", "pcee", "--delta", "0.8", "--budget-flops", "1e6"],
            "error: --delta: not used with --budget-flops, which chooses δ; remove it",
        ),
        (
            &["--method", "pcee", "--window", "2"],
            "error: --window: not used by this method; it applies to --method pcee-ws; remove it",
        ),
        (
            &["--method", "pcee-ws", "--correction", "bonferroni"],
            "error: --correction: not used by this method; it applies to --method pcee-lcb; remove it",
        ),
        (
            &["--method", "pcee", "--alpha", "0.1"],
            "error: --alpha: not used here; it applies to --method pcee-lcb and --guarantee ucb; remove it",
        ),
        (
            &["--method", "pcee", "--target-accuracy", "0.9", "--alpha", "0.1", "--guarantee", "crc"],
            "error: --alpha: not used here; it applies to --method pcee-lcb and --guarantee ucb; remove it",
        ),
    ];
    for (extra, expected) in cases {
        let r = run(extra);
        assert_error(&r, expected.strip_prefix("error: ").unwrap());
        assert_eq!(r.stderr.trim_end(), expected, "{extra:?}");
        assert!(!out.exists(), "{extra:?}: no policy written");
    }
    // The same flags where they apply: accepted.
    for extra in [
        &["--method", "pcee-ws", "--window", "2"][..],
        &[
            "--method",
            "pcee-lcb",
            "--alpha",
            "0.1",
            "--correction",
            "bonferroni",
        ],
        &[
            "--method",
            "pcee",
            "--target-accuracy",
            "0.8",
            "--alpha",
            "0.1",
            "--guarantee",
            "ucb",
        ],
    ] {
        let r = run(extra);
        assert_eq!(r.code, 0, "{extra:?}: {}", r.stderr);
    }
}

/// A negative number is read as the flag's value and refused as one, naming the flag.
#[test]
fn a_negative_number_is_a_bad_value_not_an_unknown_argument() {
    let val = example("val.npz");
    let run = pcee(&[
        "calibrate",
        "--val",
        &val,
        "--method",
        "pcee",
        "--bins",
        "-1",
        "--output",
        "p.json",
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .starts_with("error: invalid value '-1' for '--bins <BINS>'"),
        "{}",
        run.stderr
    );
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
}
