//! The outcome of an exit policy on a labelled test set (docs/design.md §3).

use crate::policy::{choose_exit, ExitPolicy};
use crate::score_table::ScoreTable;
use rayon::prelude::*;
use serde::Serialize;

/// What a policy achieves on a test set.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    /// Fraction in [0, 1] of samples whose prediction at their exit is correct.
    pub accuracy: f64,
    /// Mean cost per sample in FLOPs: the mean of `flops[exit]` over samples.
    pub mean_flops: f64,
    /// `mean_flops / flops[L − 1]`, a fraction in [0, 1] of the full network's cost.
    pub flops_fraction: f64,
    /// `[exits]`: fraction of samples leaving at each exit (sums to 1).
    pub exit_fractions: Vec<f64>,
    /// `[exits]`: accuracy of the samples leaving at each exit; `None` when none leaves there.
    pub exit_accuracy: Vec<Option<f64>>,
    /// Mean exit index (0-based).
    pub mean_exit: f64,
}

impl Outcome {
    /// The outcome of per-sample decisions taken elsewhere (e.g. by an early-exit runtime):
    /// sample i left at `exits[i]` (0-based, `< flops.len()`) and its prediction there was
    /// `correct[i]`; `flops` `[exits]` is the cumulative cost in FLOPs. Same arithmetic as
    /// [`evaluate()`].
    ///
    /// # Panics
    /// When `exits` and `correct` differ in length, are empty, or an exit is out of range.
    pub fn from_exits(exits: &[usize], correct: &[bool], flops: &[f64]) -> Outcome {
        assert_eq!(
            exits.len(),
            correct.len(),
            "one correctness flag per sample"
        );
        assert!(!exits.is_empty(), "at least one sample");
        let (mut counts, mut right) = (vec![0u64; flops.len()], vec![0u64; flops.len()]);
        for (&exit, &ok) in exits.iter().zip(correct) {
            counts[exit] += 1;
            right[exit] += u64::from(ok);
        }
        outcome(&counts, &right, flops)
    }

    /// The control error at target `delta`: achieved accuracy − δ (negative: target missed).
    pub fn control_error(&self, delta: f64) -> f64 {
        self.accuracy - delta
    }
}

/// The exit (0-based) of every sample `[samples]` under `policy`, in sample order.
pub fn exits_of<P: ExitPolicy + ?Sized>(policy: &P, scores: &ScoreTable) -> Vec<usize> {
    (0..scores.samples())
        .into_par_iter()
        .map(|i| choose_exit(policy, scores.sample(i)))
        .collect()
}

/// Evaluates `policy` on the scores of a labelled test set, with cumulative cost `flops`
/// `[exits]` in FLOPs. Every sample goes through [`choose_exit`] (hence
/// [`ExitPolicy::stops`]), in parallel over samples.
///
/// # Panics
/// When `flops.len()` differs from the number of exits of `scores`.
pub fn evaluate<P: ExitPolicy + ?Sized>(policy: &P, scores: &ScoreTable, flops: &[f64]) -> Outcome {
    let exits = scores.exits();
    assert_eq!(flops.len(), exits, "one cumulative cost per exit");
    let (counts, correct) = scores
        .par_sample_chunks()
        .map(|chunk| {
            let (mut counts, mut correct) = (vec![0u64; exits], vec![0u64; exits]);
            for sample in chunk.chunks(exits) {
                let exit = choose_exit(policy, sample);
                counts[exit] += 1;
                correct[exit] += u64::from(sample[exit].correct == Some(true));
            }
            (counts, correct)
        })
        .reduce(
            || (vec![0; exits], vec![0; exits]),
            |a, b| (add(a.0, &b.0), add(a.1, &b.1)),
        );
    outcome(&counts, &correct, flops)
}

fn add(mut a: Vec<u64>, b: &[u64]) -> Vec<u64> {
    a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
    a
}

/// The outcome from the number of samples `counts[l]` leaving at exit l and how many of those
/// are `correct[l]`.
fn outcome(counts: &[u64], correct: &[u64], flops: &[f64]) -> Outcome {
    let n = counts.iter().sum::<u64>() as f64;
    let mean_flops = counts
        .iter()
        .zip(flops)
        .map(|(&c, &f)| c as f64 * f)
        .sum::<f64>()
        / n;
    Outcome {
        accuracy: correct.iter().sum::<u64>() as f64 / n,
        mean_flops,
        flops_fraction: mean_flops / flops[flops.len() - 1],
        exit_fractions: counts.iter().map(|&c| c as f64 / n).collect(),
        exit_accuracy: counts
            .iter()
            .zip(correct)
            .map(|(&c, &k)| (c > 0).then(|| k as f64 / c as f64))
            .collect(),
        mean_exit: counts
            .iter()
            .enumerate()
            .map(|(l, &c)| l as f64 * c as f64)
            .sum::<f64>()
            / n,
    }
}

#[cfg(test)]
mod tests {
    use super::Outcome;

    #[test]
    fn outcome_from_exits_by_hand() {
        // exits 0, 1, 1, 2; the second sample is wrong; cumulative FLOPs 10, 25, 50.
        let o = Outcome::from_exits(
            &[0, 1, 1, 2],
            &[true, false, true, true],
            &[10.0, 25.0, 50.0],
        );
        assert_eq!(o.accuracy, 0.75);
        assert_eq!(o.mean_flops, 27.5); // (10 + 25 + 25 + 50) / 4
        assert_eq!(o.flops_fraction, 0.55);
        assert_eq!(o.exit_fractions, vec![0.25, 0.5, 0.25]);
        assert_eq!(o.exit_accuracy, vec![Some(1.0), Some(0.5), Some(1.0)]);
        assert_eq!(o.mean_exit, 1.0);
    }
}
