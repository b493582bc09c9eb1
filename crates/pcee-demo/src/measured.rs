//! PCEE run with the real early-exit runtime ([`crate::runtime::early_exit`]: stage by stage,
//! exited samples dropped from the batch), timed, and compared with the simulated evaluation.

use crate::results::Measured;
use crate::Progress;
use pcee::{exits_of, ExitPolicy, ScoreTable};
use pcee_nn::burn::tensor::Device;
use pcee_nn::data::Dataset;
use pcee_nn::model::Model;
use pcee_nn::runtime::{early_exit, outcome_of};
use std::time::Instant;

/// Runs `policy` on `data` with the runtime in batches of `batch`, timed with a monotonic clock
/// over the whole pass (images normalised per batch inside the pass); `scores` are the test
/// scores of the simulated evaluation, `flops` `[exits]` the cumulative cost.
pub fn measure_policy(
    model: &Model,
    policy: &dyn ExitPolicy,
    data: &Dataset,
    scores: &ScoreTable,
    flops: &[f64],
    batch: usize,
    device: &Device,
) -> Measured {
    let start = Instant::now();
    let decisions = early_exit(model, policy, data, batch, device);
    let seconds = start.elapsed().as_secs_f64();
    let outcome = outcome_of(&decisions, &data.labels, flops);
    let simulated = exits_of(policy, scores);
    let exits: Vec<usize> = decisions.iter().map(|d| d.exit).collect();
    Measured {
        accuracy: outcome.accuracy,
        flops_fraction: outcome.flops_fraction,
        images_per_second: data.len() as f64 / seconds.max(1e-9),
        exit_mismatches: exits.iter().zip(&simulated).filter(|(a, b)| a != b).count(),
    }
}

/// [`measure_policy`] reporting its images to `progress` as `what`.
#[allow(clippy::too_many_arguments)]
pub fn measure_with_progress(
    model: &Model,
    policy: &dyn ExitPolicy,
    data: &Dataset,
    scores: &ScoreTable,
    flops: &[f64],
    batch: usize,
    device: &Device,
    progress: &mut dyn Progress,
    what: &str,
) -> Measured {
    let measured = measure_policy(model, policy, data, scores, flops, batch, device);
    progress.advance(data.len() as u64, what);
    measured
}
