//! Synthetic two-exit data whose true accuracy per confidence bin is set by the test, so that
//! a policy's true (population) accuracy is known exactly.

#![allow(dead_code)] // each test file uses part of it

use pcee::{ExitLogits, ExitPolicy, ExitScore};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Classes of the synthetic data.
pub const CLASSES: usize = 10;
/// Bins of the diagrams.
pub const BINS: usize = 10;

/// True accuracy of exit 0 in each of its bins 1..=9 (confidence uniform on [0.1, 1.0), so each
/// bin holds 1/9 of the samples); bin 8 (confidence [0.8, 0.9)) sits just below δ = 0.9.
pub const EXIT0_ACCURACY: [f64; BINS] = [0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 0.75, 0.8, 0.89, 0.96];
/// True accuracy of the last exit, whatever the confidence.
pub const LAST_ACCURACY: f64 = 0.97;
/// Cumulative FLOPs of the two exits.
pub const FLOPS: [f64; 2] = [1.0, 3.0];

/// Logits `[CLASSES]` whose softmax has confidence `c` (> 1/CLASSES) on class `predicted`:
/// z = (a, 0, …, 0) moved to `predicted`, with e^a / (e^a + 9) = c.
fn logits_with(c: f64, predicted: usize) -> Vec<f64> {
    let a = ((CLASSES - 1) as f64 * c / (1.0 - c)).ln();
    let mut z = vec![0.0; CLASSES];
    z[predicted] = a;
    z
}

/// `n` samples drawn with `seed`: exit 0 as [`EXIT0_ACCURACY`], the last exit correct with
/// probability [`LAST_ACCURACY`] and confidence uniform on [0.5, 1).
pub fn draw(n: usize, seed: u64) -> ExitLogits {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut exit0 = Vec::with_capacity(n * CLASSES);
    let mut exit1 = Vec::with_capacity(n * CLASSES);
    let mut labels = Vec::with_capacity(n);
    for _ in 0..n {
        let label = rng.random_range(0..CLASSES);
        let wrong = (label + 1) % CLASSES;
        let c0: f64 = rng.random_range(0.1..0.999);
        let right0 = rng.random::<f64>() < EXIT0_ACCURACY[(c0 * BINS as f64) as usize];
        exit0.extend(logits_with(c0, if right0 { label } else { wrong }));
        let c1: f64 = rng.random_range(0.5..0.999);
        let right1 = rng.random::<f64>() < LAST_ACCURACY;
        exit1.extend(logits_with(c1, if right1 { label } else { wrong }));
        labels.push(label as i64);
    }
    exit0.extend(exit1);
    ExitLogits::from_f64([2, n, CLASSES], exit0, labels, Some(FLOPS.to_vec())).unwrap()
}

/// The true accuracy of `policy` on the population of [`draw`]: exit 0's confidence c is
/// uniform on [0.1, 0.999) (integrated on a grid of 8 990 midpoints); a sample with confidence c
/// leaves at exit 0 with accuracy `EXIT0_ACCURACY[bin(c)]` when the policy fires for c, else at
/// the last exit with [`LAST_ACCURACY`].
pub fn true_accuracy(policy: &dyn ExitPolicy) -> f64 {
    let points = 8990;
    (0..points)
        .map(|i| {
            let c = 0.1 + (i as f64 + 0.5) * 0.899 / points as f64;
            let score = ExitScore {
                prediction: 0,
                confidence: c,
                correct: None,
            };
            if policy.stops(0, 2, &score) {
                EXIT0_ACCURACY[(c * BINS as f64) as usize]
            } else {
                LAST_ACCURACY
            }
        })
        .sum::<f64>()
        / points as f64
}

/// The true `gap` risk of `policy` on the population of [`draw`]: a sample leaving at exit 0
/// (where the policy fires for its confidence) is wrong there with probability
/// 1 − `EXIT0_ACCURACY[bin]` and, independently, right at the last exit with [`LAST_ACCURACY`];
/// a sample reaching the last exit has no gap. Integrated as in [`true_accuracy`].
pub fn true_gap_risk(policy: &dyn ExitPolicy) -> f64 {
    let points = 8990;
    (0..points)
        .map(|i| {
            let c = 0.1 + (i as f64 + 0.5) * 0.899 / points as f64;
            let score = ExitScore {
                prediction: 0,
                confidence: c,
                correct: None,
            };
            if policy.stops(0, 2, &score) {
                (1.0 - EXIT0_ACCURACY[(c * BINS as f64) as usize]) * LAST_ACCURACY
            } else {
                0.0
            }
        })
        .sum::<f64>()
        / points as f64
}

/// Whether `policy` fires for exit 0's bin `bin`.
pub fn fires(policy: &dyn ExitPolicy, bin: usize) -> bool {
    let score = ExitScore {
        prediction: 0,
        confidence: (bin as f64 + 0.5) / BINS as f64,
        correct: None,
    };
    policy.should_exit(0, &score)
}

/// Signal a_l of each exit of [`over_confident`]: exit l's class-k evidence is
/// a_l·[k = label] + noise (noise N(0, 1) per class), so accuracy grows with l.
pub const OVER_CONFIDENT_SIGNAL: [f64; 5] = [2.0, 2.5, 2.9, 3.2, 3.5];
/// The factor by which [`over_confident`]'s logits exceed the calibrated ones (a temperature
/// of 2 would calibrate every exit).
pub const OVER_CONFIDENCE: f64 = 2.0;

/// A standard normal draw (Box–Muller).
fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u: f64 = 1.0 - rng.random::<f64>(); // in (0, 1]
    let v: f64 = rng.random();
    (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
}

/// `n` samples of a 5-exit, 10-class network that is over-confident at every exit, drawn with
/// `seed`. Label y uniform; exit l sees evidence x_k = a_l·[k = y] + g_k with
/// g = 0.6·h + 0.8·e_l (h shared by the exits of a sample, e_l per exit, all N(0, 1) per class,
/// so g_k ~ N(0, 1) and the exits err on the same hard samples). The calibrated logits are
/// a_l·x (the exact posterior of y given exit l's x alone); the network reports
/// [`OVER_CONFIDENCE`]·a_l·x. Cumulative FLOPs 1, 2, 3, 4, 5.
pub fn over_confident(n: usize, seed: u64) -> ExitLogits {
    let exits = OVER_CONFIDENT_SIGNAL.len();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut values = vec![0.0; exits * n * CLASSES];
    let mut labels = Vec::with_capacity(n);
    for i in 0..n {
        let label = rng.random_range(0..CLASSES);
        let shared: Vec<f64> = (0..CLASSES).map(|_| normal(&mut rng)).collect();
        for (l, &a) in OVER_CONFIDENT_SIGNAL.iter().enumerate() {
            for (k, &h) in shared.iter().enumerate() {
                let g = 0.6 * h + 0.8 * normal(&mut rng);
                let x = if k == label { a } else { 0.0 } + g;
                values[(l * n + i) * CLASSES + k] = OVER_CONFIDENCE * a * x;
            }
        }
        labels.push(label as i64);
    }
    let flops = (1..=exits).map(|l| l as f64).collect();
    ExitLogits::from_f64([exits, n, CLASSES], values, labels, Some(flops)).unwrap()
}

/// `n` samples of an `exits`-exit network whose cells have known accuracies, drawn with
/// `seed`: at every exit, independently, the confidence is uniform on [0.5, 0.999) (bins 5..=9
/// of [`BINS`]) and the prediction is right with probability `accuracy(bin)`. Cumulative FLOPs
/// 1, 2, …
pub fn cells(n: usize, exits: usize, seed: u64, accuracy: &dyn Fn(usize) -> f64) -> ExitLogits {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let labels: Vec<usize> = (0..n).map(|_| rng.random_range(0..CLASSES)).collect();
    let mut values = Vec::with_capacity(exits * n * CLASSES);
    for _ in 0..exits {
        for &label in &labels {
            let c: f64 = rng.random_range(0.5..0.999);
            let right = rng.random::<f64>() < accuracy((c * BINS as f64) as usize);
            values.extend(logits_with(
                c,
                if right { label } else { (label + 1) % CLASSES },
            ));
        }
    }
    let labels = labels.into_iter().map(|y| y as i64).collect();
    let flops = (1..=exits).map(|l| l as f64).collect();
    ExitLogits::from_f64([exits, n, CLASSES], values, labels, Some(flops)).unwrap()
}
