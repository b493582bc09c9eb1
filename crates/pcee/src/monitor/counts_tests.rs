use super::*;
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn config(window: usize, alpha: f64) -> MonitorConfig {
    MonitorConfig {
        window,
        alpha,
        drift_block: 20,
        ..MonitorConfig::default()
    }
}

/// Counts of two exits: exit 0 with `(labelled, correct)`, exit 1 with 5 labels, all right.
fn two_exits(labelled: u64, correct: u64) -> MonitorCounts {
    let mut c = MonitorCounts::new(2, 3);
    c.exits[0] = ExitCounts {
        exited: labelled,
        labelled,
        correct,
    };
    c.exits[1] = ExitCounts {
        exited: 5,
        labelled: 5,
        correct: 5,
    };
    c
}

#[test]
fn blocks_of_at_least_the_window_are_tested_at_spent_levels() {
    let mut m = CountsMonitor::new(2, 0.9, &config(10, 0.05), None).unwrap();
    assert!(m.update(&two_exits(9, 0)).unwrap().is_empty()); // a block not yet full
                                                             // 12 labels, none right: Clopper–Pearson's upper bound for k = 0 is 1 − level^(1/n); the
                                                             // first test of the one monitored exit spends α / (1 · 1 · 2).
    let alarms = m.update(&two_exits(12, 0)).unwrap();
    let level: f64 = 0.05 / 2.0;
    assert_eq!(alarms.len(), 1);
    let a = &alarms[0];
    assert_eq!((a.exit, a.labelled, a.accuracy), (0, 17, 0.0));
    assert!((a.level - level).abs() < 1e-15);
    assert!((a.upper_bound - (1.0 - level.powf(1.0 / 12.0))).abs() < 1e-9);
    // The next 10 all right: bound 1, no alarm (second test).
    assert!(m.update(&two_exits(22, 10)).unwrap().is_empty());
    // The third block, 10 wrong, at level α / (3 · 4).
    let alarms = m.update(&two_exits(32, 10)).unwrap();
    let level: f64 = 0.05 / 12.0;
    assert!((alarms[0].upper_bound - (1.0 - level.powf(0.1))).abs() < 1e-9);
    assert_eq!(m.alarms().len(), 2);
}

#[test]
fn the_last_exit_and_a_single_exit_are_not_tested() {
    let mut m = CountsMonitor::new(1, 0.9, &config(10, 0.05), None).unwrap();
    let mut c = MonitorCounts::new(1, 2);
    c.exits[0].labelled = 100;
    assert!(m.update(&c).unwrap().is_empty());
}

#[test]
fn counts_of_another_shape_or_going_backwards_are_refused() {
    let mut m = CountsMonitor::new(2, 0.9, &config(10, 0.05), None).unwrap();
    assert!(matches!(
        m.update(&MonitorCounts::new(3, 3)),
        Err(CountsError::Shape { field: "exits", .. })
    ));
    m.update(&two_exits(12, 12)).unwrap();
    let err = m.update(&two_exits(11, 11)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "exits[0].labelled: 11 is below the 12 seen before; counts only grow"
    );
    assert!(matches!(
        m.update(&two_exits(20, 21)),
        Err(CountsError::Inconsistent { exit: 0, .. })
    ));
    let mut a = MonitorCounts::new(2, 3);
    assert!(a.add(&MonitorCounts::new(2, 4)).is_err());
    assert_eq!(a, MonitorCounts::new(2, 3));
}

/// Labels split among replicas and summed give the counts, and the alarms, of one replica that
/// received them all, snapshot by snapshot.
fn fleet_equals_one(events: &[(usize, bool, usize)], cuts: &[usize], replicas: usize) {
    let exits = 3;
    let mut fleet = vec![MonitorCounts::new(exits, 4); replicas];
    let mut one = MonitorCounts::new(exits, 4);
    let mut m_fleet =
        CountsMonitor::new(exits, 0.8, &config(7, 0.1), Some(vec![5, 5, 5, 5])).unwrap();
    let mut m_one = m_fleet.clone();
    for (i, &(exit, correct, replica)) in events.iter().enumerate() {
        for c in [&mut fleet[replica % replicas], &mut one] {
            c.decided += 1;
            c.exit0_bins[i % 4] += 1;
            c.exits[exit].exited += 1;
            c.exits[exit].labelled += 1;
            c.exits[exit].correct += u64::from(correct);
        }
        if cuts.contains(&i) || i + 1 == events.len() {
            let mut sum = MonitorCounts::new(exits, 4);
            for c in &fleet {
                sum.add(c).unwrap();
            }
            assert_eq!(sum, one);
            assert_eq!(m_fleet.update(&sum).unwrap(), m_one.update(&one).unwrap());
            assert_eq!(m_fleet.drift_alarms(), m_one.drift_alarms());
        }
    }
    assert_eq!(m_fleet, m_one);
}

proptest! {
    #[test]
    fn a_fleet_alarms_as_one_replica_given_everything(
        events in prop::collection::vec((0usize..3, prop::bool::weighted(0.7), 0usize..5), 1..300),
        cuts in prop::collection::vec(0usize..300, 0..20),
        replicas in 1usize..5,
    ) {
        fleet_equals_one(&events, &cuts, replicas);
    }
}

/// With every monitored exit exactly at δ, the chance of any alarm over a stream, snapshots
/// taken at random label counts, is at most α: the rate over 600 streams is within 3 standard
/// errors of α at most.
#[test]
fn the_false_alarm_rate_at_delta_is_at_most_alpha() {
    let (alpha, delta, streams) = (0.1, 0.9, 600);
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut alarmed = 0;
    for _ in 0..streams {
        let mut m = CountsMonitor::new(3, delta, &config(100, alpha), None).unwrap();
        let mut c = MonitorCounts::new(3, 1);
        for _ in 0..30 {
            for _ in 0..rng.random_range(20..120) {
                let exit = rng.random_range(0..3);
                c.exits[exit].labelled += 1;
                c.exits[exit].correct += u64::from(rng.random_bool(delta));
            }
            m.update(&c).unwrap();
        }
        alarmed += usize::from(!m.alarms().is_empty());
    }
    let rate = alarmed as f64 / streams as f64;
    let se = (alpha * (1.0 - alpha) / streams as f64).sqrt();
    assert!(rate <= alpha + 3.0 * se, "false-alarm rate {rate}");
}
