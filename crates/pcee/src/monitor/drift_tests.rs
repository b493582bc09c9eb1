use super::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

#[test]
fn two_bins_give_the_two_by_two_contingency_chi_square() {
    // Reference 50/50, block 30/70: X² = 50 · (0.2²/0.4 + 0.2²/0.6) = 8.333…, 1 dof;
    // scipy.stats.chi2.sf(25/3, 1) = 0.0038924.
    let t = chi_square(&[50, 50], &[30, 70]).unwrap();
    assert!((t.statistic - 25.0 / 3.0).abs() < 1e-12);
    assert_eq!(t.dof, 1);
    assert!((t.p_value - 0.0038924).abs() < 1e-6, "{}", t.p_value);
}

#[test]
fn bins_with_few_expected_are_merged_left_to_right() {
    // N = M: expected = reference. [2, 3, 10, 1] → [2+3, 10+1] (the short last bin joins its
    // left neighbour): the test of [5, 11] against observed [5, 11] is 0.
    let t = chi_square(&[2, 3, 10, 1], &[1, 4, 11, 0]).unwrap();
    assert_eq!(t.dof, 1);
    assert!(t.statistic.abs() < 1e-12);
    assert!(chi_square(&[3, 1], &[2, 2]).is_none()); // one bin left
    assert!(chi_square(&[3, 1], &[0, 0]).is_none());
}

#[test]
fn blocks_are_tested_at_spent_levels() {
    let mut d = DriftBlocks::new(vec![50, 50], 100, 0.05);
    assert!(d.update(&[20, 70]).is_none()); // 90 < 100 decisions
    let alarm = d.update(&[30, 70]).unwrap(); // p 0.0039 < 0.05/2
    assert_eq!((alarm.decided, alarm.block), (100, 100));
    assert!((alarm.level - 0.025).abs() < 1e-15);
    // The second block, 50/50, is like the reference.
    assert!(d.update(&[80, 120]).is_none());
    assert_eq!(d.alarms().len(), 1);
}

/// With blocks drawn from the reference's own distribution, the chance of any alarm over a
/// stream of 20 blocks is at most α (within 3 standard errors, 500 streams).
#[test]
fn the_false_alarm_rate_without_drift_is_at_most_alpha() {
    let reference: Vec<u64> = vec![400, 250, 150, 100, 60, 25, 10, 5];
    let total: u64 = reference.iter().sum();
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let (alpha, streams) = (0.1, 500);
    let mut alarmed = 0;
    for _ in 0..streams {
        let mut d = DriftBlocks::new(reference.clone(), 300, alpha);
        let mut bins = vec![0u64; reference.len()];
        for _ in 0..20 * 300 {
            let mut u = rng.random_range(0..total);
            let b = reference.iter().position(|&r| {
                let hit = u < r;
                u = u.saturating_sub(r);
                hit
            });
            bins[b.unwrap()] += 1;
            d.update(&bins);
        }
        alarmed += usize::from(!d.alarms().is_empty());
    }
    let rate = alarmed as f64 / streams as f64;
    let se = (alpha * (1.0 - alpha) / streams as f64).sqrt();
    assert!(rate <= alpha + 3.0 * se, "false-alarm rate {rate}");
}
