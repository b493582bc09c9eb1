//! The statistical guarantees hold empirically on synthetic data whose true accuracy per bin is
//! known (tests/synthetic): PCEE-LCB's per-bin guarantee, and the risk-controlled choice of δ
//! (CRC in expectation, UCB with probability 1 − α). Each test repeats calibration on many
//! independent draws and allows the sampling slack of the repetition: 3 standard errors.

use crate::synthetic;

use pcee::choose::risk::{choose_delta, Guarantee, Loss, RiskTarget};
use pcee::policy::{MethodParams, Pcee};
use pcee::{reliability_diagrams, Method, ScoreTable};
use synthetic::{draw, fires, true_accuracy, true_gap_risk, BINS};

const SPLITS: u64 = 300;

/// α + 3 standard errors of a rate α measured on `SPLITS` repetitions.
fn slack(alpha: f64) -> f64 {
    alpha + 3.0 * (alpha * (1.0 - alpha) / SPLITS as f64).sqrt()
}

#[test]
fn pcee_lcb_fires_a_bin_below_delta_at_most_alpha_of_the_time() {
    // Bin 8 of exit 0 has true accuracy 0.89 < δ = 0.9, ~200 calibration samples.
    let (delta, alpha) = (0.9, 0.1);
    let (mut lcb_bad, mut pcee_bad, mut lcb_violations, mut lcb_good) = (0, 0, 0, 0);
    for seed in 0..SPLITS {
        let scores = ScoreTable::from_logits(&draw(1800, seed));
        let diagrams = reliability_diagrams(&scores, BINS);
        let lcb = Pcee::lcb(&diagrams, delta, alpha);
        lcb_bad += u32::from(fires(&lcb, 8));
        lcb_good += u32::from(fires(&lcb, 9));
        pcee_bad += u32::from(fires(&Pcee::new(&diagrams, delta, 0), 8));
        lcb_violations += u32::from(true_accuracy(&lcb) < delta);
    }
    let rate = |count: u32| f64::from(count) / SPLITS as f64;
    eprintln!("of {SPLITS} splits: lcb fired bin 8 in {lcb_bad}, pcee in {pcee_bad}; lcb fired bin 9 in {lcb_good}; true accuracy < δ in {lcb_violations}");
    assert!(
        rate(lcb_bad) <= slack(alpha),
        "lcb fired bin 8 in {lcb_bad} splits"
    );
    assert!(
        rate(lcb_violations) <= slack(alpha),
        "{lcb_violations} violations"
    );
    // The test has power: plain PCEE fires that bin far more often (P(k/200 ≥ 0.9) ≈ 0.36), and
    // PCEE-LCB still fires the 0.96 bin (the Clopper–Pearson bound of ~192/200 is ≈ 0.93).
    assert!(
        rate(pcee_bad) > 0.25,
        "pcee fired bin 8 in {pcee_bad} splits"
    );
    assert!(rate(lcb_good) > 0.9, "lcb fired bin 9 in {lcb_good} splits");
}

/// The true accuracy of `method` at the δ chosen for `target` on each of `SPLITS` draws of `n`.
fn chosen_true_accuracies(method: Method, target: &RiskTarget, n: usize) -> Vec<f64> {
    chosen(method, target, n, &|p| true_accuracy(p))
}

/// `measure` of the policy of `method` at the δ chosen for `target`, on `SPLITS` draws of `n`.
fn chosen(
    method: Method,
    target: &RiskTarget,
    n: usize,
    measure: &dyn Fn(&dyn pcee::ExitPolicy) -> f64,
) -> Vec<f64> {
    let params = MethodParams::default();
    (0..SPLITS)
        .map(|seed| {
            let scores = ScoreTable::from_logits(&draw(n, 1000 + seed));
            let diagrams = reliability_diagrams(&scores, BINS);
            let choice = choose_delta(method, &params, &diagrams, &scores, target).unwrap();
            measure(
                method
                    .policy_with(&diagrams, choice.delta, &params)
                    .as_ref(),
            )
        })
        .collect()
}

#[test]
fn ucb_choice_meets_the_target_with_probability_one_minus_alpha() {
    // Target accuracy 0.92: ε = 0.08; the population's best early-exit policy fires bin 9 only.
    let target = RiskTarget {
        loss: Loss::Wrong,
        guarantee: Guarantee::Ucb,
        epsilon: 0.08,
        alpha: 0.1,
    };
    for method in [Method::Pcee, Method::Confidence] {
        let accs = chosen_true_accuracies(method, &target, 1000);
        let misses = accs.iter().filter(|&&a| a < 1.0 - target.epsilon).count();
        eprintln!("ucb {method}: {misses} of {SPLITS} splits below the target");
        assert!(
            misses as f64 / SPLITS as f64 <= slack(target.alpha),
            "{method}: {misses} misses"
        );
    }
}

#[test]
fn crc_choice_meets_the_target_in_expectation() {
    let target = RiskTarget {
        loss: Loss::Wrong,
        guarantee: Guarantee::Crc,
        epsilon: 0.08,
        alpha: 0.1,
    };
    for method in [Method::Pcee, Method::Confidence] {
        let accs = chosen_true_accuracies(method, &target, 1000);
        let mean_risk = accs.iter().map(|a| 1.0 - a).sum::<f64>() / accs.len() as f64;
        eprintln!("crc {method}: mean true risk {mean_risk:.4}");
        // The mean of SPLITS risks, each in [0, 1] with spread ≪ 0.05: 3 standard errors ≤ 0.003.
        assert!(
            mean_risk <= target.epsilon + 0.003,
            "{method}: mean risk {mean_risk}"
        );
    }
}

#[test]
fn gap_risk_is_controlled_by_crc_in_expectation_and_by_ucb_with_high_probability() {
    // The gap loss is 0 at the last exit, so CRC's theorem applies in full here. ε = 0.02: the
    // 0.96 bin alone has gap risk (1/9)·0.04·0.97 ≈ 0.0043, the 0.89 bin adds ≈ 0.0119.
    for guarantee in [Guarantee::Crc, Guarantee::Ucb] {
        let target = RiskTarget {
            loss: Loss::Gap,
            guarantee,
            epsilon: 0.01,
            alpha: 0.1,
        };
        let risks = chosen(Method::Pcee, &target, 1000, &|p| true_gap_risk(p));
        let mean = risks.iter().sum::<f64>() / risks.len() as f64;
        let misses = risks.iter().filter(|&&r| r > target.epsilon).count();
        eprintln!("gap {guarantee:?}: mean true risk {mean:.4}, {misses} of {SPLITS} above ε");
        match guarantee {
            Guarantee::Crc => assert!(mean <= target.epsilon + 0.001, "mean gap risk {mean}"),
            Guarantee::Ucb => assert!(
                misses as f64 / SPLITS as f64 <= slack(target.alpha),
                "{misses} misses"
            ),
        }
    }
}
