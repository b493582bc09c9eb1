//! Equal-mass bins (docs/design.md §3) end to end: hand-made diagrams and scores, the version 3
//! policy file that stores each exit's edges, and properties of the edges.

use pcee::bins::{equal_mass_edges, BinEdges};
use pcee::calibrate::{CalibrateOptions, Choice};
use pcee::policy::MethodParams;
use pcee::{
    exits_of, reliability_diagrams_binned, Binning, Delta, ExitLogits, ExitScore, Method,
    PolicyFile, ReliabilityDiagram, ScoreTable,
};
use proptest::prelude::*;
use std::path::{Path, PathBuf};

fn example(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/fashion-mnist")
        .join(name)
}

fn score(confidence: f64) -> ExitScore {
    ExitScore {
        prediction: 0,
        confidence,
        correct: None,
    }
}

#[test]
fn pcee_bins_a_confidence_with_its_exits_own_edges() {
    // Exit 0: bins [0, 0.8) (1 of 4 correct) and [0.8, 1] (4 of 4). With equal-width bins a
    // confidence of 0.7 would sit in [0.5, 1]; with these edges it is in the weak bin.
    let exit0 = ReliabilityDiagram::new(vec![4, 4], vec![1, 4], vec![Some(0.6), Some(0.9)])
        .unwrap()
        .with_edges(vec![0.0, 0.8, 1.0])
        .unwrap();
    let exit1 = ReliabilityDiagram::new(vec![8], vec![6], vec![Some(0.7)]).unwrap();
    let policy = Method::Pcee.policy(&[exit0, exit1], 0.9, 0);
    assert!(!policy.stops(0, 2, &score(0.7)));
    assert!(!policy.stops(0, 2, &score(0.79)));
    assert!(policy.stops(0, 2, &score(0.8)));
    assert!(policy.stops(0, 2, &score(1.0)));
    assert!(
        policy.stops(1, 2, &score(0.1)),
        "the last exit always stops"
    );
}

#[test]
fn pcee_ws_windows_over_an_exits_own_bins() {
    // Three mass bins with 2 of 10, 9 of 10, 10 of 10 correct; w = 1 at the middle bin pools
    // all three: 21 / 30 = 0.7 < 0.8, so it does not fire; at the top bin (9 + 10) / 20 = 0.95.
    let d = ReliabilityDiagram::new(
        vec![10, 10, 10],
        vec![2, 9, 10],
        vec![Some(0.3), Some(0.6), Some(0.95)],
    )
    .unwrap()
    .with_edges(vec![0.0, 0.5, 0.9, 1.0])
    .unwrap();
    let last = ReliabilityDiagram::new(vec![30], vec![21], vec![Some(0.6)]).unwrap();
    let ws = Method::PceeWs.policy(&[d, last], 0.8, 1);
    assert!(!ws.stops(0, 2, &score(0.6)));
    assert!(ws.stops(0, 2, &score(0.95)));
}

/// Logits `[1 exit + 1, 6 samples, 2 classes]` whose first exit has confidences
/// 0.5, 0.5, 0.75, 0.75, 0.75, 1.0 (logit gaps 0, 0, ln 3, ln 3, ln 3, 100).
fn six_samples() -> ExitLogits {
    let gaps = [0.0f32, 0.0, 3f32.ln(), 3f32.ln(), 3f32.ln(), 100.0];
    let mut z = Vec::new();
    for g in gaps {
        z.extend([g, 0.0]);
    }
    z.extend(gaps.iter().flat_map(|_| [1.0f32, 0.0]));
    ExitLogits::from_f32([2, 6, 2], z, vec![0, 1, 0, 0, 1, 0], None).unwrap()
}

#[test]
fn mass_diagrams_of_hand_made_confidences() {
    // Three bins asked for: positions ⌊6/3⌋ = 2 and ⌊12/3⌋ = 4 of the sorted confidences both
    // hold 0.75, so one inner edge, 0.75: bins [0, 0.75) {0.5, 0.5} and [0.75, 1] {0.75 ×3, 1}.
    // Correct (class 0 predicted everywhere; labels 0 1 0 0 1 0): 1 of 2 and 3 of 4.
    let scores = ScoreTable::from_logits(&six_samples());
    let diagrams = reliability_diagrams_binned(&scores, 3, Binning::Mass);
    let edges = diagrams[0].edges().edges();
    assert_eq!(edges.len(), 3);
    assert!((edges[1] - 0.75).abs() < 1e-6, "{edges:?}");
    assert_eq!(diagrams[0].counts(), [2, 4]);
    assert_eq!(diagrams[0].correct(), [1, 3]);
    // Exit 1: every confidence is 1 / (1 + e⁻¹) — one bin of all six.
    assert_eq!(diagrams[1].edges().edges(), [0.0, 1.0]);
    assert_eq!(diagrams[1].counts(), [6]);
}

fn mass_options(method: Method) -> CalibrateOptions {
    CalibrateOptions {
        method,
        bins: 10,
        binning: Binning::Mass,
        params: MethodParams::default(),
        temperature: false,
        delta: Delta::new(0.9).unwrap(),
        choice: Choice::Given,
    }
}

#[test]
fn a_version_3_policy_with_edges_round_trips_and_decides_the_same() {
    let path = example("val.npz");
    let val = ExitLogits::read(&path).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for method in [Method::Pcee, Method::PceeWs, Method::Confidence] {
        let mut policy = PolicyFile::calibrate(&val, "val.npz", &mass_options(method)).unwrap();
        policy.content_hash = Some(pcee::policy_file::provenance::content_hash(&path).unwrap());
        let file = dir.path().join("policy.json");
        policy.write(&file).unwrap();
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        assert_eq!(json["version"], 3);
        assert_eq!(json["binning"], "mass");
        assert_eq!(json["bins"], 10);
        assert_eq!(json["calibration"]["classes"], 10);
        let e0 = &json["exits"][0];
        assert_eq!(
            e0["edges"].as_array().unwrap().len(),
            e0["counts"].as_array().unwrap().len() + 1
        );
        let read = PolicyFile::read(&file).unwrap();
        assert_eq!(read, policy, "{method}");
        // Every validation bin is non-empty, and the file's edges bin the data as calibrated.
        let scores = read.scores(&val);
        for (_, d) in &read.exits {
            assert!(d.counts().iter().all(|&n| n > 0));
        }
        let again = pcee::diagram::reliability_diagrams_on(
            &scores,
            &read
                .exits
                .iter()
                .map(|(_, d)| d.edges().clone())
                .collect::<Vec<_>>(),
        );
        assert_eq!(again, read.diagrams());
        for delta in [0.5, 0.9, 0.97] {
            let d = Delta::new(delta).unwrap();
            assert_eq!(
                exits_of(read.policy(d).as_ref(), &scores),
                exits_of(policy.policy(d).as_ref(), &scores)
            );
        }
    }
}

#[test]
fn a_policy_that_records_its_classes_refuses_other_classes() {
    let val = ExitLogits::read(&example("val.npz")).unwrap();
    let policy = PolicyFile::calibrate(&val, "val.npz", &mass_options(Method::Pcee)).unwrap();
    assert_eq!(policy.classes, Some(10));
    assert!(policy.check_logits(&val).is_ok());
    let err = policy.check_classes(3, "logits").unwrap_err().to_string();
    assert!(
        err.starts_with("has 3 classes but the policy was calibrated on 10"),
        "{err}"
    );
    let err = policy
        .check_classes(3, "the model")
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("was calibrated on 10 classes but the model has 3"),
        "{err}"
    );
    // A policy that does not record its classes (versions 1, 2) fits any.
    let old = PolicyFile {
        classes: None,
        ..policy
    };
    assert!(old.check_classes(3, "logits").is_ok());
}

/// The error of reading `text` written to a file in `dir`; it must name the file.
fn refusal(dir: &Path, text: &str) -> String {
    let file = dir.join("bad.json");
    std::fs::write(&file, text).unwrap();
    let err = PolicyFile::read(&file).unwrap_err().to_string();
    assert!(err.starts_with(&file.display().to_string()), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    err
}

#[test]
fn bad_edges_and_version_3_fields_in_older_files_are_refused() {
    let val = ExitLogits::read(&example("val.npz")).unwrap();
    let policy = PolicyFile::calibrate(&val, "val.npz", &mass_options(Method::Pcee)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("good.json");
    policy.write(&file).unwrap();
    let good: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let edit = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut v = good.clone();
        f(&mut v);
        v.to_string()
    };
    let cases: Vec<(String, &str)> = vec![
        (
            edit(&|v| {
                let e = v["exits"][0]["edges"].as_array_mut().unwrap();
                e.swap(1, 2);
            }),
            "field 'exits[0].edges': edge 2",
        ),
        (
            edit(&|v| v["exits"][1]["edges"][0] = 0.1.into()),
            "field 'exits[1].edges': run from 0.1",
        ),
        (
            edit(&|v| {
                let e = v["exits"][0]["edges"].as_array_mut().unwrap();
                let n = e.len();
                e[n - 1] = 0.999.into();
            }),
            "field 'exits[0].edges': run from 0 to 0.999",
        ),
        (
            edit(&|v| {
                v["exits"][0]["edges"].as_array_mut().unwrap().remove(1);
            }),
            "field 'exits[0]': 'edges' has",
        ),
        (
            edit(&|v| {
                v["exits"][0].as_object_mut().unwrap().remove("edges");
            }),
            "field 'exits[0].edges': missing",
        ),
        (
            edit(&|v| v["binning"] = "width".into()),
            "field 'exits[0].edges': present with binning 'width'",
        ),
        (
            edit(&|v| v["binning"] = "quantile".into()),
            "field 'binning': unknown binning 'quantile'",
        ),
        (
            edit(&|v| {
                v.as_object_mut().unwrap().remove("binning");
            }),
            "field 'binning' is missing",
        ),
        (
            edit(&|v| v["bins"] = 2.into()),
            "expected at most 'bins' = 2",
        ),
        (
            edit(&|v| v["version"] = 2.into()),
            "field 'binning' is not part of a version 2 file",
        ),
        (
            edit(&|v| v["calibration"]["classes"] = 0.into()),
            "field 'calibration.classes': 0",
        ),
        (
            edit(&|v| v["calibration"]["content_hash"] = "md5:abc".into()),
            "field 'calibration.content_hash'",
        ),
    ];
    for (text, expected) in &cases {
        let err = refusal(dir.path(), text);
        assert!(err.contains(expected), "{expected:?} not in {err:?}");
    }
    // A version 2 file with classes but no binning names the classes.
    let mut v2 = good.clone();
    v2["version"] = 2.into();
    v2.as_object_mut().unwrap().remove("binning");
    for e in v2["exits"].as_array_mut().unwrap() {
        e.as_object_mut().unwrap().remove("edges");
    }
    let err = refusal(dir.path(), &v2.to_string());
    assert!(
        err.contains("field 'calibration.classes' is not part of a version 2 file"),
        "{err}"
    );
}

#[test]
fn version_1_and_2_files_still_read_as_equal_width() {
    let dir = tempfile::tempdir().unwrap();
    let v1 = r#"{"format": "pcee-policy", "version": 1, "method": "pcee", "delta": 0.9, "bins": 2,
        "exits": [{"flops": 1, "counts": [1, 3], "correct": [0, 3], "mean_confidence": [0.4, 0.9]},
                  {"flops": 2, "counts": [0, 4], "correct": [0, 3], "mean_confidence": [null, 0.8]}],
        "calibration": {"samples": 4, "source": "val.npz"}}"#;
    let v2 = v1
        .replace("\"version\": 1", "\"version\": 2")
        .replace("\"pcee\"", "\"pcee-lcb\"")
        .replace("\"bins\": 2,", "\"bins\": 2, \"alpha\": 0.1,");
    for (name, text) in [("v1.json", v1.to_string()), ("v2.json", v2)] {
        let file = dir.path().join(name);
        std::fs::write(&file, text).unwrap();
        let p = PolicyFile::read(&file).unwrap();
        assert_eq!((p.binning, p.bins, p.classes), (Binning::Width, 2, None));
        assert_eq!(p.content_hash, None);
        assert_eq!(p.exits[0].1.edges(), &BinEdges::width(2));
        // Written back, it keeps its version (no version 3 field is needed).
        p.write(&file).unwrap();
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        assert_eq!(json["version"], if name == "v1.json" { 1 } else { 2 });
        // Confidence 0.6 is in bin 1 = [0.5, 1] of exit 0 (3 of 3 correct): PCEE fires.
        let policy = Method::Pcee.policy(&p.diagrams(), 0.9, 0);
        assert!(policy.stops(0, 2, &score(0.6)));
        assert!(!policy.stops(0, 2, &score(0.4)));
    }
}

/// Confidences in (0, 1] with many ties and some exact 1.0s.
fn confidences() -> impl Strategy<Value = Vec<f64>> {
    let tied = prop_oneof![
        Just(0.5),
        Just(0.75),
        Just(1.0),
        (1u32..=20).prop_map(|k| f64::from(k) / 20.0),
        (1e-6f64..=1.0),
    ];
    proptest::collection::vec(tied, 1..=60)
}

proptest! {
    #[test]
    fn with_mass_bins_no_bin_is_empty_and_each_confidence_is_in_one_bin(
        c in confidences(), bins in 1usize..=25,
    ) {
        let e = equal_mass_edges(&c, bins);
        let edges = e.edges();
        let m = e.bins();
        prop_assert!(m >= 1 && m <= bins);
        prop_assert_eq!(edges[0], 0.0);
        prop_assert_eq!(edges[m], 1.0);
        let mut counts = vec![0usize; m];
        for &x in &c {
            let holding: Vec<usize> = (0..m)
                .filter(|&b| edges[b] <= x && (x < edges[b + 1] || (b == m - 1 && x == 1.0)))
                .collect();
            prop_assert_eq!(holding.len(), 1, "{} is in bins {:?} of {:?}", x, holding, edges);
            prop_assert_eq!(e.bin_of(x), holding[0]);
            counts[holding[0]] += 1;
        }
        prop_assert!(counts.iter().all(|&n| n > 0), "an empty bin: {:?} with edges {:?}", counts, edges);
    }

    #[test]
    fn mass_diagrams_of_random_logits_have_no_empty_bin(
        n in 1usize..=50, bins in 1usize..=15, seed in 0u64..1000,
    ) {
        // Integer logits in −3..=3 (many ties), 3 exits, 3 classes.
        let z: Vec<f32> = (0..3 * n * 3)
            .map(|i| ((i as u64 * 7919 + seed * 104_729) % 7) as f32 - 3.0)
            .collect();
        let y: Vec<i64> = (0..n).map(|i| ((i as u64 + seed) % 3) as i64).collect();
        let logits = ExitLogits::from_f32([3, n, 3], z, y, None).unwrap();
        let diagrams = reliability_diagrams_binned(&ScoreTable::from_logits(&logits), bins, Binning::Mass);
        for d in &diagrams {
            prop_assert!(d.bins() <= bins);
            prop_assert!(d.counts().iter().all(|&k| k > 0), "{:?}", d.counts());
            prop_assert_eq!(d.samples(), n as u64);
        }
    }
}
