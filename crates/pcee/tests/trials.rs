//! Repeated-split trials: parsing of trial methods, percentiles by hand, errors, determinism,
//! and the statistics of a row against its per-split accuracies.

use crate::synthetic;

use pcee::choose::risk::{Guarantee, Loss};
use pcee::policy::MethodParams;
use pcee::stats::percentile;
use pcee::trials::{run_trials, TrialConfig, TrialError, TrialMethod};
use pcee::Method;

fn config(splits: usize) -> TrialConfig {
    TrialConfig {
        splits,
        cal_fraction: 0.5,
        seed: 0,
        bins: synthetic::BINS,
        binning: pcee::Binning::Width,
        params: MethodParams::default(),
        loss: Loss::Wrong,
        certify_fraction: 0.5,
    }
}

#[test]
fn trial_methods_parse() {
    let m: TrialMethod = "pcee-ws+ts+ucb".parse().unwrap();
    assert_eq!(
        m,
        TrialMethod {
            method: Method::PceeWs,
            temperature: true,
            guarantee: Some(Guarantee::Ucb),
            target: false,
        }
    );
    assert_eq!(m.to_string(), "pcee-ws+ts+ucb");
    assert_eq!(
        "confidence+ts".parse::<TrialMethod>().unwrap().to_string(),
        "confidence+ts"
    );
    let t: TrialMethod = "pcee+target".parse().unwrap();
    assert!(t.target && t.guarantee.is_none() && !t.chooses_nothing());
    assert_eq!(t.to_string(), "pcee+target");
    for bad in [
        "pcee+target+crc",
        "pcee+ucb+target",
        "pcee+target+target",
        "oracle+target",
    ] {
        assert!(bad.parse::<TrialMethod>().is_err(), "{bad}");
    }
    for bad in [
        "",
        "pcee+",
        "pcee+crc+ucb",
        "pcee+ts+ts",
        "oracle+ts",
        "msdnet-budget",
        "x",
    ] {
        assert!(bad.parse::<TrialMethod>().is_err(), "{bad}");
    }
}

#[test]
fn percentile_by_nearest_rank() {
    // 20 values 1..=20: ⌈0.05·20⌉ = 1st smallest; 100 values: the 5th smallest.
    let twenty: Vec<f64> = (1..=20).rev().map(f64::from).collect();
    assert_eq!(percentile(&twenty, 0.05), 1.0);
    let hundred: Vec<f64> = (1..=100).map(f64::from).collect();
    assert_eq!(percentile(&hundred, 0.05), 5.0);
    assert_eq!(percentile(&[0.3], 0.05), 0.3);
}

#[test]
fn bad_trials_are_errors() {
    let logits = synthetic::draw(10, 1);
    let methods = ["pcee".parse().unwrap()];
    assert_eq!(
        run_trials(&logits, &methods, &[0.9], &config(0)),
        Err(TrialError::Splits)
    );
    for fraction in [0.0, 1.0, 0.01, 0.99, f64::NAN] {
        let c = TrialConfig {
            cal_fraction: fraction,
            ..config(2)
        };
        assert!(
            matches!(
                run_trials(&logits, &methods, &[0.9], &c),
                Err(TrialError::Fraction { .. })
            ),
            "{fraction}"
        );
    }
}

#[test]
fn rows_summarise_their_splits_and_are_reproducible() {
    let logits = synthetic::draw(1200, 5);
    let methods: Vec<TrialMethod> = [
        "confidence",
        "confidence+ts",
        "pcee",
        "pcee-lcb",
        "pcee+ucb",
        "oracle",
    ]
    .iter()
    .map(|m| m.parse().unwrap())
    .collect();
    let rows = run_trials(&logits, &methods, &[0.85, 0.9], &config(20)).unwrap();
    assert_eq!(rows.len(), 12);
    assert_eq!(
        rows,
        run_trials(&logits, &methods, &[0.85, 0.9], &config(20)).unwrap()
    );
    for row in &rows {
        assert_eq!(row.accuracies.len(), 20);
        let below = row.accuracies.iter().filter(|&&a| a < row.delta).count();
        assert_eq!(row.violation_rate, below as f64 / 20.0);
        let mean = row.accuracies.iter().sum::<f64>() / 20.0;
        assert!((row.mean_accuracy - mean).abs() < 1e-12);
        assert!(row.p5_accuracy <= row.mean_accuracy);
        // Costs lie between the first exit's (1) and the last's (3).
        assert!(row.mean_flops >= 1.0 && row.mean_flops <= 3.0);
        assert!((row.flops_fraction - row.mean_flops / 3.0).abs() < 1e-12);
    }
    // Another seed draws other splits.
    let other = TrialConfig {
        seed: 9,
        ..config(20)
    };
    assert_ne!(
        rows,
        run_trials(&logits, &methods, &[0.85, 0.9], &other).unwrap()
    );
}
