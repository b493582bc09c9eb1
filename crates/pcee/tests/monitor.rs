//! The online monitor: its bound and drift score against closed forms worked out by hand, its
//! alarm on synthetic streams with a known accuracy change (seeded), its false-alarm rate on
//! stationary streams against α, and re-calibration against `calibrate` on the same samples.

use crate::synthetic;

use pcee::calibrate::{CalibrateOptions, Choice};
use pcee::monitor::bound::{clopper_pearson_upper, spent_level};
use pcee::monitor::drift::psi;
use pcee::monitor::recalibrate::recalibrate;
use pcee::monitor::replay::{replay, replay_many, shuffled_order, ReplayOptions};
use pcee::monitor::{Monitor, MonitorConfig, MonitorError};
use pcee::policy::MethodParams;
use pcee::{Binning, Delta, ExitLogits, Method, PolicyFile};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[test]
fn upper_bound_closed_forms() {
    // k = 0: the error rate's lower bound is the α-quantile of Beta(n, 1) = α^(1/n).
    // k = n − 1: it is the α-quantile of Beta(1, n) = 1 − (1 − α)^(1/n).
    for n in [1u64, 5, 40] {
        let a: f64 = 0.05;
        assert!(close(
            clopper_pearson_upper(0, n, a),
            1.0 - a.powf(1.0 / n as f64)
        ));
        assert!(close(
            clopper_pearson_upper(n - 1, n, a),
            (1.0 - a).powf(1.0 / n as f64)
        ));
        assert_eq!(clopper_pearson_upper(n, n, a), 1.0);
    }
}

#[test]
fn spent_levels_sum_to_alpha() {
    // Σ_{j=1..J} 1/(j(j+1)) = 1 − 1/(J+1); over 3 exits each with J tests.
    let j = 999u64;
    let total: f64 = (1..=j).map(|t| 3.0 * spent_level(0.05, 3, t)).sum();
    assert!(close(total, 0.05 * (1.0 - 1.0 / (j as f64 + 1.0))));
}

#[test]
fn psi_by_hand() {
    assert_eq!(psi(&[4, 4], &[0, 0]), None);
    assert!(close(psi(&[5, 5], &[2, 2]).unwrap(), 0.0));
    // Shares (3 + ½)/5 = 0.7 and 0.3, swapped live: 0.4·ln(7/3) + 0.4·ln(7/3).
    assert!(close(
        psi(&[3, 1], &[1, 3]).unwrap(),
        0.8 * (7.0f64 / 3.0).ln()
    ));
}

/// A PCEE policy at δ = 0.9 on the synthetic data: exit 0 fires in bin 9 only.
fn policy() -> PolicyFile {
    let options = CalibrateOptions {
        method: Method::Pcee,
        bins: synthetic::BINS,
        binning: Binning::Width,
        params: MethodParams::default(),
        temperature: false,
        delta: Delta::new(0.9).unwrap(),
        choice: Choice::Given,
    };
    PolicyFile::calibrate(&synthetic::draw(4000, 1), "synthetic", &options).unwrap()
}

/// Feeds `n` images leaving at exit 0 with confidence 0.95, right with probability `p`; returns
/// the labels received when the first alarm fired.
fn feed(monitor: &mut Monitor, rng: &mut ChaCha8Rng, start: u64, n: u64, p: f64) -> Option<u64> {
    let mut first = None;
    for id in start..start + n {
        monitor.observe(id, 0, &[0.95], 3).unwrap();
        let label = if rng.random::<f64>() < p { 3 } else { 4 };
        if let Some(alarm) = monitor.label(id, label).unwrap() {
            first = first.or(Some(alarm.labelled));
        }
    }
    first
}

fn config(window: usize) -> MonitorConfig {
    MonitorConfig {
        window,
        alpha: 0.05,
        max_pending: 1000,
        ..MonitorConfig::default()
    }
}

#[test]
fn alarm_fires_after_a_drop_and_not_before() {
    // Accuracy 0.96 for 3 000 labels, then 0.60. The 31st test of exit 0 runs at level
    // 0.05/(31·32) ≈ 5·10⁻⁵ (z ≈ 3.9): a block of 100 with accuracy a has an upper bound near
    // a + 3.9·√(a(1 − a)/100), below 0.9 for a ≲ 0.72 — 2.4 standard errors above 0.60 — so a
    // block after the change misses the alarm with probability < 1 %: the alarm comes within
    // two blocks (≤ 200 labels) in every seed, and never before the change.
    let p = policy();
    for seed in 0..20 {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut m = Monitor::new(&p, 0.9, config(100)).unwrap();
        assert_eq!(feed(&mut m, &mut rng, 0, 3000, 0.96), None, "seed {seed}");
        let at = feed(&mut m, &mut rng, 3000, 400, 0.60).expect("an alarm");
        assert!(at > 3000 && at <= 3200, "seed {seed}: alarm at {at}");
        let state = m.state();
        assert!(state[0].alarmed && !state[1].alarmed);
        assert!(state[0].live_accuracy.unwrap() < 0.8);
    }
}

#[test]
fn false_alarm_rate_on_a_stationary_stream_is_at_most_alpha() {
    // At the boundary of the null (accuracy exactly δ = 0.9), 400 streams of 20 blocks of 50:
    // the union bound makes the rate ≤ α = 0.05 (here well below: Clopper–Pearson is
    // conservative); allowed: α + 2 binomial standard errors.
    let p = policy();
    let streams = 400;
    let fired = (0..streams)
        .filter(|&s| {
            let mut rng = ChaCha8Rng::seed_from_u64(1000 + s);
            let mut m = Monitor::new(&p, 0.9, config(50)).unwrap();
            feed(&mut m, &mut rng, 0, 1000, 0.9).is_some()
        })
        .count();
    let rate = fired as f64 / streams as f64;
    let se = (0.05f64 * 0.95 / streams as f64).sqrt();
    assert!(rate <= 0.05 + 2.0 * se, "false-alarm rate {rate}");
}

#[test]
fn the_last_exit_is_never_tested_and_bad_feeds_are_errors() {
    let p = policy();
    let mut m = Monitor::new(&p, 0.9, config(10)).unwrap();
    for id in 0..100 {
        m.observe(id, 1, &[0.5, 0.5], 3).unwrap();
        assert_eq!(m.label(id, 4).unwrap(), None, "all wrong at the last exit");
    }
    assert!(matches!(
        m.observe(1, 2, &[0.5, 0.5, 0.5], 0),
        Err(MonitorError::Exit { .. })
    ));
    assert!(matches!(
        m.observe(1, 1, &[0.5], 0),
        Err(MonitorError::Exit { .. })
    ));
    assert_eq!(m.label(12345, 0), Err(MonitorError::UnknownId(12345)));
    assert_eq!(
        m.label(5, 0),
        Err(MonitorError::UnknownId(5)),
        "labelled twice"
    );
    for (window, alpha, delta) in [
        (0, 0.05, 0.9),
        (10, 0.0, 0.9),
        (10, 1.0, 0.9),
        (10, 0.05, 1.5),
    ] {
        let c = MonitorConfig {
            window,
            alpha,
            max_pending: 10,
            ..MonitorConfig::default()
        };
        assert!(matches!(
            Monitor::new(&p, delta, c),
            Err(MonitorError::Config { .. })
        ));
    }
}

#[test]
fn pending_decisions_are_bounded() {
    let p = policy();
    let mut m = Monitor::new(
        &p,
        0.9,
        MonitorConfig {
            window: 10,
            alpha: 0.05,
            max_pending: 5,
            ..MonitorConfig::default()
        },
    )
    .unwrap();
    for id in 0..20 {
        m.observe(id, 0, &[0.95], 1).unwrap();
    }
    assert_eq!(m.label(0, 1), Err(MonitorError::UnknownId(0)), "forgotten");
    assert_eq!(m.label(19, 1), Ok(None));
}

/// The samples `window` of `logits` as a logits set of their own.
fn subset(logits: &ExitLogits, window: &[usize]) -> ExitLogits {
    let [exits, classes] = [logits.exits(), logits.classes()];
    let mut values = Vec::new();
    for e in 0..exits {
        for &i in window {
            match logits.logits_of(e, i) {
                pcee::LogitsRow::F64(row) => values.extend_from_slice(row),
                pcee::LogitsRow::F32(row) => values.extend(row.iter().map(|&x| f64::from(x))),
            }
        }
    }
    let labels = window
        .iter()
        .map(|&i| i64::from(logits.labels()[i]))
        .collect();
    ExitLogits::from_f64(
        [exits, window.len(), classes],
        values,
        labels,
        Some(logits.flops().to_vec()),
    )
    .unwrap()
}

#[test]
fn recalibration_equals_calibrate_on_the_same_samples() {
    let stream = synthetic::draw(3000, 9);
    let window: Vec<usize> = (1000..1400).collect();
    for binning in [Binning::Width, Binning::Mass] {
        let mut p = policy();
        p.binning = binning;
        let fresh = recalibrate(&p, &stream, &window, Delta::new(0.85).unwrap()).unwrap();
        let options = CalibrateOptions {
            method: Method::Pcee,
            bins: synthetic::BINS,
            binning,
            params: p.params(),
            temperature: false,
            delta: Delta::new(0.85).unwrap(),
            choice: Choice::Given,
        };
        let direct = PolicyFile::calibrate(&subset(&stream, &window), "x", &options).unwrap();
        assert_eq!(fresh.diagrams(), direct.diagrams());
        assert_eq!((fresh.delta, fresh.samples), (direct.delta, direct.samples));
    }
}

#[test]
fn replay_of_a_clean_stream_rarely_alarms_and_orders_are_seeded() {
    let p = policy();
    let stream = synthetic::draw(2000, 5);
    let options = ReplayOptions {
        config: config(100),
        delta: Delta::new(0.9).unwrap(),
        recalibrate: 0,
    };
    let report = replay(&p, &stream, None, &options).unwrap();
    assert_eq!(report.images, 2000);
    assert!(report.recalibration.is_none());
    let order = shuffled_order(&[3, 4], 7);
    assert_eq!(order, shuffled_order(&[3, 4], 7));
    let (mut a, mut b) = (order[..3].to_vec(), order[3..].to_vec());
    a.sort();
    b.sort();
    assert_eq!((a, b), (vec![0, 1, 2], vec![3, 4, 5, 6]));
    let summary = replay_many(&p, &stream, &[2000], 40, 0, &options).unwrap();
    assert_eq!(summary.replays, 40);
    assert!(summary.alarm_rate <= 0.05 + 2.0 * (0.05f64 * 0.95 / 40.0).sqrt());
}

#[test]
fn concatenated_streams_keep_every_sample_in_order() {
    let (a, b) = (synthetic::draw(30, 1), synthetic::draw(20, 2));
    let both = ExitLogits::concat(&[&a, &b]).unwrap();
    assert_eq!((both.exits(), both.samples(), both.classes()), (2, 50, 10));
    let row = |l: &ExitLogits, e, i| match l.logits_of(e, i) {
        pcee::LogitsRow::F64(r) => r.to_vec(),
        pcee::LogitsRow::F32(r) => r.iter().map(|&x| f64::from(x)).collect(),
    };
    for e in 0..2 {
        assert_eq!(row(&both, e, 29), row(&a, e, 29));
        assert_eq!(row(&both, e, 30), row(&b, e, 0));
        assert_eq!(row(&both, e, 49), row(&b, e, 19));
    }
    assert_eq!(both.labels()[30], b.labels()[0]);
    assert_eq!(both.flops(), a.flops());
    assert!(ExitLogits::concat(&[]).is_err());
    let three = ExitLogits::from_f64([3, 1, 10], vec![0.0; 30], vec![0], None).unwrap();
    let err = ExitLogits::concat(&[&a, &three]).unwrap_err().to_string();
    assert!(err.starts_with("part 1 has 3 exits"), "{err}");
}
