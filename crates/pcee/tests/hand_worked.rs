//! Values worked out by hand on paper from the definitions of docs/design.md §3 — never copied from
//! the code's output. 3 exits, 3 classes, 4 bins of width 0.25, cumulative FLOPs [10, 25, 50].
//!
//! Logit vectors used (softmax worked out by hand; h, m, l are the confidences):
//!   ONE = [0, −1000, −1000]: exp(−1000) underflows to 0 in f64, so confidence is exactly 1.0
//!         → bin min(floor(4·1.0), 3) = 3 (the last bin), prediction 0.
//!   H(k)  = 3 at class k, 0 elsewhere: h = e³/(e³+2) = 20.0855/22.0855 ≈ 0.9094 → bin 3.
//!   M(k)  = 1 at class k:             m = e/(e+2)   = 2.7183/4.7183  ≈ 0.5761 → bin 2.
//!   L(k)  = 0.5 at class k:           l = e^½/(e^½+2) = 1.6487/3.6487 ≈ 0.4519 → bin 1.
//!   T0 = [0, 0, 0]: three-way tie → prediction 0 (lowest class), confidence 1/3 → bin 1.
//!   T1 = [1, 1, 0]: tie of classes 0 and 1 → prediction 0, confidence e/(2e+1) ≈ 0.4223 → bin 1.
//!
//! Validation set (label: exit 0, exit 1, exit 2):
//!   v0 (0): ONE ✓ b3 | H(0) ✓ b3 | H(0) ✓ b3
//!   v1 (1): H(0) ✗ b3 | M(1) ✓ b2 | H(1) ✓ b3
//!   v2 (2): H(2) ✓ b3 | L(2) ✓ b1 | H(2) ✓ b3
//!   v3 (0): T0 ✓ b1   | T1 ✓ b1   | M(1) ✗ b2
//! Diagrams (counts / correct per bin 0..3):
//!   exit 0: n = [0, 1, 0, 3], k = [0, 1, 0, 2] → acc bin1 = 1, bin3 = 2/3; bins 0 and 2 EMPTY.
//!   exit 1: n = [0, 2, 1, 1], k = [0, 2, 1, 1] → every non-empty bin has accuracy 1.
//!   exit 2: n = [0, 0, 1, 3], k = [0, 0, 0, 3].
//!
//! Test set (label: exit 0, exit 1, exit 2):
//!   t0 (0): ONE ✓ b3   | H(0) ✓ b3 | H(0) ✓
//!   t1 (1): M(1) ✓ b2  | M(1) ✓ b2 | H(1) ✓     ← exit 0's bin 2 is empty on validation
//!   t2 (2): T0 ✗ b1    | L(2) ✓ b1 | H(2) ✓
//!   t3 (0): H(1) ✗ b3  | H(1) ✗ b3 | M(0) ✓
//!   t4 (1): L(0) ✗ b1  | M(0) ✗ b2 | M(1) ✓

use pcee::policy::{ConfidenceThreshold, ExitPolicy, Oracle, Pcee};
use pcee::{
    evaluate, exits_of, reliability_diagrams, ExitLogits, ExitScore, ReliabilityDiagram, ScoreTable,
};

const FLOPS: [f64; 3] = [10.0, 25.0, 50.0];

fn one() -> [f64; 3] {
    [0.0, -1000.0, -1000.0]
}
fn at(k: usize, v: f64) -> [f64; 3] {
    let mut z = [0.0; 3];
    z[k] = v;
    z
}
fn h(k: usize) -> [f64; 3] {
    at(k, 3.0)
}
fn m(k: usize) -> [f64; 3] {
    at(k, 1.0)
}
fn l(k: usize) -> [f64; 3] {
    at(k, 0.5)
}
const T0: [f64; 3] = [0.0, 0.0, 0.0];
const T1: [f64; 3] = [1.0, 1.0, 0.0];

/// Builds `[exits, samples, classes]` logits from per-sample rows `(label, [exit0, exit1, exit2])`.
fn logits(samples: &[(i64, [[f64; 3]; 3])]) -> ExitLogits {
    let n = samples.len();
    let mut values = vec![0.0; 3 * n * 3];
    for (i, (_, exits)) in samples.iter().enumerate() {
        for (e, z) in exits.iter().enumerate() {
            values[(e * n + i) * 3..(e * n + i) * 3 + 3].copy_from_slice(z);
        }
    }
    let labels = samples.iter().map(|(y, _)| *y).collect();
    ExitLogits::from_f64([3, n, 3], values, labels, Some(FLOPS.to_vec())).unwrap()
}

fn validation() -> ExitLogits {
    logits(&[
        (0, [one(), h(0), h(0)]),
        (1, [h(0), m(1), h(1)]),
        (2, [h(2), l(2), h(2)]),
        (0, [T0, T1, m(1)]),
    ])
}

fn test_set() -> ExitLogits {
    logits(&[
        (0, [one(), h(0), h(0)]),
        (1, [m(1), m(1), h(1)]),
        (2, [T0, l(2), h(2)]),
        (0, [h(1), h(1), m(0)]),
        (1, [l(0), m(0), m(1)]),
    ])
}

fn hc() -> f64 {
    let e3 = 3f64.exp();
    e3 / (e3 + 2.0)
}

fn diagrams() -> Vec<ReliabilityDiagram> {
    reliability_diagrams(&ScoreTable::from_logits(&validation()), 4)
}

fn exits(policy: &dyn ExitPolicy) -> Vec<usize> {
    exits_of(policy, &ScoreTable::from_logits(&test_set()))
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-12
}

#[test]
fn scores_ties_and_a_confidence_of_exactly_one() {
    let one = ExitScore::from_logits(&one());
    assert_eq!((one.prediction, one.confidence), (0, 1.0));
    let t0 = ExitScore::from_logits(&T0);
    assert_eq!(t0.prediction, 0);
    assert!(close(t0.confidence, 1.0 / 3.0));
    let t1 = ExitScore::from_logits(&T1);
    let e = 1f64.exp();
    assert_eq!(t1.prediction, 0);
    assert!(close(t1.confidence, e / (2.0 * e + 1.0)));
    assert_eq!(
        ExitScore::from_logits(&[0.0f32, 0.0, 5.0, 5.0]).prediction,
        2
    );
    assert!(close(ExitScore::from_logits(&h(1)).confidence, hc()));
}

#[test]
fn reliability_diagrams_by_hand() {
    let d = diagrams();
    assert_eq!(d[0].counts(), &[0, 1, 0, 3]);
    assert_eq!(d[0].correct(), &[0, 1, 0, 2]);
    assert_eq!(d[1].counts(), &[0, 2, 1, 1]);
    assert_eq!(d[1].correct(), &[0, 2, 1, 1]);
    assert_eq!(d[2].counts(), &[0, 0, 1, 3]);
    assert_eq!(d[2].correct(), &[0, 0, 0, 3]);
    assert_eq!(d[0].accuracy(0), None, "empty bin: accuracy undefined");
    assert_eq!(d[0].accuracy(2), None);
    assert!(close(d[0].accuracy(3).unwrap(), 2.0 / 3.0));
    // Exit 0, bin 3 holds confidences 1.0, h, h; bin 1 holds 1/3.
    assert!(close(
        d[0].mean_confidence()[3].unwrap(),
        (1.0 + 2.0 * hc()) / 3.0
    ));
    assert_eq!(d[0].mean_confidence()[2], None);
    // ECE exit 0 = 1/4·|1 − 1/3| + 3/4·|2/3 − (1 + 2h)/3|.
    let ece0 = 0.25 * (2.0 / 3.0) + 0.75 * ((1.0 + 2.0 * hc()) / 3.0 - 2.0 / 3.0);
    assert!(close(d[0].ece(), ece0), "{} vs {ece0}", d[0].ece());
}

#[test]
fn pcee_by_hand() {
    // δ = 0.9: exit 0 fires in bin 1 only (bin 3 has 2/3 < 0.9, bin 2 is empty);
    // exit 1 fires in every non-empty bin. t0 → 1, t1 → 1 (empty bin 2 at exit 0), t2 → 0,
    // t3 → 1, t4 → 0.
    let d = diagrams();
    assert_eq!(exits(&Pcee::new(&d, 0.9, 0)), vec![1, 1, 0, 1, 0]);
    // δ = 0.6: bin 3 of exit 0 fires too (2/3 ≥ 0.6): t0 → 0, t3 → 0.
    assert_eq!(exits(&Pcee::new(&d, 0.6, 0)), vec![0, 1, 0, 0, 0]);
    // δ = 0: every non-empty bin fires, yet the empty bin 2 of exit 0 still does not (t1 → 1).
    assert_eq!(exits(&Pcee::new(&d, 0.0, 0)), vec![0, 1, 0, 0, 0]);
    // δ = 1: only accuracy-1 bins: exit 0 bin 1, exit 1 all.
    assert_eq!(exits(&Pcee::new(&d, 1.0, 0)), vec![1, 1, 0, 1, 0]);
}

#[test]
fn pcee_outcome_by_hand() {
    // δ = 0.9, exits [1, 1, 0, 1, 0]: correct are t0 (exit 1) and t1 (exit 1) → accuracy 2/5.
    // mean FLOPs = (2·10 + 3·25)/5 = 19, fraction 19/50, mean exit 3/5.
    let outcome = evaluate(
        &Pcee::new(&diagrams(), 0.9, 0),
        &ScoreTable::from_logits(&test_set()),
        &FLOPS,
    );
    assert!(close(outcome.accuracy, 0.4));
    assert!(close(outcome.mean_flops, 19.0));
    assert!(close(outcome.flops_fraction, 0.38));
    assert_eq!(outcome.exit_fractions, vec![0.4, 0.6, 0.0]);
    assert_eq!(outcome.exit_accuracy[0], Some(0.0));
    assert!(close(outcome.exit_accuracy[1].unwrap(), 2.0 / 3.0));
    assert_eq!(outcome.exit_accuracy[2], None, "no sample exits at 2");
    assert!(close(outcome.mean_exit, 0.6));
    assert!(close(outcome.control_error(0.9), -0.5));
}

#[test]
fn confidence_by_hand() {
    // δ = 0.9: t0 (1.0) and t3 (h ≈ 0.909) leave at exit 0; t1, t2, t4 never reach 0.9 → exit 2.
    // Correct: t0, t1, t2, t4 → 4/5; mean FLOPs (10 + 50 + 50 + 10 + 50)/5 = 34.
    let scores = ScoreTable::from_logits(&test_set());
    let policy = ConfidenceThreshold { delta: 0.9 };
    assert_eq!(exits(&policy), vec![0, 2, 2, 0, 2]);
    let outcome = evaluate(&policy, &scores, &FLOPS);
    assert!(close(outcome.accuracy, 0.8));
    assert!(close(outcome.mean_flops, 34.0));
    assert!(close(outcome.mean_exit, 1.2));
    assert_eq!(outcome.exit_accuracy, vec![Some(0.5), None, Some(1.0)]);
    // δ = 1: only a confidence of exactly 1.0 fires (t0).
    assert_eq!(
        exits(&ConfidenceThreshold { delta: 1.0 }),
        vec![0, 2, 2, 2, 2]
    );
}

#[test]
fn oracle_by_hand() {
    // First correct exit: t0 → 0, t1 → 0, t2 → 1, t3 and t4 → none correct before the last → 2.
    // Accuracy 5/5; mean FLOPs (10 + 10 + 25 + 50 + 50)/5 = 29.
    assert_eq!(exits(&Oracle), vec![0, 0, 1, 2, 2]);
    let outcome = evaluate(&Oracle, &ScoreTable::from_logits(&test_set()), &FLOPS);
    assert!(close(outcome.accuracy, 1.0));
    assert!(close(outcome.mean_flops, 29.0));
    // Without a label (inference) the oracle never fires; the last exit still takes the sample.
    assert!(!Oracle.should_exit(0, &ExitScore::from_logits(&one())));
    assert!(Oracle.stops(2, 3, &ExitScore::from_logits(&one())));
}

#[test]
fn pcee_ws_window_by_hand() {
    // One exit's diagram: n = [0, 2, 1, 4], k = [0, 2, 0, 3].
    // PCEE accuracies: bin1 1, bin2 0, bin3 3/4. Window 1 (clipped):
    //   bin1: bins 0..2 → 2/3; bin2: bins 1..3 → 5/7 ≈ 0.714; bin3: bins 2..3 → 3/5.
    let d = ReliabilityDiagram::new(
        vec![0, 2, 1, 4],
        vec![0, 2, 0, 3],
        vec![None, Some(0.3), Some(0.6), Some(0.9)],
    )
    .unwrap();
    assert!(close(d.window_accuracy(1, 1).unwrap(), 2.0 / 3.0));
    assert!(close(d.window_accuracy(2, 1).unwrap(), 5.0 / 7.0));
    assert!(close(d.window_accuracy(3, 1).unwrap(), 0.6));
    let diagrams = vec![d.clone(), d];
    let score = |c: f64| ExitScore {
        prediction: 0,
        confidence: c,
        correct: None,
    };
    let fires = |p: &Pcee| [0.1, 0.3, 0.6, 0.9].map(|c| p.should_exit(0, &score(c)));
    // δ = 0.7: PCEE fires in bins 1 (1.0) and 3 (0.75); PCEE-WS in bin 2 (0.714) only.
    assert_eq!(
        fires(&Pcee::new(&diagrams, 0.7, 0)),
        [false, true, false, true]
    );
    assert_eq!(
        fires(&Pcee::new(&diagrams, 0.7, 1)),
        [false, false, true, false]
    );
    // A window covering everything: 5/7 in every non-empty bin; the empty bin 0 never fires.
    assert_eq!(
        fires(&Pcee::new(&diagrams, 0.7, 10)),
        [false, true, true, true]
    );
}

#[test]
fn target_accuracy_mode_by_hand() {
    use pcee::choose::target::{cheapest_delta_for_accuracy, TargetError};
    use pcee::policy::MethodParams;
    use pcee::Method;
    // On the validation set itself. PCEE candidates: 0, 1 and the bin accuracies {2/3, 1, 0}.
    // δ = 0 and δ = 2/3: exit 0 fires in bins 1 and 3 → v0 ✓, v1 ✗, v2 ✓, v3 ✓ at exit 0:
    // accuracy 3/4, 10 FLOPs. δ = 1: exit 0 fires in bin 1 only (v3 ✓); v0, v1, v2 leave at exit 1,
    // all right: accuracy 1, (10 + 3·25)/4 = 21.25 FLOPs.
    let val = ScoreTable::from_logits(&validation());
    let d = diagrams();
    let choose = |method, target| {
        cheapest_delta_for_accuracy(method, &MethodParams::default(), &d, &val, &FLOPS, target)
    };
    // A = 0.7: δ = 0 and 2/3 tie on cost and accuracy → the lower δ, 0.
    let c = choose(Method::Pcee, 0.7).unwrap();
    assert_eq!(c.delta, 0.0);
    assert!(close(c.calibration.accuracy, 0.75) && close(c.calibration.mean_flops, 10.0));
    // A = 0.8 (and A = 1): only δ = 1; the shortest decimal in (2/3, 1] is 1.
    for target in [0.8, 1.0] {
        let c = choose(Method::Pcee, target).unwrap();
        assert_eq!(c.delta, 1.0);
        assert!(close(c.calibration.accuracy, 1.0) && close(c.calibration.mean_flops, 21.25));
    }
    // Confidence thresholding never beats 3/4 here: v1 is wrong at exit 0 with confidence
    // h ≈ 0.909, so any δ keeping it past exit 0 also keeps v3 (confidences 1/3, 0.42) until
    // exit 2, where it is wrong.
    assert_eq!(
        choose(Method::Confidence, 0.8),
        Err(TargetError {
            target: 0.8,
            best: 0.75
        })
    );
}

#[test]
fn target_accuracy_mode_in_the_policy_file() {
    use pcee::calibrate::{CalibrateOptions, Choice};
    use pcee::policy::MethodParams;
    use pcee::{Binning, Delta, Method, PolicyFile};
    let options = |method, target| CalibrateOptions {
        method,
        bins: 4,
        binning: Binning::Width,
        params: MethodParams::default(),
        temperature: false,
        delta: Delta::new(0.5).unwrap(),
        choice: Choice::Target(target),
    };
    let p = PolicyFile::calibrate(&validation(), "val", &options(Method::Pcee, 0.8)).unwrap();
    assert_eq!(p.delta.get(), 1.0);
    let s = p.selection.as_ref().unwrap();
    assert_eq!((s.rule.as_str(), s.target_accuracy), ("target", Some(0.8)));
    assert!(close(s.calibration_accuracy, 1.0) && close(s.calibration_mean_flops, 21.25));
    assert_eq!(p.target_accuracy(p.delta, false), Some(0.8));
    let err = PolicyFile::calibrate(&validation(), "val", &options(Method::Confidence, 0.8));
    assert_eq!(err.unwrap_err().option(), "target_accuracy");
    for bad in [0.0, 1.0, f64::NAN] {
        let err = PolicyFile::calibrate(&validation(), "val", &options(Method::Pcee, bad));
        assert_eq!(err.unwrap_err().option(), "target_accuracy", "{bad}");
    }
    let budget = PolicyFile::calibrate(&validation(), "val", &options(Method::MsdnetBudget, 0.8));
    assert_eq!(budget.unwrap_err().option(), "target_accuracy");
}
