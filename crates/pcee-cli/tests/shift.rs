//! End-to-end tests of distribution shift through the real binary: `pcee logits --corruption`
//! on the shipped model and real images, and `pcee monitor` on the committed example logits,
//! checked against `pcee evaluate`.

use crate::common;

use common::{assert_error, example, pcee, root};
use serde_json::Value;
use std::path::PathBuf;

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pcee-cli-shift-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A PCEE policy at δ = 0.85 on the example validation logits.
fn example_policy(dir: &std::path::Path) -> String {
    let policy = dir.join("policy.json").display().to_string();
    let run = pcee(&[
        "calibrate",
        "--val",
        &example("val.npz"),
        "--method",
        "pcee",
        "--delta",
        "0.85",
        "--output",
        &policy,
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    policy
}

#[test]
fn monitor_replays_what_evaluate_decides() {
    let dir = temp("monitor");
    let policy = example_policy(&dir);
    let test = example("test.npz");
    let run = pcee(&[
        "monitor", "--policy", &policy, "--stream", &test, "--window", "100", "--json",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    let eval = pcee(&["evaluate", "--policy", &policy, "--test", &test, "--json"]);
    let eval: Value = serde_json::from_str(&eval.stdout).unwrap();
    assert_eq!(report["images"], eval["samples"]);
    assert_eq!(report["outcome"]["accuracy"], eval["accuracy"]);
    let exited: u64 = report["exits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["exited"].as_u64().unwrap())
        .sum();
    assert_eq!(exited, 3000);
    for (e, fraction) in report["exits"]
        .as_array()
        .unwrap()
        .iter()
        .zip(eval["exit_fractions"].as_array().unwrap())
    {
        assert_eq!(
            e["exited"].as_f64().unwrap(),
            (fraction.as_f64().unwrap() * 3000.0).round()
        );
    }
    let text = pcee(&[
        "monitor", "--policy", &policy, "--stream", &test, "--window", "100",
    ]);
    assert!(
        text.stdout.contains("live accuracy") && text.stdout.contains("drift (PSI)"),
        "{}",
        text.stdout
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn monitor_replays_are_seeded_and_streams_append() {
    let dir = temp("replays");
    let policy = example_policy(&dir);
    let (val, test) = (example("val.npz"), example("test.npz"));
    let args = [
        "monitor",
        "--policy",
        &policy,
        "--stream",
        &val,
        "--stream",
        &test,
        "--replays",
        "5",
        "--seed",
        "3",
        "--json",
    ];
    let (a, b) = (pcee(&args), pcee(&args));
    assert_eq!(a.code, 0, "{}", a.stderr);
    assert_eq!(a.stdout, b.stdout);
    let summary: Value = serde_json::from_str(&a.stdout).unwrap();
    assert_eq!(summary["replays"], 5);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn monitor_bad_input_is_one_line() {
    let dir = temp("bad");
    let policy = example_policy(&dir);
    let test = example("test.npz");
    for (flag, value) in [
        ("--window", "0"),
        ("--alpha", "1.5"),
        ("--alpha", "1e-300"),
        ("--replays", "0"),
        ("--delta", "2"),
    ] {
        let run = pcee(&[
            "monitor", "--policy", &policy, "--stream", &test, flag, value,
        ]);
        assert_error(&run, flag);
    }
    // Seeds --seed ..= --seed + 2 would wrap past u64::MAX.
    let run = pcee(&[
        "monitor",
        "--policy",
        &policy,
        "--stream",
        &test,
        "--replays",
        "3",
        "--seed",
        "18446744073709551615",
    ]);
    assert_error(&run, "--seed");
    assert!(
        run.stderr.contains("expected at most 18446744073709551613"),
        "{}",
        run.stderr
    );
    let missing = dir.join("nope.npz").display().to_string();
    assert_error(
        &pcee(&["monitor", "--policy", &policy, "--stream", &missing]),
        &missing,
    );
    assert_eq!(
        pcee(&["monitor", "--policy", &policy]).code,
        2,
        "--stream is required"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn corrupted_logits_differ_keep_their_shape_and_bad_severities_are_refused() {
    assert!(
        std::path::Path::new("/usr/share/datasets/fashion-mnist").is_dir(),
        "/usr/share/datasets/fashion-mnist is missing: apt-get install dataset-fashion-mnist (.ci/run does)"
    );
    let dir = temp("logits");
    let model = root()
        .join("assets/models/msdnet-small.safetensors")
        .display()
        .to_string();
    let out = |name: &str| dir.join(name).display().to_string();
    let base = [
        "logits", "--model", &model, "--split", "test", "--limit", "16",
    ];
    let clean = pcee(&[&base[..], &["--out", &out("clean.npz")]].concat());
    assert_eq!(clean.code, 0, "{}", clean.stderr);
    let noisy = pcee(
        &[
            &base[..],
            &[
                "--corruption",
                "gaussian-noise",
                "--severity",
                "5",
                "--out",
                &out("noisy.npz"),
            ],
        ]
        .concat(),
    );
    assert_eq!(noisy.code, 0, "{}", noisy.stderr);
    let again = pcee(
        &[
            &base[..],
            &[
                "--corruption",
                "gaussian-noise",
                "--severity",
                "5",
                "--out",
                &out("again.npz"),
            ],
        ]
        .concat(),
    );
    assert_eq!(again.code, 0, "{}", again.stderr);
    let bytes = |n: &str| std::fs::read(out(n)).unwrap();
    assert_ne!(bytes("clean.npz"), bytes("noisy.npz"));
    assert_eq!(bytes("noisy.npz"), bytes("again.npz"), "seeded");
    assert!(noisy.stdout.contains("16 samples"), "{}", noisy.stdout);
    let bad = pcee(
        &[
            &base[..],
            &[
                "--corruption",
                "blur",
                "--severity",
                "9",
                "--out",
                &out("x.npz"),
            ],
        ]
        .concat(),
    );
    assert_error(&bad, "--severity");
    let alone = pcee(&[&base[..], &["--severity", "3", "--out", &out("x.npz")]].concat());
    assert_eq!(alone.code, 2);
    let unknown = pcee(
        &[
            &base[..],
            &[
                "--corruption",
                "fog",
                "--severity",
                "3",
                "--out",
                &out("x.npz"),
            ],
        ]
        .concat(),
    );
    assert_eq!(unknown.code, 2);
    assert!(
        unknown
            .stderr
            .contains("gaussian-noise, blur, contrast, rotation"),
        "{}",
        unknown.stderr
    );
    std::fs::remove_dir_all(&dir).ok();
}
