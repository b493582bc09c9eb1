//! Risk control certifies δ on samples the reliability diagrams never saw (docs/methods.md §1,
//! "Fit and certify"): with few calibration samples and many bins, choosing δ on the samples
//! the diagrams were built on is optimistic. Over many random splits of synthetic
//! over-confident logits (tests/synthetic), `pcee+ucb` violates its target in at most α of the
//! splits and `pcee+crc` meets it in the mean, each up to 3 standard errors of the repetition.
//! And `pcee-lcb` with Bonferroni's correction fires no cell whose known accuracy is below δ,
//! family-wise, with probability ≥ 1 − α.

use crate::synthetic;

use pcee::calibrate::{CalibrateError, CalibrateOptions, CalibrationSet, Choice};
use pcee::certify::CertifySplit;
use pcee::choose::risk::{Guarantee, Loss};
use pcee::policy::{Correction, MethodParams};
use pcee::trials::{run_trials, TrialConfig, TrialMethod, TrialRow};
use pcee::{Method, PolicyFile};

/// Splits: enough that 3 binomial standard errors at α = 0.1 are 0.052.
const SPLITS: usize = 300;
/// Samples of the synthetic file; the calibration part of each split is 5 % of them.
const SAMPLES: usize = 6000;
const ALPHA: f64 = 0.1;
const TARGETS: [f64; 2] = [0.8, 0.85];

/// One row per target accuracy of `method` over [`SPLITS`] splits with 300 calibration
/// samples and 20 bins.
fn trial_rows(method: &str) -> Vec<TrialRow> {
    let logits = synthetic::over_confident(SAMPLES, 11);
    let config = TrialConfig {
        splits: SPLITS,
        cal_fraction: 0.05,
        seed: 0,
        bins: 20,
        binning: pcee::Binning::Width,
        params: MethodParams {
            alpha: ALPHA,
            ..MethodParams::default()
        },
        loss: Loss::Wrong,
        certify_fraction: 0.5,
    };
    let methods: Vec<TrialMethod> = vec![method.parse().unwrap()];
    run_trials(&logits, &methods, &TARGETS, &config).unwrap()
}

#[test]
fn ucb_violates_at_most_alpha_of_the_splits_with_few_calibration_samples() {
    // A split violates when its test accuracy (5 700 samples) is below the target: the
    // guarantee allows α of them; 3 binomial standard errors of a rate α over SPLITS splits.
    let bound = ALPHA + 3.0 * (ALPHA * (1.0 - ALPHA) / SPLITS as f64).sqrt();
    for row in trial_rows("pcee+ucb") {
        eprintln!(
            "pcee+ucb at {}: violation rate {:.3} (bound {bound:.3}), mean accuracy {:.4}, {} infeasible",
            row.delta, row.violation_rate, row.mean_accuracy, row.infeasible
        );
        assert!(
            row.violation_rate <= bound,
            "target {}: violation rate {} > {bound}",
            row.delta,
            row.violation_rate
        );
    }
}

#[test]
fn crc_meets_the_target_in_the_mean_with_few_calibration_samples() {
    for row in trial_rows("pcee+crc") {
        let epsilon = 1.0 - row.delta;
        let risks: Vec<f64> = row.accuracies.iter().map(|a| 1.0 - a).collect();
        let mean = risks.iter().sum::<f64>() / SPLITS as f64;
        let var = risks.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / (SPLITS - 1) as f64;
        let bound = epsilon + 3.0 * (var / SPLITS as f64).sqrt();
        eprintln!(
            "pcee+crc at {}: mean test risk {mean:.4} (bound {bound:.4}), {} infeasible",
            row.delta, row.infeasible
        );
        assert!(
            mean <= bound,
            "target {}: mean test risk {mean} > {bound}",
            row.delta
        );
    }
}

#[test]
fn bonferroni_lcb_fires_no_cell_below_delta_with_probability_one_minus_alpha() {
    // 4 exits (3 can fire) × bins 5..=9 non-empty = m = 15 cells, ≈ 400 samples each. Bins 5–8
    // have true accuracy 0.895 < δ = 0.9 (12 bad cells), bin 9 0.99. Per cell, a bad cell fires
    // with probability ≈ 0.06 (its observed accuracy must reach ≈ 0.919), so one of 12 fires in
    // about half of the draws; at level α/15 each fires with probability ≈ 0.003.
    let (delta, alpha, draws) = (0.9, 0.1, 300u64);
    let accuracy = |bin: usize| if bin == 9 { 0.99 } else { 0.895 };
    let mut any_bad = [0u32; 2]; // [per cell, bonferroni]
    let mut good = [0u32; 2];
    for seed in 0..draws {
        let scores =
            pcee::ScoreTable::from_logits(&synthetic::cells(2000, 4, 500 + seed, &accuracy));
        let diagrams = pcee::reliability_diagrams(&scores, synthetic::BINS);
        assert_eq!(pcee::policy::cells_that_can_fire(&diagrams), 15);
        for (i, correction) in [Correction::None, Correction::Bonferroni]
            .into_iter()
            .enumerate()
        {
            let params = MethodParams {
                alpha,
                correction,
                ..MethodParams::default()
            };
            let policy = Method::PceeLcb.policy_with(&diagrams, delta, &params);
            let fires = |exit: usize, bin: usize| {
                let confidence = (bin as f64 + 0.5) / synthetic::BINS as f64;
                let score = pcee::ExitScore {
                    prediction: 0,
                    confidence,
                    correct: None,
                };
                policy.should_exit(exit, &score)
            };
            any_bad[i] += u32::from((0..3).any(|l| (5..9).any(|b| fires(l, b))));
            good[i] += u32::from((0..3).all(|l| fires(l, 9)));
        }
    }
    let rate = |count: u32| f64::from(count) / draws as f64;
    let bound = alpha + 3.0 * (alpha * (1.0 - alpha) / draws as f64).sqrt();
    eprintln!("of {draws} draws, a bad cell fired in {} (per cell) and {} (bonferroni); all good cells fired in {} and {}", any_bad[0], any_bad[1], good[0], good[1]);
    assert!(
        rate(any_bad[1]) <= bound,
        "bonferroni: {} draws",
        any_bad[1]
    );
    // The per-cell bound is not family-wise here (the test has power), and Bonferroni still
    // fires the 0.99 cells (their bound at α/15 after ≈ 396 of 400 correct is ≈ 0.97).
    assert!(rate(any_bad[0]) > 0.3, "per cell: {} draws", any_bad[0]);
    assert!(
        rate(good[1]) > 0.9,
        "bonferroni fired every good cell in {} draws",
        good[1]
    );
}

/// Options of a `ucb` choice for target accuracy 0.8 with certify fraction 0.3, seed 7.
fn ucb_options(method: Method, temperature: bool) -> CalibrateOptions {
    CalibrateOptions {
        method,
        bins: 10,
        binning: pcee::Binning::Width,
        params: MethodParams::default(),
        temperature,
        delta: pcee::Delta::new(0.9).unwrap(),
        choice: Choice::Risk {
            target_accuracy: 0.8,
            guarantee: Guarantee::Ucb,
            loss: Loss::Wrong,
            alpha: 0.1,
            certify: CertifySplit {
                fraction: 0.3,
                seed: 7,
            },
        },
    }
}

#[test]
fn the_policy_file_records_the_fit_and_certify_parts() {
    let logits = synthetic::over_confident(1000, 3);
    let policy =
        PolicyFile::calibrate(&logits, "syn.npz", &ucb_options(Method::Pcee, false)).unwrap();
    let s = policy.selection.clone().unwrap();
    // round(0.3·1000) = 300 certify, 700 fit; the diagrams hold the fit part only.
    assert_eq!(s.certify.as_deref(), Some("held-out"));
    assert_eq!((s.fit_samples, s.certify_samples), (Some(700), Some(300)));
    assert_eq!((s.certify_fraction, s.certify_seed), (Some(0.3), Some(7)));
    assert_eq!(policy.samples, 700);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.json");
    policy.write(&path).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("\"version\": 3"), "{text}");
    assert_eq!(PolicyFile::read(&path).unwrap().selection, Some(s));
    // A version 2 file cannot say how its samples certified δ.
    std::fs::write(&path, text.replace("\"version\": 3", "\"version\": 2")).unwrap();
    let err = PolicyFile::read(&path).unwrap_err().to_string();
    assert!(
        err.contains("selection.certify") || err.contains("version"),
        "{err}"
    );
    // Plain confidence thresholds are fixed in advance: all 1 000 samples fit and certify.
    let plain =
        PolicyFile::calibrate(&logits, "syn.npz", &ucb_options(Method::Confidence, false)).unwrap();
    let s = plain.selection.unwrap();
    assert_eq!(s.certify.as_deref(), Some("all"));
    assert_eq!(
        (s.fit_samples, s.certify_samples, s.certify_seed),
        (Some(1000), Some(1000), None)
    );
    // With temperatures (fitted on data) confidence is split like PCEE.
    let scaled =
        PolicyFile::calibrate(&logits, "syn.npz", &ucb_options(Method::Confidence, true)).unwrap();
    assert_eq!(scaled.selection.unwrap().certify_samples, Some(300));
}

#[test]
fn risk_control_refuses_to_certify_on_the_fit_samples() {
    let logits = synthetic::over_confident(400, 3);
    let set = CalibrationSet::new(&logits, None, 10, false, "syn.npz");
    let err = PolicyFile::calibrate_on(&set, &ucb_options(Method::Pcee, false)).unwrap_err();
    assert_eq!(err, CalibrateError::NotHeldOut(Method::Pcee));
    assert_eq!(err.option(), "certify_fraction");
    let mut options = ucb_options(Method::Pcee, false);
    if let Choice::Risk { certify, .. } = &mut options.choice {
        certify.fraction = 0.001; // round(0.4) = 0 certify samples
    }
    let err = PolicyFile::calibrate(&logits, "syn.npz", &options).unwrap_err();
    assert!(matches!(err, CalibrateError::CertifyFraction(_)), "{err}");
}

#[test]
fn a_bonferroni_policy_round_trips_and_needs_version_3() {
    let logits = synthetic::cells(500, 3, 1, &|_| 0.95);
    let options = CalibrateOptions {
        method: Method::PceeLcb,
        params: MethodParams {
            alpha: 0.1,
            correction: Correction::Bonferroni,
            ..MethodParams::default()
        },
        choice: Choice::Given,
        ..ucb_options(Method::PceeLcb, false)
    };
    let policy = PolicyFile::calibrate(&logits, "cells.npz", &options).unwrap();
    assert_eq!(policy.correction, Correction::Bonferroni);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.json");
    policy.write(&path).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("\"correction\": \"bonferroni\"") && text.contains("\"version\": 3"));
    assert_eq!(PolicyFile::read(&path).unwrap().params(), policy.params());
    for (bad, what) in [
        (
            text.replace("\"bonferroni\"", "\"holm\""),
            "unknown correction",
        ),
        (
            text.replace("\"pcee-lcb\"", "\"pcee\""),
            "only for pcee-lcb",
        ),
    ] {
        std::fs::write(&path, bad).unwrap();
        let err = PolicyFile::read(&path).unwrap_err().to_string();
        assert!(err.contains("correction") && err.contains(what), "{err}");
    }
}
