//! Budget mode, MSDNet's budgeted thresholds, per-exit temperature scaling and the version 2
//! policy file, on hand-worked and synthetic data.

use crate::synthetic;

use pcee::choose::budget::{best_delta_for_budget, check_budget, msdnet_thresholds, BudgetError};
use pcee::policy::{MethodParams, Pcee};
use pcee::policy_file::{PolicyFile, Selection};
use pcee::temperature::{fit_temperatures, nll};
use pcee::{evaluate, exits_of, reliability_diagrams, Delta, ExitLogits, Method, ScoreTable};
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Two-class logits, one exit per row of `conf` (confidence of class 0 per sample), label 0.
fn two_class(conf: &[&[f64]]) -> ExitLogits {
    let samples = conf[0].len();
    let mut values = Vec::new();
    for exit in conf {
        for &c in exit.iter() {
            values.extend([(c / (1.0 - c)).ln(), 0.0]);
        }
    }
    let flops = (1..=conf.len()).map(|l| l as f64).collect();
    ExitLogits::from_f64(
        [conf.len(), samples, 2],
        values,
        vec![0; samples],
        Some(flops),
    )
    .unwrap()
}

#[test]
fn msdnet_shares_and_thresholds_by_hand() {
    // Exits cost 1 and 3; budget 2: q0 + 3·q1 = 2 with q0 + q1 = 1 gives q = (1/2, 1/2), p = 1.
    // Exit-0 confidences 0.9, 0.8, 0.7, 0.6: the 2 most confident leave, θ0 = 0.8.
    let logits = two_class(&[&[0.9, 0.8, 0.7, 0.6], &[0.99; 4]]);
    let scores = ScoreTable::from_logits(&logits);
    let fit = msdnet_thresholds(&scores, &[1.0, 3.0], 2.0).unwrap();
    assert!((fit.p - 1.0).abs() < 1e-9);
    assert!((fit.shares[0] - 0.5).abs() < 1e-9);
    assert!((fit.thresholds[0] - 0.8).abs() < 1e-12);
    assert_eq!(fit.thresholds.len(), 1);
    assert!((fit.calibration.mean_flops - 2.0).abs() < 1e-12);
    // Three exits costing 1, 2, 3 and budget 2: (1 + 2p + 3p²)/(1 + p + p²) = 2 ⇔ p = 1.
    let logits = two_class(&[&[0.9, 0.8, 0.7], &[0.95, 0.85, 0.75], &[0.99; 3]]);
    let fit = msdnet_thresholds(&ScoreTable::from_logits(&logits), &[1.0, 2.0, 3.0], 2.0).unwrap();
    assert!(fit.shares.iter().all(|q| (q - 1.0 / 3.0).abs() < 1e-9));
    // Exit 0 takes 0.9 (θ0 = 0.9); of the rest, exit 1 takes the most confident, 0.85.
    assert_eq!(fit.thresholds.len(), 2);
    assert!((fit.thresholds[0] - 0.9).abs() < 1e-12 && (fit.thresholds[1] - 0.85).abs() < 1e-12);
}

#[test]
fn budgets_outside_the_feasible_range_are_refused() {
    let flops = [1.0, 3.0];
    assert_eq!(
        check_budget(0.5, &flops),
        Err(BudgetError::Range {
            budget: 0.5,
            min: 1.0,
            max: 3.0
        })
    );
    assert!(check_budget(3.5, &flops).is_err());
    assert!(check_budget(f64::NAN, &flops).is_err());
    assert_eq!(check_budget(1.0, &flops), Ok(1.0));
    assert_eq!(check_budget(3.0, &flops), Ok(3.0));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Budget mode never exceeds the budget on the calibration set, and no δ of a 0.01 grid
    /// does better within the budget.
    #[test]
    fn budget_mode_never_exceeds_the_budget(seed in 0u64..10_000, budget in 1.0f64..=3.0) {
        let logits = synthetic::draw(600, seed);
        let scores = ScoreTable::from_logits(&logits);
        let diagrams = reliability_diagrams(&scores, synthetic::BINS);
        let params = MethodParams::default();
        for method in [Method::Confidence, Method::Pcee, Method::PceeWs, Method::PceeLcb] {
            let choice = best_delta_for_budget(method, &params, &diagrams, &scores, logits.flops(), budget).unwrap();
            prop_assert!(choice.calibration.mean_flops <= budget * (1.0 + 1e-12));
            for i in 0..=100 {
                let o = evaluate(method.policy_with(&diagrams, i as f64 / 100.0, &params).as_ref(), &scores, logits.flops());
                prop_assert!(o.mean_flops > budget || o.accuracy <= choice.calibration.accuracy + 1e-12);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// MSDNet's budgeted thresholds never cost more than the budget on the calibration set
    /// (issue 33: rounding the planned shares to whole samples made them cost up to 0.08 %
    /// more), and cost no more than the planned p's thresholds when those fit.
    #[test]
    fn msdnet_thresholds_never_exceed_the_budget(seed in 0u64..10_000, budget in 1.0f64..=3.0, n in 7usize..300) {
        let logits = synthetic::draw(n, seed);
        let scores = ScoreTable::from_logits(&logits);
        let fit = msdnet_thresholds(&scores, logits.flops(), budget).unwrap();
        prop_assert!(fit.calibration.mean_flops <= budget * (1.0 + 1e-12),
            "{} > {budget}", fit.calibration.mean_flops);
        prop_assert!((fit.shares.iter().sum::<f64>() - 1.0).abs() < 1e-9);
    }
}

/// The case of issue 33 in miniature: 3 samples, exits costing 1 and 3, budget 2. The plan
/// q = (1/2, 1/2) rounds round(1.5) = 2 samples out at exit 0 — cost (2·1 + 3)/3 = 5/3 ≤ 2,
/// fine — but with budget 1.5 the plan q0 = 3/4 takes round(2.25) = 2 samples: (2 + 3)/3 =
/// 1.667 > 1.5. All 3 at exit 0 (cost 1) is the fitting choice.
#[test]
fn msdnet_thresholds_lower_p_when_rounding_overshoots() {
    let logits = two_class(&[&[0.9, 0.8, 0.7], &[0.99; 3]]);
    let scores = ScoreTable::from_logits(&logits);
    let fit = msdnet_thresholds(&scores, &[1.0, 3.0], 1.5).unwrap();
    assert!(fit.calibration.mean_flops <= 1.5, "{:?}", fit.calibration);
    assert!(
        (fit.calibration.mean_flops - 1.0).abs() < 1e-12,
        "{:?}",
        fit.calibration
    );
    assert!(
        (fit.thresholds[0] - 0.7).abs() < 1e-12,
        "{:?}",
        fit.thresholds
    );
}

/// `n` samples of 5 classes whose labels follow softmax(u) with u ~ N-ish random logits, and a
/// model whose logits are `scale`·u: over-confident by a factor `scale`, so the NLL-optimal
/// temperature is ≈ `scale`.
fn over_confident(n: usize, scale: f64, seed: u64) -> ExitLogits {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (classes, mut values, mut labels) = (5, Vec::new(), Vec::new());
    let mut model = Vec::new();
    for _ in 0..n {
        let u: Vec<f64> = (0..classes).map(|_| rng.random_range(-2.0..2.0)).collect();
        let total: f64 = u.iter().map(|x| x.exp()).sum();
        let mut draw = rng.random::<f64>() * total;
        let label = u.iter().position(|x| {
            draw -= x.exp();
            draw <= 0.0
        });
        labels.push(label.unwrap_or(classes - 1) as i64);
        model.extend(u.iter().map(|x| scale * x));
        values.extend(u);
    }
    // Exit 0: over-confident logits; exit 1: the true logits (T = 1 is optimal).
    model.extend(values);
    ExitLogits::from_f64([2, n, classes], model, labels, None).unwrap()
}

#[test]
fn temperature_scaling_lowers_validation_nll_and_recovers_the_scale() {
    let val = over_confident(4000, 3.0, 7);
    let t = fit_temperatures(&val, None);
    assert!((t[0] - 3.0).abs() < 0.3, "exit 0: T = {}", t[0]);
    assert!((t[1] - 1.0).abs() < 0.1, "exit 1: T = {}", t[1]);
    for (exit, &temperature) in t.iter().enumerate() {
        assert!(nll(&val, exit, temperature, None) <= nll(&val, exit, 1.0, None) + 1e-12);
    }
    assert!(nll(&val, 0, t[0], None) < nll(&val, 0, 1.0, None) - 0.1);
    // Fitted on one half, it still lowers the NLL of the other half.
    let (fit, held): (Vec<usize>, Vec<usize>) = (0..4000).partition(|i| i % 2 == 0);
    let t = fit_temperatures(&val, Some(&fit));
    assert!(nll(&val, 0, t[0], Some(&held)) < nll(&val, 0, 1.0, Some(&held)));
    // Predictions never change.
    let raw = ScoreTable::from_logits(&val);
    let scaled = ScoreTable::from_logits_scaled(&val, &t);
    for i in 0..val.samples() {
        assert_eq!(raw.sample(i)[0].prediction, scaled.sample(i)[0].prediction);
    }
}

/// The fit is the same to the last bit however many threads run it and however rayon splits
/// the work (CI once saw the CLI and the Python binding write temperatures differing in the
/// 16th digit, from a work-stealing sum).
#[test]
fn a_fitted_temperature_has_the_same_bits_on_any_number_of_threads() {
    let val = over_confident(5000, 3.0, 11);
    let fit_on = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| (fit_temperatures(&val, None), nll(&val, 0, 2.5, None)))
    };
    let (first, first_nll) = fit_on(1);
    for threads in [2, 3, 7, 16] {
        for _ in 0..3 {
            let (t, loss) = fit_on(threads);
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&t), bits(&first), "{threads} threads");
            assert_eq!(loss.to_bits(), first_nll.to_bits(), "{threads} threads");
        }
    }
}

/// Logits scaled by 300 need T ≈ 300 (issue 33: the search stopped at 100 without a word); an
/// exit whose prediction is always wrong wants T → ∞, and its fit is reported at the bound.
#[test]
fn temperatures_far_from_one_are_found_and_a_bound_is_said() {
    use pcee::temperature::{at_search_bound, MAX_TEMPERATURE};
    let val = over_confident(4000, 300.0, 7);
    let t = fit_temperatures(&val, None);
    assert!((t[0] - 300.0).abs() < 30.0, "exit 0: T = {}", t[0]);
    assert!(!at_search_bound(t[0]) && !at_search_bound(t[1]));
    // Two classes, the larger logit always on the wrong class: the NLL falls as T grows.
    let n = 50;
    let values: Vec<f64> = (0..2 * n).flat_map(|_| [0.0, 1.0]).collect();
    let wrong = ExitLogits::from_f64([2, n, 2], values, vec![0; n], None).unwrap();
    let t = fit_temperatures(&wrong, None);
    assert_eq!(t, vec![MAX_TEMPERATURE; 2]);
    assert!(at_search_bound(t[0]));
}

#[test]
fn pcee_lcb_by_hand() {
    // One bin holding 10 of 10 correct: bound 0.05^(1/10) = 0.7411; 9 of 10: bound
    // qbeta(0.05, 9, 2) = 0.6058 (solves 10·p^9·(1−p) + p^10 = 0.05).
    let exit0 = [0.95; 10];
    let mut logits = two_class(&[&exit0, &[0.99; 10]]);
    let scores = ScoreTable::from_logits(&logits);
    let diagrams = reliability_diagrams(&scores, 1);
    let fires = |delta: f64| exits_of(&Pcee::lcb(&diagrams, delta, 0.05), &scores)[0] == 0;
    assert!(fires(0.74) && !fires(0.75));
    // Make one sample wrong at exit 0 (label 1 for sample 0 is wrong at both exits).
    let values = match logits.values() {
        pcee::LogitValues::F64(v) => v.clone(),
        _ => unreachable!(),
    };
    let mut labels = vec![0i64; 10];
    labels[0] = 1;
    logits = ExitLogits::from_f64([2, 10, 2], values, labels, None).unwrap();
    let scores = ScoreTable::from_logits(&logits);
    let diagrams = reliability_diagrams(&scores, 1);
    let fires = |delta: f64| exits_of(&Pcee::lcb(&diagrams, delta, 0.05), &scores)[1] == 0;
    assert!(fires(0.605) && !fires(0.607));
}

#[test]
fn version_2_policy_round_trips_and_version_1_still_reads() {
    let logits = synthetic::draw(500, 3);
    let t = fit_temperatures(&logits, None);
    let scores = ScoreTable::from_logits_scaled(&logits, &t);
    let diagrams = reliability_diagrams(&scores, 10);
    let mut policy = PolicyFile::from_diagrams(
        Method::PceeLcb,
        diagrams.clone(),
        logits.flops(),
        Delta::new(0.9).unwrap(),
        1,
        "v.npz",
    );
    policy.alpha = Some(0.1);
    policy.temperatures = Some(t.clone());
    policy.selection = Some(Selection {
        rule: "ucb".into(),
        loss: Some("wrong".into()),
        target_accuracy: Some(0.9),
        alpha: Some(0.05),
        budget_flops: None,
        risk: Some(0.05),
        certificate: Some(0.01),
        certify: None,
        certify_fraction: None,
        certify_seed: None,
        fit_samples: None,
        certify_samples: None,
        candidates: Some(30),
        calibration_accuracy: 0.95,
        calibration_mean_flops: 2.0,
    });
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.json");
    policy.write(&path).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("\"version\": 2"));
    let read = PolicyFile::read(&path).unwrap();
    // (serde_json may move a float by one ulp on reading, so compare the new fields, not all.)
    assert_eq!(
        (
            read.method,
            read.alpha,
            &read.selection,
            read.temperatures.as_ref().map(Vec::len)
        ),
        (policy.method, policy.alpha, &policy.selection, Some(2))
    );
    for (a, b) in read.temperatures.as_ref().unwrap().iter().zip(&t) {
        assert!((a - b).abs() < 1e-12);
    }
    // The file's policy reads scaled scores and uses α = 0.1.
    let direct = Pcee::lcb(&diagrams, 0.9, 0.1);
    assert_eq!(
        exits_of(
            read.policy(Delta::new(0.9).unwrap()).as_ref(),
            &read.scores(&logits)
        ),
        exits_of(&direct, &scores)
    );
    // A plain policy is still written as version 1, without the new fields.
    let plain = PolicyFile::from_diagrams(
        Method::Pcee,
        diagrams,
        logits.flops(),
        Delta::new(0.9).unwrap(),
        1,
        "v.npz",
    );
    plain.write(&path).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.contains("\"version\": 1") && !text.contains("alpha") && !text.contains("selection")
    );
    assert_eq!(PolicyFile::read(&path).unwrap().method, Method::Pcee);
    // Bad version 2 fields name the field.
    for (from, to, field) in [
        (
            "\"version\": 1",
            "\"version\": 2,\n  \"alpha\": 1.5",
            "field 'alpha'",
        ),
        (
            "\"version\": 1",
            "\"version\": 2,\n  \"temperatures\": [1.0]",
            "field 'temperatures'",
        ),
        (
            "\"method\": \"pcee\"",
            "\"method\": \"msdnet-budget\"",
            "field 'thresholds'",
        ),
    ] {
        std::fs::write(&path, text.replace(from, to)).unwrap();
        let err = PolicyFile::read(&path).unwrap_err().to_string();
        assert!(err.contains(field), "{err}");
    }
}

proptest! {
    /// The Clopper–Pearson lower bound never exceeds the observed accuracy k/n, and grows with α
    /// (a larger α is a less cautious bound).
    #[test]
    fn lower_bound_is_below_the_observed_accuracy(n in 1u64..2000, k_frac in 0.0f64..=1.0, a in 0.001f64..0.5) {
        let k = (k_frac * n as f64).floor() as u64;
        let lower = pcee::stats::clopper_pearson_lower(k, n, a);
        prop_assert!((0.0..=k as f64 / n as f64 + 1e-12).contains(&lower));
        prop_assert!(lower <= pcee::stats::clopper_pearson_lower(k, n, (2.0 * a).min(0.99)) + 1e-12);
    }

    /// PCEE-LCB fires a subset of the bins PCEE fires at the same δ.
    #[test]
    fn pcee_lcb_fires_only_where_pcee_fires(seed in 0u64..1000, delta in 0.0f64..=1.0, a in 0.01f64..0.5) {
        let scores = ScoreTable::from_logits(&synthetic::draw(300, seed));
        let diagrams = reliability_diagrams(&scores, synthetic::BINS);
        let (lcb, plain) = (Pcee::lcb(&diagrams, delta, a), Pcee::new(&diagrams, delta, 0));
        for b in 0..synthetic::BINS {
            prop_assert!(!synthetic::fires(&lcb, b) || synthetic::fires(&plain, b));
        }
    }
}
