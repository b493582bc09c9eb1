//! The first claim: the large model with PCEE at the small model's cost. δ is chosen on the
//! validation logits by the library's budget mode — [`PolicyFile::calibrate`] with
//! [`Choice::Budget`], what `pcee calibrate --budget-flops` does — and both models are compared
//! on the same test images with [`compare_paired`].

use crate::results::{CostMatch, ModelResults};
use pcee::calibrate::{CalibrateOptions, Choice};
use pcee::compare::compare_paired;
use pcee::policy::MethodParams;
use pcee::{evaluate, exits_of, Binning, Delta, ExitPolicy, Method, PolicyFile, ScoreTable};

/// Bootstrap resamples of the error difference's interval.
pub const BOOTSTRAP: usize = 2000;
/// Seed of that bootstrap.
pub const SEED: u64 = 0;

/// The cost match of `large` against `small` (both with validation and test logits), with
/// `bins` bins laid out by `binning` and PCEE-WS window `window`. A budget below the large
/// model's first exit cannot be met: δ = 0 is then reported (every image at exit 0, the
/// cheapest policy) with `within_budget` false.
pub fn cost_match(
    small: &ModelResults,
    large: &ModelResults,
    bins: usize,
    binning: Binning,
    window: usize,
) -> CostMatch {
    let small_flops = *small.flops_per_exit.last().expect("at least 2 exits");
    let options = CalibrateOptions {
        method: Method::Pcee,
        bins,
        binning,
        params: MethodParams {
            window,
            ..MethodParams::default()
        },
        temperature: false,
        delta: Delta::new(0.0).expect("0 is a valid δ"),
        choice: Choice::Budget(small_flops),
    };
    let source = format!("{}-val.npz", large.name);
    let fit = PolicyFile::calibrate(&large.val_logits, &source, &options);
    let (delta, large_val_mean_flops, within_budget, policy) = match &fit {
        Ok(p) => {
            let s = p.selection.as_ref().expect("a budget selection");
            (
                p.delta.get(),
                s.calibration_mean_flops,
                true,
                p.policy(p.delta),
            )
        }
        Err(_) => {
            let cheapest = Method::Pcee.policy(&large.diagrams, 0.0, window);
            (0.0, large.flops_per_exit[0], false, cheapest)
        }
    };
    let test = ScoreTable::from_logits(&large.test_logits);
    let large_outcome = evaluate(policy.as_ref(), &test, &large.flops_per_exit);
    let small_test = ScoreTable::from_logits(&small.test_logits);
    let comparison = compare_paired(
        &correct(&small_test, None),
        &correct(&test, Some(policy.as_ref())),
        BOOTSTRAP,
        SEED,
    );
    CostMatch {
        small_model: small.name.clone(),
        large_model: large.name.clone(),
        delta,
        within_budget,
        small_flops,
        small_error: 1.0 - small.full_accuracy,
        small_images_per_second: small.full_images_per_second,
        small_measured: None,
        large_val_mean_flops,
        large_error: 1.0 - large_outcome.accuracy,
        large_outcome,
        large_full_error: 1.0 - large.full_accuracy,
        comparison,
        large_images_per_second: None,
        large_measured: None,
    }
}

/// `[samples]`: whether each sample is right at the exit `policy` sends it to (the last exit
/// when `None`).
fn correct(scores: &ScoreTable, policy: Option<&dyn ExitPolicy>) -> Vec<bool> {
    let last = scores.exits() - 1;
    let exits = match policy {
        Some(p) => exits_of(p, scores),
        None => vec![last; scores.samples()],
    };
    exits
        .iter()
        .enumerate()
        .map(|(i, &l)| scores.sample(i)[l].correct == Some(true))
        .collect()
}
