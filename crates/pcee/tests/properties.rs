//! Property tests (proptest) of the definitions in docs/design.md §3.

use pcee::bins::bin_of;
use pcee::policy::Oracle;
use pcee::{evaluate, exits_of, reliability_diagrams, ExitLogits, Method, Outcome, ScoreTable};
use proptest::prelude::*;

/// Random logits with `l` exits, 1–40 samples and `c` classes; integer-valued logits in
/// −3..=3 so that ties and repeated confidences are common.
fn logits_with(l: usize, c: usize) -> impl Strategy<Value = ExitLogits> {
    (1usize..=40).prop_flat_map(move |n| {
        (
            proptest::collection::vec(-3i8..=3, l * n * c),
            proptest::collection::vec(0..c as i64, n),
        )
            .prop_map(move |(z, y)| {
                let z = z.into_iter().map(f32::from).collect();
                let flops = (1..=l).map(|e| (e * e) as f64).collect();
                ExitLogits::from_f32([l, n, c], z, y, Some(flops)).unwrap()
            })
    })
}

/// Random logits: 2–4 exits, 2–4 classes.
fn logits() -> impl Strategy<Value = ExitLogits> {
    (2usize..=4, 2usize..=4).prop_flat_map(|(l, c)| logits_with(l, c))
}

/// A validation set and a test set with the same number of exits and classes.
fn val_and_test() -> impl Strategy<Value = (ExitLogits, ExitLogits)> {
    (2usize..=4, 2usize..=4).prop_flat_map(|(l, c)| (logits_with(l, c), logits_with(l, c)))
}

proptest! {
    #[test]
    fn raising_delta_never_moves_a_sample_earlier(
        (val, test) in val_and_test(), bins in 1usize..=12, window in 0usize..=3,
        d1 in 0.0f64..=1.0, d2 in 0.0f64..=1.0,
    ) {
        let (low, high) = if d1 <= d2 { (d1, d2) } else { (d2, d1) };
        let diagrams = reliability_diagrams(&ScoreTable::from_logits(&val), bins);
        let test = ScoreTable::from_logits(&test);
        for method in [Method::Confidence, Method::Pcee, Method::PceeWs] {
            let before = exits_of(method.policy(&diagrams, low, window).as_ref(), &test);
            let after = exits_of(method.policy(&diagrams, high, window).as_ref(), &test);
            for (i, (b, a)) in before.iter().zip(&after).enumerate() {
                prop_assert!(a >= b, "{method}: sample {i} moved from exit {b} to {a} when δ rose {low} → {high}");
            }
        }
    }

    #[test]
    fn the_oracle_is_at_least_as_accurate_as_every_policy(
        (val, test) in val_and_test(), bins in 1usize..=12, delta in 0.0f64..=1.0,
    ) {
        let diagrams = reliability_diagrams(&ScoreTable::from_logits(&val), bins);
        let flops = test.flops().to_vec();
        let test = ScoreTable::from_logits(&test);
        let oracle = evaluate(&Oracle, &test, &flops).accuracy;
        for method in [Method::Confidence, Method::Pcee, Method::PceeWs] {
            let accuracy = evaluate(method.policy(&diagrams, delta, 1).as_ref(), &test, &flops).accuracy;
            prop_assert!(oracle >= accuracy, "{method}: {accuracy} > oracle {oracle}");
        }
    }

    #[test]
    fn outcomes_are_consistent(test in logits(), delta in 0.0f64..=1.0) {
        let flops = test.flops().to_vec();
        let scores = ScoreTable::from_logits(&test);
        let outcome = evaluate(&pcee::policy::ConfidenceThreshold { delta }, &scores, &flops);
        let total: f64 = outcome.exit_fractions.iter().sum();
        prop_assert!((total - 1.0).abs() < 1e-9);
        prop_assert!((0.0..=1.0).contains(&outcome.accuracy));
        prop_assert!(outcome.flops_fraction > 0.0 && outcome.flops_fraction <= 1.0 + 1e-12);
        prop_assert!(outcome.mean_exit >= 0.0 && outcome.mean_exit <= (test.exits() - 1) as f64);
        // The same outcome from per-sample decisions (what an early-exit runtime reports).
        let policy = pcee::policy::ConfidenceThreshold { delta };
        let exits = exits_of(&policy, &scores);
        let correct: Vec<bool> = exits.iter().enumerate()
            .map(|(i, &e)| scores.sample(i)[e].correct == Some(true)).collect();
        prop_assert_eq!(Outcome::from_exits(&exits, &correct, &flops), outcome);
    }

    #[test]
    fn diagrams_count_every_sample_once(val in logits(), bins in 1usize..=20) {
        for diagram in reliability_diagrams(&ScoreTable::from_logits(&val), bins) {
            prop_assert_eq!(diagram.samples(), val.samples() as u64);
            prop_assert!((0.0..=1.0).contains(&diagram.ece()));
            for b in 0..bins {
                prop_assert!(diagram.correct()[b] <= diagram.counts()[b]);
            }
        }
    }

    #[test]
    fn bins_are_in_range_and_ordered(c in 0.0f64..=1.0, bins in 1usize..=100) {
        let b = bin_of(c, bins);
        prop_assert!(b < bins);
        prop_assert!(b as f64 / bins as f64 <= c);
        prop_assert!(c < (b + 1) as f64 / bins as f64 || b == bins - 1);
    }

    #[test]
    fn confidence_is_a_probability_and_prediction_a_maximum(z in proptest::collection::vec(-50.0f64..50.0, 1..12)) {
        let score = pcee::ExitScore::from_logits(&z);
        prop_assert!(score.confidence >= 1.0 / z.len() as f64 - 1e-12 && score.confidence <= 1.0);
        let p = score.prediction as usize;
        prop_assert!(z.iter().all(|&x| x <= z[p]));
        prop_assert!(z[..p].iter().all(|&x| x < z[p]), "ties go to the lowest class");
    }
}

#[test]
fn write_npz_then_read_gives_the_same_logits() {
    let dir = tempfile::tempdir().unwrap();
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(16));
    runner
        .run(&logits(), |logits| {
            let path = dir.path().join("x.npz");
            logits.write_npz(&path).unwrap();
            prop_assert_eq!(ExitLogits::read(&path).unwrap(), logits);
            Ok(())
        })
        .unwrap();
}
